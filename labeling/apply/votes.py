"""Checking LF votes and recording LF faults."""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field

import numpy as np

from labeling.errors import LFError
from labeling.lf.core import ABSTAIN


def matrix_dtype(cardinality: int) -> np.dtype:
    return np.dtype(np.int8) if cardinality <= 127 else np.dtype(np.int16)


@dataclass
class FaultLog:
    """Per-LF count of rows where the LF raised, with the first error seen."""

    counts: dict[str, int] = field(default_factory=dict)
    first: dict[str, str] = field(default_factory=dict)

    def record(self, lf_name: str, where: str, error) -> None:
        self.counts[lf_name] = self.counts.get(lf_name, 0) + 1
        if isinstance(error, BaseException):
            error = f"{type(error).__name__}: {error}"
        self.first.setdefault(lf_name, f"{where}: {error}")


class RowNames:
    """How messages name a row of ``df``: ``"train row 24640 (id=abc)"``, counted from 1
    without the header, as data errors count rows (docs/data.md).

    ``numbers`` gives each position's 0-based position in the split when ``df`` holds
    only part of it (a Dask partition); by default a row's position is its position in ``df``.
    """

    def __init__(self, df, split: str | None, numbers=None):
        self.split = split
        self._ids = df["id"] if "id" in df.columns else None
        self._numbers = numbers

    def __call__(self, position: int) -> str:
        number = position if self._numbers is None else int(self._numbers[position])
        where = f"{self.split} row {number + 1}" if self.split else f"row {number + 1}"
        if self._ids is not None:
            where += f" (id={self._ids.iloc[position]})"
        return where


def check_vote(value, lf, cardinality: int, names: RowNames, position: int) -> int:
    """``value`` as an int if it is -1 or a class index (a multi-label LF's: 0 or 1), else
    an LFError naming the LF and the row."""
    if type(value) is int and ABSTAIN <= value < cardinality:  # the common case, fast
        return value
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        if ABSTAIN <= value < cardinality:
            return int(value)
    target = getattr(lf, "target_label", None)  # a multi-label LF votes on one label
    expected = (f"-1 (abstain), 0 (does not apply) or 1 (applies) on its label '{target}'"
                if target is not None else
                f"-1 (abstain) or a class index 0..{cardinality - 1}")
    raise LFError(f"LF '{lf.name}' returned {value!r} on {names(position)}; expected {expected}")


def check_label_matrix(L, cardinality: int) -> np.ndarray:
    """Return ``L`` as a 2-D integer array, or raise ValueError naming the bad value.

    Float matrices (snorkel accepts them, and its own tests build them with
    ``-1 * np.ones(...)``) are cast to int64 when every value is a whole number;
    NaN, inf and fractions are refused with their row and column.
    """
    L = np.asarray(L)
    if L.ndim != 2:
        raise ValueError(f"label matrix must be 2-D, got shape {L.shape}")
    if L.size and np.issubdtype(L.dtype, np.floating):
        L = _integral_floats(L)
    if L.size and not np.issubdtype(L.dtype, np.integer):
        raise ValueError(f"label matrix must hold integers, got dtype {L.dtype}")
    if L.size:
        bad = (L < ABSTAIN) | (L >= cardinality)
        if bad.any():
            row, col = map(int, np.argwhere(bad)[0])
            raise ValueError(
                f"label matrix value {int(L[row, col])} at row {row}, column {col} "
                f"is outside -1..{cardinality - 1}"
            )
    return L


def _integral_floats(L: np.ndarray) -> np.ndarray:
    finite = np.isfinite(L)
    if not finite.all():
        row, col = map(int, np.argwhere(~finite)[0])
        value = "NaN" if np.isnan(L[row, col]) else str(L[row, col])
        raise ValueError(f"label matrix holds {value} at row {row}, column {col}; "
                         "labels must be whole numbers (-1 = abstain)")
    fractional = L != np.round(L)
    if fractional.any():
        row, col = map(int, np.argwhere(fractional)[0])
        raise ValueError(f"label matrix holds non-integer value {L[row, col]} at row {row}, "
                         f"column {col}; labels must be whole numbers (-1 = abstain)")
    return L.astype(np.int64)
