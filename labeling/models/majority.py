"""Majority vote, vectorized."""

from __future__ import annotations

import numpy as np

from labeling.models.base import (LabelModel, check_label_matrix, untied_majority_counts,
                                  vote_counts)


class MajorityVote(LabelModel):
    """Each row's probability is the share of non-abstaining votes per class.

    Rows where every LF abstains get ``class_balance_``. ``class_balance_`` is the
    dev gold distribution when ``y_dev`` is given, else the distribution of the
    unambiguous (untied) majority votes on the training matrix.

    >>> import numpy as np
    >>> mv = MajorityVote(cardinality=2).fit(np.array([[1, 1, -1], [1, -1, -1], [0, -1, -1]]))
    >>> mv.predict(np.array([[1, 1, 0], [-1, -1, -1]])).tolist()
    [1, 1]
    >>> mv.class_balance_.round(2).tolist()  # 2 of 3 untied train votes are class 1, +1 smoothing
    [0.4, 0.6]
    """

    name = "mv"

    def fit(self, L, y_dev=None, L_dev=None) -> "MajorityVote":
        L = check_label_matrix(L, self.cardinality)
        if y_dev is not None and len(y_dev):
            counts = np.bincount(np.asarray(y_dev), minlength=self.cardinality)
        else:
            counts = untied_majority_counts(L, self.cardinality)
        counts = counts.astype(float) + 1.0  # Laplace: no class gets prior 0
        self.class_balance_ = counts / counts.sum()
        return self

    def predict_proba(self, L) -> np.ndarray:
        L = check_label_matrix(L, self.cardinality)
        votes = vote_counts(L, self.cardinality).astype(float)
        total = votes.sum(axis=1, keepdims=True)
        proba = np.divide(votes, total, out=np.zeros_like(votes), where=total > 0)
        proba[total[:, 0] == 0] = self.class_balance_
        return proba
