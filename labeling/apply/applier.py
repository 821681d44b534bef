"""Apply labeling functions to a DataFrame, giving the label matrix ``L``.

``L`` has one row per example and one column per LF (in the order given), holding a
class index or -1 for abstain, as int8 (int16 beyond 127 classes). Keyword and regex
LFs run over the whole column at once; other LFs are called on each row as snorkel's
``PandasLFApplier`` calls them (a pandas Series per row), so their results are the same.

An LF that raises stops the run with an :class:`LFError` naming the LF and the row,
unless ``fault_tolerant=True``: then it abstains there and the faults are counted.
An LF returning something other than -1 or a class index always stops the run.

>>> import pandas as pd
>>> from labeling.lf import keyword_lf, labeling_function
>>> @labeling_function()
... def short(x):
...     return 0 if len(x.text) < 10 else -1
>>> df = pd.DataFrame({"id": ["a", "b"], "text": ["nice", "subscribe to my channel"]})
>>> apply_lfs(df, [keyword_lf("subscribe", label=1), short], cardinality=2).tolist()
[[-1, 0], [1, -1]]
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from labeling.errors import LFError
from labeling.lf.core import ABSTAIN, PatternLF


def matrix_dtype(cardinality: int) -> np.dtype:
    return np.dtype(np.int8) if cardinality <= 127 else np.dtype(np.int16)


@dataclass
class FaultLog:
    """Per-LF count of rows where the LF raised, with the first error seen."""

    counts: dict[str, int] = field(default_factory=dict)
    first: dict[str, str] = field(default_factory=dict)

    def record(self, lf_name: str, where: str, exc: BaseException) -> None:
        self.counts[lf_name] = self.counts.get(lf_name, 0) + 1
        self.first.setdefault(lf_name, f"{where}: {type(exc).__name__}: {exc}")


def _describe_row(df: pd.DataFrame, position: int, split: str | None) -> str:
    where = f"{split} row {position}" if split else f"row {position}"
    if "id" in df.columns:
        where += f" (id={df['id'].iloc[position]})"
    return where


def _check_vote(value, lf_name: str, cardinality: int, df, position, split) -> int:
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        if ABSTAIN <= value < cardinality:
            return int(value)
    raise LFError(
        f"LF '{lf_name}' returned {value!r} on {_describe_row(df, position, split)}; "
        f"expected -1 (abstain) or a class index 0..{cardinality - 1}"
    )


def _is_vectorizable(lf) -> bool:
    return isinstance(lf, PatternLF) and not lf._pre


def _is_batch_lf(lf) -> bool:
    """LFs that label a whole DataFrame at once (prompt LFs: batched, asynchronous calls)."""
    return callable(getattr(lf, "apply_frame", None))


def apply_lfs(df: pd.DataFrame, lfs: list, cardinality: int, *, fault_tolerant: bool = False,
              faults: FaultLog | None = None, split: str | None = None,
              progress: bool = False) -> np.ndarray:
    """Label matrix of ``lfs`` over ``df`` (columns in ``lfs`` order).

    ``faults`` collects the fault counts in fault-tolerant mode; ``split`` only
    names the split in error messages.
    """
    names = [lf.name for lf in lfs]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise LFError(f"LF names must be unique; repeated: {', '.join(dupes)}")
    faults = faults if faults is not None else FaultLog()
    L = np.full((len(df), len(lfs)), ABSTAIN, dtype=matrix_dtype(cardinality))

    row_wise = []
    for j, lf in enumerate(lfs):
        if _is_vectorizable(lf):
            if lf.column not in df.columns:
                raise LFError(f"LF '{lf.name}' reads column '{lf.column}', which the data lacks")
            if not ABSTAIN <= lf.label < cardinality:
                raise LFError(f"LF '{lf.name}' votes {lf.label}, outside 0..{cardinality - 1}")
            L[:, j] = lf.apply_column(df[lf.column])
        elif _is_batch_lf(lf):
            votes = np.asarray(lf.apply_frame(df))
            for i in np.flatnonzero((votes < ABSTAIN) | (votes >= cardinality))[:1]:
                _check_vote(votes[i], lf.name, cardinality, df, int(i), split)
            L[:, j] = votes
        else:
            row_wise.append((j, lf))
    if not row_wise:
        return L

    positions = range(len(df))
    if progress:
        positions = tqdm(positions, desc=f"applying LFs{f' ({split})' if split else ''}",
                         unit="row", leave=False)
    for i in positions:
        row = df.iloc[i]
        for j, lf in row_wise:
            try:
                value = lf(row)
            except Exception as exc:  # an LF is user code: any exception is its fault
                where = _describe_row(df, i, split)
                if not fault_tolerant:
                    raise LFError(
                        f"LF '{lf.name}' raised {type(exc).__name__}: {exc} on {where}; "
                        "use --fault-tolerant to count such faults and abstain instead"
                    ) from exc
                faults.record(lf.name, where, exc)
                continue
            L[i, j] = _check_vote(value, lf.name, cardinality, df, i, split)
    return L
