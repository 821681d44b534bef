"""Discriminative label model: logistic regression on one-hot LF votes, fit on dev gold.

Generative models (Dawid-Skene, snorkel) assume LFs are independent given the
label; WRENCH's LFs are not (trec has many overlapping keyword LFs), and the
gold dev rows say directly which vote patterns mean what. A strongly regularised
multinomial logistic regression on the ``m * k`` indicators "LF j voted class c"
learns per-LF, per-class weights from those rows, including negative evidence and
one-class LFs, without the independence assumption. Its weakness is that it only
sees dev rows, so ``AutoLabelModel`` keeps it as one candidate among generative
ones and lets dev cross-validation decide.

``class_weight="balanced"`` (default): dev class mixes can differ from the data
the model is applied to (WRENCH trec), and rare classes get few dev rows; balanced
weights keep the learned intercepts from simply copying the dev mix. ``C=3`` and
``"balanced"`` were chosen by repeated 5-fold CV on the WRENCH youtube/sms/trec dev
sets (never test). Rows where every LF abstains get ``class_balance_``.

Without dev gold the model distils a Dawid-Skene fit: train rows enter with DS
posteriors as soft labels (one weighted copy of each row per class).

>>> import numpy as np
>>> L_dev = np.array([[1, -1], [1, 0], [0, 0], [-1, 0]] * 5)
>>> y_dev = np.array([1, 1, 0, 0] * 5)
>>> st = VoteStacker(cardinality=2).fit(L_dev, y_dev=y_dev, L_dev=L_dev)
>>> st.predict(L_dev[:4]).tolist()
[1, 1, 0, 0]
"""

from __future__ import annotations

import numpy as np

from labeling.apply.votes import check_label_matrix
from labeling.models.base import LabelModel, check_dev_gold, check_dev_matrix, one_hot_votes
from labeling.models.dawid_skene import DawidSkene


class VoteStacker(LabelModel):
    """Multinomial logistic regression on one-hot votes (see module docstring)."""

    name = "stacker"
    learned_state = {"coef_": ("k", "m*k"), "intercept_": ("k",), "class_balance_": ("k",)}

    def __init__(self, cardinality: int = 2, C: float = 3.0, class_weight: str | None = "balanced",
                 max_iter: int = 2000):
        self.cardinality = cardinality
        self.C = C
        self.class_weight = class_weight
        self.max_iter = max_iter

    def fit(self, L, y_dev=None, L_dev=None) -> "VoteStacker":
        from scipy import sparse

        k = self.cardinality
        L = check_label_matrix(L, k)
        y_dev = check_dev_gold(y_dev, k, L_dev)
        m = L.shape[1]
        has_gold = y_dev is not None and L_dev is not None and len(y_dev) > 0
        if has_gold:
            L_dev = check_dev_matrix(L_dev, y_dev, m, k)
            X, y = one_hot_votes(L_dev, k), y_dev
            weight = np.ones(len(y))
            counts = np.bincount(y, minlength=k) + 1.0
        else:
            ds = DawidSkene(cardinality=k).fit(L)
            post = ds.predict_proba(L)
            X = sparse.vstack([one_hot_votes(L, k)] * k).tocsr()
            y = np.repeat(np.arange(k), L.shape[0])
            weight = post.T.ravel()
            counts = ds.class_balance_.copy()
        self.class_balance_ = counts / counts.sum()
        self.coef_ = np.zeros((k, m * k))
        self.intercept_ = np.log(self.class_balance_)
        present = np.unique(y[weight > 0])
        if len(present) < 2 or X.nnz == 0:
            return self  # nothing to discriminate: every row gets the class balance
        self._fit_lr(X, y, weight, present)
        return self

    def _fit_lr(self, X, y, weight, present) -> None:
        from sklearn.linear_model import LogisticRegression

        lr = LogisticRegression(C=self.C, class_weight=self.class_weight,
                                max_iter=self.max_iter)
        lr.fit(X, y, sample_weight=weight)
        coef, intercept = lr.coef_, lr.intercept_
        if len(present) == 2:  # sklearn's binary form: one row for the second class
            coef = np.vstack([-coef / 2, coef / 2])
            intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
        # Classes absent from the targets keep weight 0 and a very low intercept.
        self.intercept_ = np.full(self.cardinality, -30.0)
        self.coef_[present] = coef
        self.intercept_[present] = intercept

    def predict_proba(self, L) -> np.ndarray:
        k = self.cardinality
        L = check_label_matrix(L, k)
        if L.shape[1] * k != self.coef_.shape[1]:
            raise ValueError(f"label matrix has {L.shape[1]} LFs, model was fit on "
                             f"{self.coef_.shape[1] // k}")
        scores = np.asarray(one_hot_votes(L, k) @ self.coef_.T) + self.intercept_
        scores -= scores.max(axis=1, keepdims=True) if L.shape[0] else 0.0
        proba = np.exp(scores)
        proba /= proba.sum(axis=1, keepdims=True)
        proba[(L < 0).all(axis=1)] = self.class_balance_
        return proba
