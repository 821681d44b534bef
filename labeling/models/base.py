"""The contract every label model follows.

A label model turns an ``n x m`` label matrix ``L`` (int, ``-1`` = abstain, else a
class index ``0..k-1``) into class probabilities. Like a scikit-learn estimator,
``__init__`` stores parameters only, ``fit`` returns ``self``, learned attributes
end in ``_`` (reading one before ``fit`` raises scikit-learn's ``NotFittedError``), and
``predict_proba``'s columns are ``classes_`` (``0..k-1``). Every model learns
``class_balance_`` so ties and uncovered rows are broken the same way everywhere: by
the most frequent class (see :meth:`predict`).
"""

from __future__ import annotations

import inspect

import numpy as np
from sklearn.exceptions import NotFittedError

from labeling.apply.votes import check_label_matrix
from labeling.metrics import score_predictions
from labeling.models.persist import model_from_dict, model_to_dict, save_model

ABSTAIN = -1


# Probabilities closer than this to a row's top probability are tied: snorkel's
# ``probs_to_preds`` tolerance, so snorkel code that expects abstains on (numerically)
# flat rows gets them here too.
TIE_TOLERANCE = 1e-5


def check_dev_matrix(L_dev, y_dev, n_lfs: int, cardinality: int) -> np.ndarray:
    """Validate ``L_dev`` like :func:`check_label_matrix` and against ``y_dev``/``L``."""
    L_dev = check_label_matrix(L_dev, cardinality)
    if L_dev.shape != (len(y_dev), n_lfs):
        raise ValueError(f"L_dev shape {L_dev.shape} does not match y_dev/L "
                         f"({len(y_dev)} rows, {n_lfs} LFs)")
    return L_dev


def check_dev_gold(y_dev, cardinality: int, L_dev=None) -> np.ndarray | None:
    """``y_dev`` (list, array or Series; None stays None) as an int array of class
    indices ``0..k-1``, or a one-line ValueError naming the first bad row; with
    ``L_dev``, one gold label per row of it."""
    if y_dev is None:
        return None
    y = np.asarray(y_dev)
    if y.ndim != 1:
        raise ValueError(f"y_dev must be 1-D (one class index per dev row), got shape {y.shape}")
    if L_dev is not None and len(L_dev) != len(y):
        raise ValueError(f"y_dev has {len(y)} rows but L_dev has {len(L_dev)}")
    if y.dtype.kind in "iub":
        bad = (y < 0) | (y >= cardinality)
    elif y.dtype.kind == "f":
        bad = ~np.isfinite(y) | (y != np.round(y)) | (y < 0) | (y >= cardinality)
    else:  # strings, objects: label names are not class indices
        bad = np.ones(len(y), dtype=bool)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        value = y[row].item() if isinstance(y[row], np.generic) else y[row]
        raise ValueError(f"y_dev must hold class indices 0..{cardinality - 1} (positions in "
                         f"the task's labels); row {row} holds {value!r}")
    return y.astype(np.int64)


def vote_counts(L: np.ndarray, cardinality: int) -> np.ndarray:
    """``n x k`` matrix: how many LFs voted each class on each row (vectorized)."""
    counts = np.zeros((L.shape[0], cardinality), dtype=np.int32)
    for c in range(cardinality):
        counts[:, c] = (L == c).sum(axis=1)
    return counts


def untied_majority_counts(L: np.ndarray, cardinality: int) -> np.ndarray:
    """How often each class wins an unambiguous (untied, non-empty) majority vote: the
    class balance a model assumes when it has no gold labels."""
    votes = vote_counts(L, cardinality)
    top = votes.max(axis=1, keepdims=True)
    clear = ((votes == top).sum(axis=1) == 1) & (top[:, 0] > 0)
    return np.bincount(votes[clear].argmax(axis=1), minlength=cardinality).astype(float)


def one_hot_votes(L: np.ndarray, cardinality: int):
    """Sparse CSR ``n x (m*k)`` 0/1 matrix: column ``j*k + c`` is "LF j voted class c".

    Abstains are simply absent, so the cost is O(votes), and products with it replace
    per-LF Python loops (``A.T @ posteriors`` counts votes per class, ``A @ table``
    sums per-vote log-factors).
    """
    from scipy import sparse

    k = cardinality
    n, m = L.shape
    rows, cols = np.nonzero(L >= 0)  # row-major order: already CSR-sorted
    indices = cols * k + L[rows, cols].astype(np.intp)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    return sparse.csr_matrix((np.ones(len(rows)), indices, indptr), shape=(n, m * k))


REGISTRY: dict[str, type] = {}  # name -> class, filled as each model class is defined


def _built_in(cls: type) -> bool:
    """Whether ``cls`` is defined in the labeling.models package (a built-in model)."""
    return cls.__module__ == __package__ or cls.__module__.startswith(f"{__package__}.")


class LabelModel:
    """Base class: subclasses implement ``fit`` and ``predict_proba``."""

    name = "base"
    # Every learned attribute and what a saved file must hold for it (checked by
    # ``persist`` on load): an array's dims, in terms of ``k`` (cardinality) and ``m``
    # (number of LFs): "k", "k+1", "m", "m*k"; or the type of any other value.
    learned_state: dict = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "name" in cls.__dict__:  # a model with a name of its own is loadable by it
            taken = REGISTRY.get(cls.name)
            if taken is not None and _built_in(taken) and not _built_in(cls):
                raise TypeError(f"{cls.__qualname__}: name = {cls.name!r} is a built-in "
                                "label model's; choose another (docs/label_models.md)")
            REGISTRY[cls.name] = cls

    def __init__(self, cardinality: int = 2):
        self.cardinality = cardinality

    def __getattr__(self, name: str):
        # Only reached when normal lookup fails: a learned attribute read before fit.
        if name.endswith("_") and not name.startswith("_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet (no {name}); "
                                 "call fit(L) first")
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __repr__(self) -> str:
        """``Name(param=value, ...)`` with the parameters that differ from the defaults,
        as scikit-learn shows an estimator."""
        defaults = {name: p.default for name, p in
                    inspect.signature(type(self).__init__).parameters.items()}
        changed = [f"{name}={value!r}" for name, value in self.get_params().items()
                   if not _same(value, defaults.get(name))]
        return f"{type(self).__name__}({', '.join(changed)})"

    @property
    def classes_(self) -> np.ndarray:
        """The classes ``predict_proba``'s columns stand for: ``0..k-1`` (positions in
        the task's labels)."""
        return np.arange(len(self.class_balance_))

    def fit(self, L, y_dev=None, L_dev=None) -> "LabelModel":
        raise NotImplementedError

    def predict_proba(self, L) -> np.ndarray:
        raise NotImplementedError

    # The tie rule ``predict``/``decide`` use when none is given (see :meth:`decide`).
    default_tie_break = "prior"

    def predict(self, L, tie_break: str | None = None) -> np.ndarray:
        """Most probable class per row: :meth:`decide` on :meth:`predict_proba`."""
        return self.decide(self.predict_proba(L), tie_break)

    def decide(self, proba: np.ndarray, tie_break: str | None = None) -> np.ndarray:
        """Classes from probabilities already computed (so callers needing both compute
        them once).

        Rows whose top probability is shared by several classes, within snorkel's
        tolerance ``TIE_TOLERANCE`` (ties, and rows where every LF abstains when the
        model returns a flat distribution), go to the tied class with the largest
        ``class_balance_`` (``tie_break="prior"``) or get ``-1``
        (``tie_break="abstain"``, snorkel's ``tie_break_policy="abstain"``). ``None``
        means the model's ``default_tie_break``.
        """
        tie_break = self.default_tie_break if tie_break is None else tie_break
        proba = np.asarray(proba)
        top = proba.max(axis=1, keepdims=True)
        tied = (top - proba) < TIE_TOLERANCE
        if tie_break == "abstain":
            pred = proba.argmax(axis=1)
            pred[tied.sum(axis=1) > 1] = ABSTAIN
            return pred
        if tie_break != "prior":
            raise ValueError(f"tie_break must be 'prior' or 'abstain', got {tie_break!r}")
        # Among tied classes, prefer the larger prior: score = tied * (1 + prior).
        return (tied * (1.0 + self.class_balance_)).argmax(axis=1)

    def score(self, L, y, metric: str = "accuracy", pos_label: int = 1) -> float:
        """Accuracy or F1 (of ``pos_label``) of :meth:`predict` against gold ``y``."""
        return score_predictions(np.asarray(y), self.predict(L), metric, pos_label)

    def get_params(self, deep: bool = True) -> dict:
        """The ``__init__`` parameters and their values, as scikit-learn's contract has
        it (``sklearn.base.clone`` works; no parameter is itself an estimator, so
        ``deep`` changes nothing)."""
        names = [n for n in inspect.signature(type(self).__init__).parameters if n != "self"]
        return {n: getattr(self, n) for n in names}

    def set_params(self, **params) -> "LabelModel":
        """Set ``__init__`` parameters by name; an unknown name is a ValueError."""
        valid = self.get_params()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(f"{type(self).__name__} has no parameter {name!r}; "
                                 f"valid: {', '.join(sorted(valid))}")
            setattr(self, name, value)
        return self

    # ------------------------------------------------------------ persistence
    def to_dict(self) -> dict:
        """Params and learned state as plain JSON-able data (see ``persist``)."""
        return model_to_dict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "LabelModel":
        """Rebuild a model from :meth:`to_dict` output; it must be a ``cls``."""
        model = model_from_dict(d, REGISTRY)
        if not isinstance(model, cls):
            raise ValueError(f"dict describes model {model.name!r}, not {cls.name!r}")
        return model

    def save(self, path):
        """Write the fitted model as JSON; read it back with ``labeling.models.load``."""
        return save_model(self, path)


def _same(value, default) -> bool:
    try:
        return type(value) is type(default) and bool(value == default)
    except (TypeError, ValueError):  # arrays: not a plain parameter value
        return False
