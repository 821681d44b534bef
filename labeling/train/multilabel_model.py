"""The multi-label end model as one text-in estimator: what ``labeling train`` saves and
``labeling export`` ships (docs/multilabel.md).

:class:`MultiLabelHeads` is ``k`` independent logistic heads on one feature matrix, held
as one ``k x d`` coefficient matrix: ``predict_proba`` is ``sigmoid(X W^T + b)``, one
probability per label (rows do not sum to 1), ``predict`` the 0/1 matrix of the labels
whose probability reaches their threshold (``thresholds_``, tuned on dev). One matrix,
not ``k`` scikit-learn models, because the ONNX export is then one MatMul + Sigmoid
and the same arithmetic runs in every runtime.

The exported model is a scikit-learn ``Pipeline`` of a featuriser (the TF-IDF
``FeatureUnion`` or the MiniLM embedder) and the heads, so the fast TF-IDF path of
``labeling predict`` and the ONNX loader treat it like a single-label pipeline; the
average of both (``tfidf_minilm_avg``) is a :class:`MultiLabelAverage` of two such
pipelines with its own thresholds.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.extmath import safe_sparse_dot

from labeling.train.soft_logreg import SoftLogisticRegression

MIN_WEIGHT = 1e-3  # as labeling.train.end_model: lighter copies teach nothing
# A label with one class only among the weighted rows (no positive in a small dev fold)
# is a constant: logit +-40 is 1.0 / 4e-18, finite in every runtime (inf is not safe
# through ONNX's Sigmoid).
CONSTANT_LOGIT = 40.0


def _stack(parts):
    return sparse.vstack(parts).tocsr() if sparse.issparse(parts[0]) else np.vstack(parts)


class MultiLabelHeads(ClassifierMixin, BaseEstimator):
    """``k`` logistic heads, one per label, on shared features.

    ``fit(X, P, sample_weight)``: ``P`` is ``n x k`` in [0, 1], soft (label-model
    probabilities) or hard (gold); label ``c``'s head learns each row's soft target,
    "applies" with weight ``w * P[:, c]`` and "does not" with ``w * (1 - P[:, c])``
    (weights under ``MIN_WEIGHT`` dropped), as one row
    (:class:`labeling.train.soft_logreg.SoftLogisticRegression`).
    """

    def __init__(self, C: float = 10.0, solver: str = "lbfgs", max_iter: int = 2000,
                 seed: int = 0):
        self.C, self.solver, self.max_iter, self.seed = C, solver, max_iter, seed

    def _fit_label(self, X, p, w) -> tuple[np.ndarray, float]:
        targets = np.column_stack([w * (1.0 - p), w * p])  # does not apply, applies
        targets[targets < MIN_WEIGHT] = 0.0
        present = targets.sum(axis=0) > 0
        if present.sum() < 2:  # one class only: a constant
            return np.zeros(X.shape[1]), CONSTANT_LOGIT if present[1] else -CONSTANT_LOGIT
        head = SoftLogisticRegression(C=self.C, max_iter=self.max_iter, random_state=self.seed,
                                      solver=self.solver)
        head.fit(X, targets)
        return head.coef_[0], float(head.intercept_[0])

    def fit(self, X, P, sample_weight=None) -> "MultiLabelHeads":
        P = np.asarray(P, dtype=float)
        if P.ndim != 2 or P.shape[0] != X.shape[0]:
            raise ValueError(f"P must be n x k with n = {X.shape[0]} rows, got {P.shape}")
        w = np.ones(len(P)) if sample_weight is None else np.asarray(sample_weight, float)
        rows = [self._fit_label(X, P[:, c], w) for c in range(P.shape[1])]
        self.coef_ = np.vstack([coef for coef, _ in rows])
        self.intercept_ = np.array([b for _, b in rows])
        self.classes_ = np.arange(P.shape[1])
        self.n_features_in_ = X.shape[1]
        self.thresholds_ = np.full(P.shape[1], 0.5)
        return self

    def decision_function(self, X) -> np.ndarray:
        return safe_sparse_dot(X, self.coef_.T, dense_output=True) + self.intercept_

    def predict_proba(self, X) -> np.ndarray:
        """``n x k``: the probability that each label applies."""
        return expit(self.decision_function(X))

    def predict(self, X) -> np.ndarray:
        """``n x k`` 0/1: the labels whose probability reaches ``thresholds_``."""
        return (self.predict_proba(X) >= self.thresholds_).astype(np.int8)


class MultiLabelAverage(ClassifierMixin, BaseEstimator):
    """The mean of fitted multi-label pipelines' probabilities (``estimators``:
    ``[(name, pipeline), ...]``), decided by its own ``thresholds``."""

    def __init__(self, estimators, thresholds=None):
        self.estimators, self.thresholds = estimators, thresholds

    def fit(self, X=None, y=None) -> "MultiLabelAverage":
        """The members come fitted (they share features with the training loop); this
        records classes and thresholds."""
        k = len(self.estimators[0][1].classes_)
        self.classes_ = np.arange(k)
        self.thresholds_ = (np.full(k, 0.5) if self.thresholds is None
                            else np.asarray(self.thresholds, dtype=float))
        return self

    def predict_proba(self, X) -> np.ndarray:
        X = list(X)
        return np.mean([e.predict_proba(X) for _, e in self.estimators], axis=0)

    def predict(self, X) -> np.ndarray:
        return (self.predict_proba(X) >= self.thresholds_).astype(np.int8)


def merge_heads(parts, k: int) -> MultiLabelHeads:
    """One :class:`MultiLabelHeads` of ``k`` labels from fitted heads on subsets of them
    (``parts``: ``[(label indices, heads fit on those labels' columns), ...]``, every
    label once): how the end model fits each label at its own weak weight, one fit per
    distinct weight, and still exports one ``k x d`` matrix. A label's row is the same as
    in the heads it came from (the heads are independent per label)."""
    first = parts[0][1]
    merged = MultiLabelHeads(**first.get_params())
    merged.coef_ = np.zeros((k, first.coef_.shape[1]))
    merged.intercept_ = np.zeros(k)
    seen = np.zeros(k, dtype=bool)
    for labels, heads in parts:
        labels = np.asarray(labels, dtype=int)
        merged.coef_[labels], merged.intercept_[labels] = heads.coef_, heads.intercept_
        seen[labels] = True
    if not seen.all():
        raise ValueError(f"merge_heads: labels {np.flatnonzero(~seen).tolist()} have no head")
    merged.classes_, merged.n_features_in_ = np.arange(k), first.n_features_in_
    merged.thresholds_ = np.full(k, 0.5)
    return merged


def thresholds_of(model) -> np.ndarray:
    """The decision thresholds of an exported multi-label model (either shape)."""
    owner = model.steps[-1][1] if hasattr(model, "steps") else model
    return np.asarray(owner.thresholds_, dtype=float)
