"""Dawid-Skene label model: EM over one class-conditional confusion matrix per LF.

Why ``k x (k+1)`` confusion rows that include abstain (column 0) rather than
``k x k`` rows over non-abstaining votes: most real LFs are unipolar (a regex that
only ever says "spam"). Conditioned on voting, such an LF says "spam" with
probability ~1 under *every* class, so a ``k x k`` model learns that it carries no
information. Keeping the abstain column makes ``P(vote=spam | y)`` the rate at
which the LF fires on each class, which is exactly what distinguishes a good
unipolar LF from a bad one. Whether the abstain column also enters the likelihood
of a row is a separate switch (``abstain_evidence``): with many correlated LFs,
"nobody fired" counted as independent evidence is overconfident, so it is off by
default and the abstain column then only normalises the rows.

Smoothing: every confusion row gets a symmetric Dirichlet pseudo-count
``smoothing`` per cell plus ``diag_prior`` extra on the "correct vote" cell.
Without it an LF that never votes class ``c`` gets log-probability ``-inf`` for
that vote under some class and a single vote can veto a class; the diagonal
bonus also keeps EM from settling on label-swapped solutions.

>>> import numpy as np
>>> L = np.array([[1, 1, -1], [0, 0, 0], [1, -1, 1], [0, 1, 0], [-1, -1, -1]])
>>> ds = DawidSkene(cardinality=2).fit(L)
>>> ds.predict(L).tolist()
[1, 0, 1, 0, 0]
>>> restored = DawidSkene.from_dict(ds.to_dict())  # JSON-able, see persist
>>> bool(np.allclose(restored.predict_proba(L), ds.predict_proba(L)))
True
"""

from __future__ import annotations

import numpy as np

from labeling.apply.votes import check_label_matrix
from labeling.models.base import (LabelModel, check_dev_gold, check_dev_matrix, one_hot_votes,
                                  untied_majority_counts, vote_counts)

# predict_proba works through the rows in blocks this size, bounding its memory.
BLOCK_ROWS = 1 << 17


class DawidSkene(LabelModel):
    """EM (Dawid & Skene, 1979) with MV initialisation and optional dev gold.

    When ``y_dev`` and ``L_dev`` are both given, the dev rows join the M-step with
    their posteriors clamped to one-hot gold, counted ``dev_weight`` times each, so
    gold informs every LF's confusion matrix, not only the class balance.

    ``fix_class_balance=True`` (default) holds the prior at the Laplace-smoothed dev
    gold distribution, or without ``y_dev`` at the distribution of untied majority
    votes. Re-estimating it inside EM lets it run away: with unipolar LFs the class
    whose LFs look most precise absorbs the prior (youtube: 0.76 spam) and accuracy
    drops below MV. Defaults (``diag_prior=10``, ``dev_weight=3``, no abstain
    evidence) were chosen by 5-fold CV on the WRENCH youtube/sms/trec *dev* sets.
    ``diag_prior`` and ``smoothing`` are pseudo-counts, so they matter less as n grows.

    Scale: with more than ``max_fit_rows`` train rows, EM runs on a seeded uniform
    subsample of that many rows (``None`` = all rows). 200k rows pin 50 LFs' confusion
    cells to ~0.002 standard error, far below what smoothing moves them, while EM
    cost stops growing with n; ``predict_proba`` still covers every row. The WRENCH
    sets (< 10k rows) are never subsampled.
    """

    name = "dawid_skene"
    learned_state = {"confusion_": ("m", "k", "k+1"), "class_balance_": ("k",),
                     "lf_accuracies_": ("m",), "n_iter_": int}

    def __init__(self, cardinality: int = 2, smoothing: float = 1.0, diag_prior: float = 10.0,
                 max_iter: int = 100, tol: float = 1e-5, abstain_evidence: bool = False,
                 fix_class_balance: bool = True, dev_weight: float = 3.0,
                 max_fit_rows: int | None = 200_000, seed: int = 0):
        self.cardinality = cardinality
        self.smoothing = smoothing
        self.diag_prior = diag_prior
        self.max_iter = max_iter
        self.tol = tol
        self.abstain_evidence = abstain_evidence
        self.fix_class_balance = fix_class_balance
        self.dev_weight = dev_weight
        self.max_fit_rows = max_fit_rows
        self.seed = seed


    # ------------------------------------------------------------------ fitting
    def fit(self, L, y_dev=None, L_dev=None) -> "DawidSkene":
        k = self.cardinality
        L = check_label_matrix(L, k)
        y_dev = check_dev_gold(y_dev, k, L_dev)
        if self.max_fit_rows is not None and L.shape[0] > self.max_fit_rows:
            rows = np.random.default_rng(self.seed).choice(L.shape[0], self.max_fit_rows,
                                                           replace=False)
            L = L[np.sort(rows)]  # sorted: a cache-friendly gather
        m = L.shape[1]
        has_gold = y_dev is not None and len(y_dev) > 0
        gold_post = None
        if has_gold and L_dev is not None and len(L_dev):
            L_dev = check_dev_matrix(L_dev, y_dev, m, k)
            L_fit = np.concatenate([L, L_dev.astype(L.dtype, copy=False)])
            gold_post = np.eye(k)[np.asarray(y_dev)] * self.dev_weight
        else:
            L_fit = L
        n_train = L.shape[0]

        fixed_prior = None
        if self.fix_class_balance:
            if has_gold:
                counts = np.bincount(np.asarray(y_dev), minlength=k) + 1.0
            else:
                counts = untied_majority_counts(L, k) + 1.0
            fixed_prior = counts / counts.sum()

        post = self._init_posteriors(L_fit[:n_train], fixed_prior)
        if gold_post is not None:
            post = np.concatenate([post, gold_post])
        votes = one_hot_votes(L_fit, k)  # built once, reused by every EM step
        votes_train = votes[:n_train]
        self.n_iter_ = 0
        prev_ll = -np.inf
        for it in range(1, self.max_iter + 1):
            self._m_step(votes, m, post, fixed_prior, n_train)
            if n_train == 0:
                break
            log_post = self._log_joint(votes_train)
            ll = _logsumexp_rows(log_post)
            post_train = np.exp(log_post - ll[:, None])
            post = post_train if gold_post is None else np.concatenate([post_train, gold_post])
            ll_mean = float(ll.mean())
            self.n_iter_ = it
            if abs(ll_mean - prev_ll) < self.tol:
                break
            prev_ll = ll_mean
        self.lf_accuracies_ = self._lf_accuracies()
        return self

    def _init_posteriors(self, L: np.ndarray, fixed_prior) -> np.ndarray:
        """Majority-vote shares; rows nobody voted on start at the prior."""
        k = self.cardinality
        votes = vote_counts(L, k).astype(float)
        total = votes.sum(axis=1, keepdims=True)
        post = np.divide(votes, total, out=np.zeros_like(votes), where=total > 0)
        if fixed_prior is not None:
            prior = fixed_prior
        else:
            prior = post.sum(axis=0) + 1.0
            prior = prior / prior.sum()
        post[total[:, 0] == 0] = prior
        return post

    def _m_step(self, votes, m: int, post: np.ndarray, fixed_prior, n_train: int) -> None:
        """Weighted counts per (LF, true class, vote) from one sparse product.

        ``votes.T @ post`` gives, per (LF, voted class), the posterior mass of each
        true class; the abstain cell is what is left of each class's total mass.
        """
        k = self.cardinality
        voted = np.asarray(votes.T @ post).reshape(m, k, k)  # [j, vote, true]
        counts = np.empty((m, k, k + 1))
        counts[:, :, 1:] = voted.transpose(0, 2, 1)
        counts[:, :, 0] = post.sum(axis=0)[None, :] - voted.sum(axis=1)
        np.clip(counts[:, :, 0], 0.0, None, out=counts[:, :, 0])  # rounding only
        # Dirichlet prior centred on each LF's class-blind output rates: a rare LF is
        # smoothed towards "rarely fires" instead of towards a uniform 1/(k+1) row.
        rates = counts.sum(axis=1) + 1.0 / (k + 1)
        rates /= rates.sum(axis=1, keepdims=True)
        counts += self.smoothing * (k + 1) * rates[:, None, :]
        idx = np.arange(k)
        counts[:, idx, idx + 1] += self.diag_prior
        self.confusion_ = counts / counts.sum(axis=2, keepdims=True)
        if fixed_prior is not None:
            self.class_balance_ = np.asarray(fixed_prior, dtype=float)
        else:
            # Train rows only: dev_weight should not skew the estimated prior.
            prior = post[:n_train].sum(axis=0) + (post[n_train:] > 0).sum(axis=0) + 1.0
            self.class_balance_ = prior / prior.sum()

    def _log_joint(self, votes) -> np.ndarray:
        """``n x k`` log P(y = c, votes) for one-hot ``votes`` (see ``one_hot_votes``)."""
        k = self.cardinality
        log_conf = np.log(self.confusion_)  # m x k x (k+1); column 0 = abstain
        base = np.log(self.class_balance_)
        per_vote = log_conf[:, :, 1:]
        if self.abstain_evidence:
            # Every LF contributes its abstain factor unless it voted, then it swaps
            # that factor for its vote's: start from all-abstain, add the differences.
            base = base + log_conf[:, :, 0].sum(axis=0)
            per_vote = per_vote - log_conf[:, :, :1]
        # Otherwise abstaining contributes the same factor (1) under every class.
        table = per_vote.transpose(0, 2, 1).reshape(-1, k)  # row j*k + vote -> classes
        return np.asarray(votes @ table) + base

    def _lf_accuracies(self) -> np.ndarray:
        """P(vote is correct | LF votes), under the fitted prior and confusions."""
        k = self.cardinality
        idx = np.arange(k)
        correct = (self.confusion_[:, idx, idx + 1] * self.class_balance_).sum(axis=1)
        voted = ((1.0 - self.confusion_[:, :, 0]) * self.class_balance_).sum(axis=1)
        return correct / voted

    # --------------------------------------------------------------- inference
    def predict_proba(self, L) -> np.ndarray:
        L = check_label_matrix(L, self.cardinality)
        if L.shape[1] != self.confusion_.shape[0]:
            raise ValueError(f"label matrix has {L.shape[1]} LFs, model was fit on "
                             f"{self.confusion_.shape[0]}")
        out = np.empty((L.shape[0], self.cardinality))
        for start in range(0, L.shape[0], BLOCK_ROWS):
            log_post = self._log_joint(one_hot_votes(L[start:start + BLOCK_ROWS],
                                                     self.cardinality))
            out[start:start + BLOCK_ROWS] = np.exp(log_post - _logsumexp_rows(log_post)[:, None])
        return out


def _logsumexp_rows(a: np.ndarray) -> np.ndarray:
    top = a.max(axis=1) if a.shape[0] else np.zeros(0)
    return top + np.log(np.exp(a - top[:, None]).sum(axis=1))

