"""snorkel's LabelModel behind the project's contract, without leaking RNG state.

snorkel's ``LabelModel.fit`` reseeds Python's ``random``, NumPy's and torch's global
generators; this wrapper saves them before fitting and restores them after, so a
user's own seeded code is not silently perturbed.
"""

from __future__ import annotations

import contextlib
import logging
import random
import warnings

import numpy as np

from labeling.apply.votes import check_label_matrix
from labeling.models.base import LabelModel, check_dev_gold


@contextlib.contextmanager
def preserved_global_rng():
    """Restore the global random, numpy and torch generators on exit."""
    import torch

    py_state = random.getstate()
    np_state = np.random.get_state()
    torch_state = torch.random.get_rng_state()
    try:
        yield
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)
        torch.random.set_rng_state(torch_state)


class SnorkelLabelModel(LabelModel):
    """snorkel 0.10's matrix-completion LabelModel.

    ``class_balance`` (snorkel's ``fit(class_balance=...)``), else ``y_dev``, sets the
    class balance (that is all snorkel uses ``y_dev`` for): ``y_dev``'s class
    frequencies, as snorkel's ``fit(L, Y_dev=y_dev)`` computes them, so the same ``L``
    and ``y_dev`` give snorkel's model. Where snorkel refuses (a class missing from
    ``y_dev``), each class count gets +1 so no class has prior 0. Without ``y_dev`` the
    balance is uniform, as in snorkel.

    After fitting, only snorkel's learned conditional table ``mu_`` (``P(LF j votes c'
    | y = c)``, shape ``m*k x k``) and ``class_balance_`` are kept; ``predict_proba``
    evaluates snorkel's own formula on them in numpy. That makes the model savable as
    JSON and predicting needs no torch (parity with snorkel is tested).
    """

    name = "snorkel"
    learned_state = {"mu_": ("m*k", "k"), "class_balance_": ("k",), "lf_accuracies_": ("m",)}

    def __init__(self, cardinality: int = 2, epochs: int = 500, lr: float = 0.01,
                 l2: float = 0.0, seed: int = 123, class_balance: list | None = None):
        self.cardinality = cardinality
        self.epochs = epochs
        self.lr = lr
        self.l2 = l2
        self.seed = seed
        self.class_balance = class_balance

    def fit(self, L, y_dev=None, L_dev=None) -> "SnorkelLabelModel":
        from snorkel.labeling.model import LabelModel as _SnorkelLM

        L = check_label_matrix(L, self.cardinality)
        y_dev = check_dev_gold(y_dev, self.cardinality, L_dev)
        if self.class_balance is not None:  # snorkel's fit(class_balance=...): first
            balance = _given_balance(self.class_balance, self.cardinality)
        elif y_dev is not None and len(y_dev):
            counts = np.bincount(y_dev, minlength=self.cardinality).astype(float)
            if not counts.all():  # snorkel raises here; +1 keeps every class possible
                counts += 1.0
            balance = counts / counts.sum()
        else:
            balance = np.full(self.cardinality, 1.0 / self.cardinality)
        logging.getLogger("snorkel").setLevel(logging.WARNING)
        with preserved_global_rng(), warnings.catch_warnings():
            # scipy warns about a dtype cast inside snorkel's code, on every fit.
            warnings.simplefilter("ignore", FutureWarning)
            model = _SnorkelLM(cardinality=self.cardinality, verbose=False)
            # int64: snorkel's sparse construction warns (and copies) on int8.
            model.fit(L.astype(np.int64), n_epochs=self.epochs, lr=self.lr, l2=self.l2, seed=self.seed,
                      class_balance=balance, progress_bar=False)
        self.mu_ = model.mu.detach().cpu().numpy().astype(np.float64)
        self.class_balance_ = balance
        # snorkel divides by each LF's coverage: a warning for an LF that never votes on
        # train (its accuracy comes out 1.0, as in snorkel)
        with np.errstate(divide="ignore", invalid="ignore"):
            self.lf_accuracies_ = np.asarray(model.get_weights())
        return self

    def predict_proba(self, L) -> np.ndarray:
        """snorkel's ``predict_proba``: ``P(y) * prod_j mu[j, vote_j, y]`` over voting LFs,
        normalised (abstains contribute nothing, as in snorkel)."""
        L = check_label_matrix(L, self.cardinality)
        k = self.cardinality
        m = self.mu_.shape[0] // k
        if L.shape[1] != m:
            raise ValueError(f"label matrix has {L.shape[1]} LFs, model was fit on {m}")
        with np.errstate(divide="ignore"):  # snorkel does log(mu) with mu possibly 0 too
            log_mu = np.log(np.clip(self.mu_, 0.0, None))
        out = np.tile(np.log(self.class_balance_), (L.shape[0], 1))
        for j in range(m):
            col = L[:, j].astype(np.intp)
            voted = col >= 0
            out[voted] += log_mu[j * k + col[voted]]
        top = out.max(axis=1, keepdims=True) if L.shape[0] else out[:, :1]
        proba = np.exp(out - top)
        return proba / proba.sum(axis=1, keepdims=True)


def _given_balance(values, cardinality: int) -> np.ndarray:
    """``class_balance`` as snorkel takes it: one positive prior per class."""
    balance = np.asarray(values, dtype=float)
    if balance.shape != (cardinality,) or not (np.isfinite(balance) & (balance > 0)).all():
        raise ValueError(f"class_balance must hold {cardinality} positive numbers (one per "
                         f"label, in labels order), got {list(values)!r}")
    return balance / balance.sum()
