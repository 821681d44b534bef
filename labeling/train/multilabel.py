"""End models for multi-label tasks: one-vs-rest logistic heads per label.

Features are computed once for every label: TF-IDF (the word+char union of
``tfidf_logreg``) and MiniLM sentence embeddings (``minilm_logreg``'s featuriser,
cached on disk); ``tfidf_minilm_avg`` averages the two heads' probabilities.

Each label's head learns from the label model's soft labels (each train row twice:
"applies" with weight p, "does not" with weight 1 - p) plus dev gold (weight
``gold_weight`` each). Its threshold is tuned on dev by K-fold: the heads refit
without the held-out fold's gold predict it, and the out-of-fold probabilities choose
the cut with the best F1 (:func:`labeling.models.multilabel.best_threshold`). The
gold-only baseline is the same model with no weak rows.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold

from labeling.models.multilabel import best_threshold
from labeling.train.end_model import MIN_WEIGHT, embedding_cache, make_tfidf_logreg
from labeling.train.embeddings import MiniLMEmbedder

FEATURES = {"tfidf_logreg": ("tfidf",), "minilm_logreg": ("minilm",),
            "tfidf_minilm_avg": ("tfidf", "minilm")}
HEAD_C = {"tfidf": 10.0, "minilm": 1.0}  # the single-label heads' C (end_model.py)
# newton-cg on ~120k sparse TF-IDF columns: 2.5 s a head where lbfgs takes 14 s
SOLVER = {"tfidf": "newton-cg", "minilm": "lbfgs"}


def featurise(texts_by_split: dict[str, list[str]], kinds, cache_dir=None) -> dict:
    """``{kind: {split: X}}`` for ``kinds`` in ("tfidf", "minilm"); TF-IDF is fit on
    the train and dev texts (no test text shapes the vocabulary)."""
    out = {}
    if "tfidf" in kinds:
        vec = make_tfidf_logreg().named_steps["features"]
        vec.fit(list(texts_by_split["train"]) + list(texts_by_split.get("dev", [])))
        out["tfidf"] = {s: vec.transform(list(t)) for s, t in texts_by_split.items()}
    if "minilm" in kinds:
        embedder = MiniLMEmbedder()
        with embedding_cache(embedder, cache_dir):
            out["minilm"] = {s: embedder.transform(list(t)) for s, t in texts_by_split.items()}
    return out


def _stack(a, b):
    return sparse.vstack([a, b]).tocsr() if sparse.issparse(a) else np.vstack([a, b])


def _fit_head(kind, X_weak, p_weak, X_gold, y_gold, gold_weight, seed):
    """A logistic head on weak soft targets (duplicated rows) plus weighted gold."""
    parts_X, parts_y, parts_w = [], [], []
    if X_weak is not None and len(p_weak):
        for target, w in ((1, p_weak), (0, 1.0 - p_weak)):
            keep = np.flatnonzero(w >= MIN_WEIGHT)
            parts_X.append(X_weak[keep])
            parts_y.append(np.full(len(keep), target))
            parts_w.append(w[keep])
    parts_X.append(X_gold)
    parts_y.append(np.asarray(y_gold))
    parts_w.append(np.full(len(y_gold), gold_weight))
    X = parts_X[0]
    for more in parts_X[1:]:
        X = _stack(X, more)
    y, w = np.concatenate(parts_y), np.concatenate(parts_w)
    if len(np.unique(y[w > 0])) < 2:
        return float(np.average(y, weights=w))  # one class only: a constant
    head = LogisticRegression(C=HEAD_C[kind], max_iter=2000, random_state=seed,
                              solver=SOLVER[kind])
    return head.fit(X, y, sample_weight=w)


def _proba(head, X) -> np.ndarray:
    if isinstance(head, float):
        return np.full(X.shape[0], head)
    return head.predict_proba(X)[:, 1]


class OneVsRestEndModel:
    """Per-label heads on shared features, with per-label dev-tuned thresholds.

    ``fit(features, P_weak, Y_dev)``: ``features`` from :func:`featurise` (splits
    "train" and "dev"), ``P_weak`` the ``n_train x k`` label-model probabilities (None:
    the gold-only baseline), ``Y_dev`` the ``n_dev x k`` gold 0/1.
    """

    def __init__(self, name: str = "tfidf_minilm_avg", gold_weight: float = 5.0,
                 n_folds: int = 3, seed: int = 0):
        if name not in FEATURES:
            raise ValueError(f"unknown multi-label end model {name!r}; available: "
                             f"{', '.join(FEATURES)}")
        self.name, self.gold_weight, self.n_folds, self.seed = name, gold_weight, n_folds, seed

    def _fit_label(self, features, P_weak, y_dev, c, dev_rows):
        heads = []
        for kind in FEATURES[self.name]:
            X = features[kind]
            X_weak = X["train"] if P_weak is not None else None
            p = P_weak[:, c] if P_weak is not None else np.array([])
            heads.append((kind, _fit_head(kind, X_weak, p, X["dev"][dev_rows], y_dev[dev_rows],
                                          self.gold_weight, self.seed)))
        return heads

    @staticmethod
    def _label_proba(heads, features, split, rows=None):
        probs = []
        for kind, head in heads:
            X = features[kind][split]
            probs.append(_proba(head, X if rows is None else X[rows]))
        return np.mean(probs, axis=0)

    def fit(self, features, P_weak, Y_dev) -> "OneVsRestEndModel":
        Y_dev = np.asarray(Y_dev)
        n_dev, k = Y_dev.shape
        folds = list(KFold(self.n_folds, shuffle=True, random_state=self.seed)
                     .split(np.arange(n_dev)))
        self.heads_, self.thresholds_, self.dev_cv_f1_ = [], np.zeros(k), np.zeros(k)
        for c in range(k):
            oof = np.zeros(n_dev)
            for fit_rows, held in folds:
                heads = self._fit_label(features, P_weak, Y_dev[:, c], c, fit_rows)
                oof[held] = self._label_proba(heads, features, "dev", held)
            self.thresholds_[c], self.dev_cv_f1_[c] = best_threshold(Y_dev[:, c], oof)
            self.heads_.append(self._fit_label(features, P_weak, Y_dev[:, c], c,
                                               np.arange(n_dev)))
        return self

    def predict_proba(self, features, split: str) -> np.ndarray:
        return np.column_stack([self._label_proba(h, features, split) for h in self.heads_])

    def predict(self, features, split: str) -> np.ndarray:
        return (self.predict_proba(features, split) >= self.thresholds_).astype(np.int8)
