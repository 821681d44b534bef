"""Majority vote, vectorized: ours by default, snorkel's ``MajorityLabelVoter`` on request."""

from __future__ import annotations

import numpy as np

from labeling.apply.votes import check_label_matrix
from labeling.models.base import (LabelModel, check_dev_gold, untied_majority_counts,
                                  vote_counts)


class MajorityVote(LabelModel):
    """Each row's probability is the share of non-abstaining votes per class.

    Rows where every LF abstains get ``class_balance_``. ``class_balance_`` is the
    dev gold distribution when ``y_dev`` is given, else the distribution of the
    unambiguous (untied) majority votes on the training matrix. Ties and uncovered
    rows are predicted as the tied class with the larger ``class_balance_``.

    How this differs from snorkel's ``MajorityLabelVoter`` (the one place this is
    written down, with docs/label_models.md):

    - votes 1, 1, 0: ours ``[1/3, 2/3]`` (vote shares); snorkel ``[0, 1]`` (one-hot winner).
    - votes 1, 0 (a tie): both ``[0.5, 0.5]``; ours predicts the class with the larger
      prior, snorkel predicts -1.
    - no votes: ours ``class_balance_`` and the most frequent class; snorkel uniform and -1.

    Why ours is the default: vote shares keep how contested a row is, so an end
    model trained on the soft labels learns less from a 2-to-1 row than from a 3-to-0
    one, and every row gets a class, so scores count all rows. ``snorkel_compatible``
    gives snorkel's soft labels and its ``predict`` (``tie_break_policy="abstain"``:
    -1 on ties and rows with no votes); ``predict(L, tie_break="prior")`` still breaks
    those by the class balance.

    >>> import numpy as np
    >>> mv = MajorityVote(cardinality=2).fit(np.array([[1, 1, -1], [1, -1, -1], [0, -1, -1]]))
    >>> mv.predict(np.array([[1, 1, 0], [-1, -1, -1]])).tolist()
    [1, 1]
    >>> mv.class_balance_.round(2).tolist()  # 2 of 3 untied train votes are class 1, +1 smoothing
    [0.4, 0.6]
    >>> snorkel_like = MajorityVote(cardinality=2, snorkel_compatible=True).fit(np.zeros((1, 1), int))
    >>> snorkel_like.predict(np.array([[1, 1, 0], [1, 0, -1], [-1, -1, -1]])).tolist()
    [1, -1, -1]
    """

    name = "mv"
    learned_state = {"class_balance_": ("k",)}

    def __init__(self, cardinality: int = 2, snorkel_compatible: bool = False):
        self.cardinality = cardinality
        self.snorkel_compatible = snorkel_compatible

    @property
    def default_tie_break(self) -> str:
        return "abstain" if self.snorkel_compatible else "prior"

    def fit(self, L, y_dev=None, L_dev=None) -> "MajorityVote":
        L = check_label_matrix(L, self.cardinality)
        y_dev = check_dev_gold(y_dev, self.cardinality, L_dev)
        if y_dev is not None and len(y_dev):
            counts = np.bincount(y_dev, minlength=self.cardinality)
        else:
            counts = untied_majority_counts(L, self.cardinality)
        counts = counts.astype(float) + 1.0  # Laplace: no class gets prior 0
        self.class_balance_ = counts / counts.sum()
        return self

    def predict_proba(self, L) -> np.ndarray:
        prior = self.class_balance_  # NotFittedError before fit, in either mode
        L = check_label_matrix(L, self.cardinality)
        votes = vote_counts(L, self.cardinality).astype(float)
        if self.snorkel_compatible:  # MajorityLabelVoter: the top classes share 1 evenly
            top = (votes == votes.max(axis=1, keepdims=True)).astype(float)
            return top / top.sum(axis=1, keepdims=True)
        total = votes.sum(axis=1, keepdims=True)
        proba = np.divide(votes, total, out=np.zeros_like(votes), where=total > 0)
        proba[total[:, 0] == 0] = prior
        return proba
