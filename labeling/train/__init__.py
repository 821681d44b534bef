"""End models trained on the label model's output (see :mod:`labeling.train.end_model`)."""

# Fully-qualified types (as skops reports them) that any fitted end model of ours may
# contain beyond plain numpy/builtins; labeling.export.skops_io trusts exactly these.
ESTIMATOR_TYPES: list[str] = [
    "sklearn.pipeline.Pipeline",
    "sklearn.pipeline.FeatureUnion",
    "sklearn.feature_extraction.text.TfidfVectorizer",
    "sklearn.feature_extraction.text.TfidfTransformer",
    "sklearn.linear_model._logistic.LogisticRegression",
    "labeling.train.embeddings.MiniLMEmbedder",
    "labeling.train.ensemble.ProbabilityAverage",
]
