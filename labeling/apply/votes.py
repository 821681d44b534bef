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
    """How messages name a row of ``df``: ``"train row 24640 (id=abc)"``.

    ``numbers`` gives each position's row number in the split when ``df`` holds only
    part of it (a Dask partition); by default a row's number is its position.
    """

    def __init__(self, df, split: str | None, numbers=None):
        self.split = split
        self._ids = df["id"] if "id" in df.columns else None
        self._numbers = numbers

    def __call__(self, position: int) -> str:
        number = position if self._numbers is None else int(self._numbers[position])
        where = f"{self.split} row {number}" if self.split else f"row {number}"
        if self._ids is not None:
            where += f" (id={self._ids.iloc[position]})"
        return where


def check_vote(value, lf_name: str, cardinality: int, names: RowNames, position: int) -> int:
    """``value`` as an int if it is -1 or a class index, else an LFError naming the row."""
    if type(value) is int and ABSTAIN <= value < cardinality:  # the common case, fast
        return value
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        if ABSTAIN <= value < cardinality:
            return int(value)
    raise LFError(
        f"LF '{lf_name}' returned {value!r} on {names(position)}; "
        f"expected -1 (abstain) or a class index 0..{cardinality - 1}"
    )
