"""Lightweight rows for row-wise LFs.

snorkel's ``PandasLFApplier`` builds a pandas Series per row, which is ~95% of its
time. :class:`Row` is a ``SimpleNamespace`` (so snorkel's preprocessors, pickling and
memoization treat it as they treat any data point) that also supports ``x["col"]``
and ``x.get("col")``, so LFs written against Series rows keep working.
"""

from __future__ import annotations

import itertools
import keyword
from types import SimpleNamespace
from typing import Iterator

import pandas as pd


class Row(SimpleNamespace):
    """A data point: attribute access (``x.text``) and item access (``x["text"]``)."""

    def __getitem__(self, key):
        try:
            return getattr(self, key)
        except AttributeError:
            raise KeyError(key) from None

    def get(self, key, default=None):
        return getattr(self, key, default)

    def __contains__(self, key) -> bool:
        return hasattr(self, key)


def _row_factory(columns: list[str]):
    """A function ``(*values) -> Row``. For identifier column names it is generated
    code calling ``Row(name=value, ...)`` (as ``namedtuple`` generates its class):
    2.5x faster than building a dict per row, which matters at millions of rows."""
    plain = all(c.isidentifier() and not keyword.iskeyword(c) and not c.startswith("__")
                for c in columns)
    if plain and len(set(columns)) == len(columns):
        args = ", ".join(f"_{i}" for i in range(len(columns)))
        kwargs = ", ".join(f"{c}=_{i}" for i, c in enumerate(columns))
        return eval(f"lambda {args}: Row({kwargs})", {"Row": Row})  # noqa: S307 (names checked)

    def make(*values):
        row = Row.__new__(Row)
        row.__dict__.update(zip(columns, values))
        return row

    return make


def iter_rows(df: pd.DataFrame) -> Iterator[Row]:
    """Rows of ``df`` as :class:`Row`, values as Python/NumPy scalars (no Series)."""
    make = _row_factory([str(c) for c in df.columns])
    return itertools.starmap(make, zip(*(df[c].tolist() for c in df.columns)))
