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
>>> restored = DawidSkene.from_dict(ds.to_dict())
>>> bool(np.allclose(restored.predict_proba(L), ds.predict_proba(L)))
True
"""

from __future__ import annotations

import numpy as np

from labeling.models.base import LabelModel, check_label_matrix, vote_counts


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
    """

    name = "dawid_skene"

    def __init__(self, cardinality: int = 2, smoothing: float = 1.0, diag_prior: float = 10.0,
                 max_iter: int = 100, tol: float = 1e-5, abstain_evidence: bool = False,
                 fix_class_balance: bool = True, dev_weight: float = 3.0):
        self.cardinality = cardinality
        self.smoothing = smoothing
        self.diag_prior = diag_prior
        self.max_iter = max_iter
        self.tol = tol
        self.abstain_evidence = abstain_evidence
        self.fix_class_balance = fix_class_balance
        self.dev_weight = dev_weight


    # ------------------------------------------------------------------ fitting
    def fit(self, L, y_dev=None, L_dev=None) -> "DawidSkene":
        k = self.cardinality
        L = check_label_matrix(L, k)
        m = L.shape[1]
        has_gold = y_dev is not None and len(y_dev) > 0
        gold_post = None
        if has_gold and L_dev is not None and len(L_dev):
            L_dev = check_label_matrix(L_dev, k)
            if L_dev.shape != (len(y_dev), m):
                raise ValueError(f"L_dev shape {L_dev.shape} does not match y_dev/L "
                                 f"({len(y_dev)} rows, {m} LFs)")
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
                counts = _untied_mv_counts(L, k) + 1.0
            fixed_prior = counts / counts.sum()

        post = self._init_posteriors(L_fit[:n_train], fixed_prior)
        if gold_post is not None:
            post = np.concatenate([post, gold_post])
        self.n_iter_ = 0
        prev_ll = -np.inf
        for it in range(1, self.max_iter + 1):
            self._m_step(L_fit, post, fixed_prior, n_train)
            if n_train == 0:
                break
            log_post = self._log_joint(L_fit[:n_train])
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

    def _m_step(self, L: np.ndarray, post: np.ndarray, fixed_prior, n_train: int) -> None:
        """Weighted counts per (LF, true class, vote), one bincount per LF and class.

        Looping over LFs and classes keeps memory at O(n) instead of O(n m k).
        """
        k = self.cardinality
        m = L.shape[1]
        counts = np.empty((m, k, k + 1))
        for j in range(m):
            col = L[:, j].astype(np.intp) + 1  # 0 = abstain, c + 1 = class c
            for c in range(k):
                counts[j, c] = np.bincount(col, weights=post[:, c], minlength=k + 1)
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

    def _log_joint(self, L: np.ndarray) -> np.ndarray:
        """``n x k`` log P(y = c, votes): accumulate one LF at a time."""
        k = self.cardinality
        log_conf = np.log(self.confusion_)  # m x k x (k+1)
        if not self.abstain_evidence:
            # Abstaining contributes the same factor (1) under every class.
            log_conf = log_conf.copy()
            log_conf[:, :, 0] = 0.0
        out = np.tile(np.log(self.class_balance_), (L.shape[0], 1))
        for j in range(L.shape[1]):
            out += log_conf[j].T[L[:, j].astype(np.intp) + 1]
        return out

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
        log_post = self._log_joint(L)
        if L.shape[0] == 0:
            return np.zeros((0, self.cardinality))
        return np.exp(log_post - _logsumexp_rows(log_post)[:, None])

    # ------------------------------------------------------------ persistence
    def to_dict(self) -> dict:
        """Plain JSON-able dict (lists and scalars only) of params and learned state."""
        return {"name": self.name, "params": self.get_params(),
                "class_balance_": self.class_balance_.tolist(),
                "confusion_": self.confusion_.tolist(),
                "lf_accuracies_": self.lf_accuracies_.tolist(), "n_iter_": int(self.n_iter_)}

    @classmethod
    def from_dict(cls, d: dict) -> "DawidSkene":
        if d.get("name", cls.name) != cls.name:
            raise ValueError(f"dict describes model {d.get('name')!r}, not {cls.name!r}")
        model = cls(**d["params"])
        model.class_balance_ = np.asarray(d["class_balance_"], dtype=float)
        model.confusion_ = np.asarray(d["confusion_"], dtype=float)
        model.lf_accuracies_ = np.asarray(d["lf_accuracies_"], dtype=float)
        model.n_iter_ = int(d["n_iter_"])
        return model


def _logsumexp_rows(a: np.ndarray) -> np.ndarray:
    top = a.max(axis=1) if a.shape[0] else np.zeros(0)
    return top + np.log(np.exp(a - top[:, None]).sum(axis=1))


def _untied_mv_counts(L: np.ndarray, k: int) -> np.ndarray:
    """How often each class wins an unambiguous majority vote (the MV prior)."""
    votes = vote_counts(L, k)
    top = votes.max(axis=1, keepdims=True)
    clear = ((votes == top).sum(axis=1) == 1) & (top[:, 0] > 0)
    return np.bincount(votes[clear].argmax(axis=1), minlength=k).astype(float)
