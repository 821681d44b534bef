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


def describe_row(df, position: int, split: str | None) -> str:
    where = f"{split} row {position}" if split else f"row {position}"
    if "id" in df.columns:
        where += f" (id={df['id'].iloc[position]})"
    return where


def check_vote(value, lf_name: str, cardinality: int, df, position: int, split) -> int:
    """``value`` as an int if it is -1 or a class index, else an LFError naming the row."""
    if type(value) is int and ABSTAIN <= value < cardinality:  # the common case, fast
        return value
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        if ABSTAIN <= value < cardinality:
            return int(value)
    raise LFError(
        f"LF '{lf_name}' returned {value!r} on {describe_row(df, position, split)}; "
        f"expected -1 (abstain) or a class index 0..{cardinality - 1}"
    )
