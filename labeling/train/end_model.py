"""The end model: a small text classifier trained on the label model's soft labels.

Soft labels are honoured by giving each covered row one weighted copy per class, the
weight being that class's probability, so a 60/40 row teaches 60/40, not 100/0. Rows
where every LF abstained carry no supervision (only the class prior) and are left
out. The result is a plain scikit-learn ``Pipeline`` (TF-IDF word and character
n-grams + logistic regression), so it exports with a fixed list of trusted types.

>>> import numpy as np
>>> texts = ["buy now", "check my channel", "nice song", "love it"]
>>> probs = np.array([[0.1, 0.9], [0.2, 0.8], [0.9, 0.1], [0.7, 0.3]])
>>> model = train_end_model(texts, probs, covered=np.ones(4, bool), label_mode="soft")
>>> model.predict(["check my channel now"]).tolist()
[1]
"""

from __future__ import annotations

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline

END_MODELS = ("tfidf_logreg",)
MIN_WEIGHT = 1e-3  # copies lighter than this teach nothing and only cost time


def make_tfidf_logreg(C: float = 10.0, max_iter: int = 2000, seed: int = 0) -> Pipeline:
    features = FeatureUnion([
        ("word", TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True,
                                 lowercase=True)),
        ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2,
                                 sublinear_tf=True, lowercase=True)),
    ])
    classifier = LogisticRegression(C=C, max_iter=max_iter, random_state=seed)
    return Pipeline([("features", features), ("classifier", classifier)])


def expand_soft_labels(texts, probs: np.ndarray):
    """One (text, class, weight) copy per row and class with probability >= MIN_WEIGHT."""
    texts = np.asarray(texts, dtype=object)
    rows, classes = np.nonzero(probs >= MIN_WEIGHT)
    return texts[rows], classes, probs[rows, classes]


LABEL_MODES = ("soft", "hard")


def train_end_model(texts, probs: np.ndarray, covered: np.ndarray, name: str = "tfidf_logreg",
                    seed: int = 0, label_mode: str = "soft", **params) -> Pipeline:
    """Fit the end model on the covered rows' labels: ``soft`` (probability-weighted
    copies) or ``hard`` (each row's most probable class)."""
    if name not in END_MODELS:
        raise ValueError(f"unknown end model {name!r}; available: {', '.join(END_MODELS)}")
    if label_mode not in LABEL_MODES:
        raise ValueError(f"label_mode must be one of {LABEL_MODES} or auto, not {label_mode!r}")
    covered = np.asarray(covered, dtype=bool)  # a 0/1 int array would index by position
    texts, probs = np.asarray(texts, dtype=object)[covered], np.asarray(probs)[covered]
    if label_mode == "hard" and len(probs):
        probs = np.eye(probs.shape[1])[probs.argmax(axis=1)]
    if len(texts) == 0:
        raise ValueError("no training rows: every LF abstained on every train example")
    X, y, w = expand_soft_labels(texts, probs)
    if len(np.unique(y)) < 2:
        raise ValueError("the label model put all training mass on one class; "
                         "add LFs that vote the other classes")
    model = make_tfidf_logreg(seed=seed, **params)
    return model.fit(X, y, classifier__sample_weight=w)


def predict_proba_full(model: Pipeline, texts, cardinality: int) -> np.ndarray:
    """``predict_proba`` with one column per class 0..k-1, even for classes never trained on."""
    texts = list(texts)
    if not texts:
        return np.zeros((0, cardinality))
    proba = model.predict_proba(texts)
    full = np.zeros((proba.shape[0], cardinality))
    full[:, model.classes_.astype(int)] = proba
    return full


def train_with_label_mode_choice(texts, probs, covered, dev_texts, y_dev, cardinality: int,
                                 label_mode: str = "auto", metric=None, **kwargs):
    """Train with ``label_mode`` soft or hard, or with ``auto`` train both and keep the
    one scoring higher on dev gold (soft wins ties).

    Soft labels carry the label model's uncertainty, which helps when it is
    calibrated; a label model under-confident on one class (Dawid-Skene is, when LFs
    are correlated) makes soft copies teach the wrong class, and hard labels win.
    Returns ``(model, chosen_mode, dev_scores)``.
    """
    modes = LABEL_MODES if label_mode == "auto" else (label_mode,)
    if label_mode == "auto" and (y_dev is None or not len(y_dev)):
        modes = ("soft",)
    metric = metric or (lambda y, pred: float(np.mean(np.asarray(y) == pred)))
    best, scores = None, {}
    for mode in modes:
        model = train_end_model(texts, probs, covered, label_mode=mode, **kwargs)
        if y_dev is not None and len(y_dev):
            pred = predict_proba_full(model, dev_texts, cardinality).argmax(axis=1)
            scores[mode] = metric(y_dev, pred)
        if best is None or scores.get(mode, 0) > scores.get(best[1], 0):
            best = (model, mode)
    return best[0], best[1], scores
