"""Lightweight rows for row-wise LFs.

snorkel's ``PandasLFApplier`` builds a pandas Series per row, which is ~95% of its
time. :class:`Row` is a ``SimpleNamespace`` (so snorkel's preprocessors, pickling and
memoization treat it as they treat any data point) that also supports ``x["col"]``
and ``x.get("col")``, so LFs written against Series rows keep working.
"""

from __future__ import annotations

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


def iter_rows(df: pd.DataFrame) -> Iterator[Row]:
    """Rows of ``df`` as :class:`Row`, values as Python/NumPy scalars (no Series)."""
    columns = [str(c) for c in df.columns]
    for values in zip(*(df[c].tolist() for c in df.columns)):
        yield Row(**dict(zip(columns, values)))
