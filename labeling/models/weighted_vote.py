"""Weighted vote: majority vote with one learned, non-negative weight per LF and class.

A row's score for class ``c`` is the sum of the weights of the LFs that voted ``c``;
``predict_proba`` is the softmax of those scores. Two restrictions set it apart from
a free discriminative model such as :class:`~labeling.models.stacker.VoteStacker`,
and both are deliberate:

- **Monotone.** An LF's vote can only add evidence for the class it voted
  (weights are >= 0), never for another class. A free model learns things like
  "when only the catch-all LF fires, the answer is class B": true on the rows it was
  fit on, and the first thing to break when the mix of the data being labeled moves
  (on WRENCH trec such a pattern flips between the dev and test splits; the stacker
  scores 0.655 in dev CV and 0.504 on test). It also keeps the model explainable:
  a vote for ``c`` never lowers ``P(c)``.
- **No class prior in the decision.** The fit has one intercept per class, which
  absorbs the class mix of dev gold, and predictions drop it: the weights are then
  how much a vote moves the odds, not how common its class was on dev (which need
  not be how common it is in the data being labeled). ``class_balance_`` is only
  used for rows where every LF abstains and to break exact ties (see
  :meth:`LabelModel.decide`).

Fit (with dev gold): maximum likelihood of the dev gold labels under the softmax
(plus the intercepts), with a hierarchical Gaussian penalty: each weight is shrunk (``strength``) towards
its class's mean weight, and each class mean (``class_strength``) towards the weight
of an LF of accuracy ``prior_accuracy``. So an LF that never fires on dev keeps the
typical weight of LFs voting its class, and a class whose LFs are precise as a group
(sms spam keywords) wins the conflicts its LFs are in. Without dev gold the weights
are the log-odds of each LF's accuracy as estimated by Dawid-Skene on ``L``.

>>> import numpy as np
>>> L_dev = np.array([[1, 0], [0, 1], [1, -1], [0, -1], [-1, 1], [-1, 0]] * 10)
>>> y_dev = np.array([1, 0, 1, 0, 0, 1] * 10)  # LF 0 is always right, LF 1 always wrong
>>> wv = WeightedVote(cardinality=2).fit(L_dev, y_dev=y_dev, L_dev=L_dev)
>>> wv.weights_.round(2).tolist()  # LF 1 gets weight 0: ignored, never read backwards
[[2.63, 2.63], [0.0, 0.0]]
>>> wv.predict(np.array([[1, 0], [-1, 1]])).tolist()  # LF 1 alone: a tie, broken by the prior
[1, 0]
>>> wv.lf_accuracies_.round(2).tolist()  # the accuracies those weights stand for
[0.93, 0.5]
"""

from __future__ import annotations

import numpy as np

from labeling.apply.votes import check_label_matrix
from labeling.models.base import (LabelModel, check_dev_gold, check_dev_matrix, one_hot_votes,
                                  untied_majority_counts)
from labeling.models.dawid_skene import DawidSkene


class WeightedVote(LabelModel):
    """Monotone, prior-free weighted majority vote (see module docstring)."""

    name = "weighted_vote"
    learned_state = {"weights_": ("m", "k"), "class_weights_": ("k",), "class_balance_": ("k",),
                     "lf_accuracies_": ("m",)}

    def __init__(self, cardinality: int = 2, strength: float = 1.0,
                 class_strength: float = 0.1, prior_accuracy: float = 0.7,
                 max_iter: int = 500):
        self.cardinality = cardinality
        self.strength = strength
        self.class_strength = class_strength
        self.prior_accuracy = prior_accuracy
        self.max_iter = max_iter

    def fit(self, L, y_dev=None, L_dev=None) -> "WeightedVote":
        k = self.cardinality
        L = check_label_matrix(L, k)
        y_dev = check_dev_gold(y_dev, k, L_dev)
        m = L.shape[1]
        if not 1.0 / k < self.prior_accuracy < 1.0:
            raise ValueError(f"prior_accuracy must lie in ({1.0 / k:.3f}, 1), "
                             f"got {self.prior_accuracy}")
        has_gold = y_dev is not None and L_dev is not None and len(y_dev) > 0
        if has_gold:
            L_dev = check_dev_matrix(L_dev, y_dev, m, k)
            counts = np.bincount(y_dev, minlength=k).astype(float)
            self.weights_, self.class_weights_ = self._fit_on_gold(L_dev, y_dev, m)
        else:
            counts = untied_majority_counts(L, k)
            self.weights_ = self._weights_from_dawid_skene(L)
            self.class_weights_ = self.weights_.mean(axis=0) if m else np.zeros(k)
        counts += 1.0  # Laplace: no class gets prior 0
        self.class_balance_ = counts / counts.sum()
        self.lf_accuracies_ = self._implied_accuracies(L)
        return self

    def _implied_accuracies(self, L) -> np.ndarray:
        """Per LF, the accuracy whose log-odds is its weight (averaged over the classes it
        votes on ``L``): the number the LF table shows as the learned accuracy."""
        k, m = self.cardinality, L.shape[1]
        if m == 0:
            return np.zeros(0)
        # votes per LF and class, counted in place: a sparse one-hot copy of 50k x 340
        # train votes took 0.45 s, and auto's CV fits this model 16 times a save
        fired = np.stack([(L == c).sum(axis=0) for c in range(k)], axis=1).astype(float)
        share = np.where(fired.sum(axis=1, keepdims=True) > 0, fired, 1.0)
        weight = (share * self.weights_).sum(axis=1) / share.sum(axis=1)
        odds = np.exp(np.minimum(weight, 50.0))
        return odds / (odds + k - 1)

    def _log_odds(self, accuracy):
        k = self.cardinality
        return np.log(accuracy * (k - 1) / (1.0 - accuracy))

    def _weights_from_dawid_skene(self, L) -> np.ndarray:
        k, m = self.cardinality, L.shape[1]
        if m == 0 or not (L >= 0).any():
            return np.full((m, k), self._log_odds(self.prior_accuracy))
        accuracy = np.clip(DawidSkene(cardinality=k).fit(L).lf_accuracies_, 1e-3, 1 - 1e-3)
        return np.repeat(np.maximum(self._log_odds(accuracy), 0.0)[:, None], k, axis=1)

    def _fit_on_gold(self, L_dev, y_dev, m):
        """L-BFGS-B on the penalised dev log-likelihood; returns (m x k weights, k means).
        The intercepts are fit (unpenalised) and discarded (see module docstring)."""
        from scipy.optimize import minimize

        k = self.cardinality
        mk = m * k
        cls = np.arange(mk) % k  # column j*k + c of the one-hot votes is "voted c"
        spread = np.zeros((mk, k))
        spread[np.arange(mk), cls] = 1.0
        votes = one_hot_votes(L_dev, k)
        target = np.eye(k)[y_dev]
        base = self._log_odds(self.prior_accuracy)

        def objective(theta):
            w, mu, b = theta[:mk], theta[mk:mk + k], theta[mk + k:]
            scores = np.asarray(votes @ (w[:, None] * spread)) + b
            scores -= scores.max(axis=1, keepdims=True)
            proba = np.exp(scores)
            proba /= proba.sum(axis=1, keepdims=True)
            loss = -float((target * np.log(np.maximum(proba, 1e-300))).sum())
            residual = proba - target
            grad_w = np.asarray(votes.T @ residual)[np.arange(mk), cls]
            gap = w - mu[cls]
            loss += 0.5 * self.strength * float(gap @ gap)
            loss += 0.5 * self.class_strength * float(((mu - base) ** 2).sum())
            grad_w = grad_w + self.strength * gap
            grad_mu = (-self.strength * np.bincount(cls, weights=gap, minlength=k)
                       + self.class_strength * (mu - base))
            grad_b = residual.sum(axis=0)
            return loss, np.concatenate([grad_w, grad_mu, grad_b])

        start = np.concatenate([np.full(mk + k, base), np.zeros(k)])
        result = minimize(objective, start, jac=True, method="L-BFGS-B",
                          bounds=[(0.0, None)] * (mk + k) + [(None, None)] * k,
                          options={"maxiter": self.max_iter})
        return result.x[:mk].reshape(m, k), result.x[mk:mk + k]
    def predict_proba(self, L) -> np.ndarray:
        k = self.cardinality
        L = check_label_matrix(L, k)
        if L.shape[1] != self.weights_.shape[0]:
            raise ValueError(f"label matrix has {L.shape[1]} LFs, model was fit on "
                             f"{self.weights_.shape[0]}")
        table = np.zeros((L.shape[1] * k, k))  # row j*k + c: weight of "LF j voted c"
        table[np.arange(table.shape[0]), np.arange(table.shape[0]) % k] = self.weights_.ravel()
        scores = np.asarray(one_hot_votes(L, k) @ table)
        if L.shape[0]:
            scores -= scores.max(axis=1, keepdims=True)
        proba = np.exp(scores)
        proba /= proba.sum(axis=1, keepdims=True)
        proba[(L < 0).all(axis=1)] = self.class_balance_
        return proba

