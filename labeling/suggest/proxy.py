"""What an LF is worth to the end model, measured on dev: a small text model trained on
the weak labels alone.

The end model learns from the train rows some LF covers, labeled by the label model; an
LF that changes no label-model decision on dev can still add hundreds of correctly
labeled training rows (WRENCH sms: "but", "ok", "so" cover 24% of train, 99% right on
dev), and one that fixes dev decisions can flood training with noisy rows. So each
proposal is also scored by the dev score of a logistic regression on MiniLM embeddings
(TF-IDF words when embeddings are off) trained on the covered train rows with the label
model's labels -- no dev row in training, so dev scores it fairly -- against the same
model on the current LFs, counted in dev rows it gets right with the LF and wrong
without (and the reverse).
"""

from __future__ import annotations

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from labeling.metrics import score_predictions
from labeling.suggest.context import Context


class WeakLabelProxy:
    """A logistic regression trained on the covered train rows' label-model labels (each
    row weighted by its probability), predicting dev gold rows."""

    def __init__(self, ctx: Context, C: float = 1.0):
        self.ctx, self.C = ctx, C
        rows = ctx.gold_rows
        if ctx.use_embeddings:
            self.X_train = ctx.backend.embed(list(ctx.texts["train"]))
            self.X_dev = ctx.backend.embed([ctx.texts["dev"][i] for i in rows])
        else:
            vec = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
            self.X_train = vec.fit_transform(ctx.texts["train"])  # train texts only
            self.X_dev = vec.transform([ctx.texts["dev"][i] for i in rows])
            self.C = 10.0 * C  # sparse TF-IDF wants less regularisation
        self.y_dev = ctx.y_dev[rows]

    def predict(self, proba_train: np.ndarray, covered: np.ndarray) -> np.ndarray:
        """The proxy's predictions on the dev gold rows, trained on the covered train rows'
        label-model labels; all -1 when those hold one class only (nothing to learn)."""
        y = proba_train.argmax(axis=1)[covered]
        if len(np.unique(y)) < 2:
            return np.full(len(self.y_dev), -1)
        model = LogisticRegression(C=self.C, max_iter=500)
        model.fit(self.X_train[covered], y, sample_weight=proba_train.max(axis=1)[covered])
        return model.predict(self.X_dev)

    def score(self, pred: np.ndarray) -> float:
        """The task's metric of ``pred`` (from :meth:`predict`) on dev gold."""
        return float(score_predictions(self.y_dev, pred, self.ctx.metric,
                                       self.ctx.pos_label or 0))
