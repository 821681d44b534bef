"""Lightweight rows for row-wise LFs.

snorkel's ``PandasLFApplier`` builds a pandas Series per row, which is ~95% of its
time. :class:`Row` is a ``SimpleNamespace`` (so snorkel's preprocessors, pickling and
memoization treat it as they treat any data point) that also supports ``x["col"]``
and ``x.get("col")``, so LFs written against Series rows keep working.

Building a Row still costs ~3x what a short LF costs, so :func:`label_each` calls
each LF on one Row object refilled for each row, as long as the LF cannot tell: see
there. Each LF gets its own: what one LF does to its rows never reaches another.
"""

from __future__ import annotations

import functools
import itertools
import sys
import weakref
from types import SimpleNamespace
from typing import Callable

from labeling.lf.core import GOLD_COLUMN, GOLD_HIDDEN


class Row(SimpleNamespace):
    """A data point: attribute access (``x.text``) and item access (``x["text"]``)."""

    def __getattr__(self, name):  # only for a name the row lacks
        if name.startswith("__"):  # pickle, copy and friends probe for these
            raise AttributeError(name)
        if name == GOLD_COLUMN:
            raise AttributeError(f"x has no field {name!r}: {GOLD_HIDDEN}")
        raise AttributeError(f"x has no field {name!r} (fields: {', '.join(self.__dict__)})")

    def __getitem__(self, key):
        try:
            return getattr(self, key)
        except AttributeError:
            raise KeyError(key) from None

    def get(self, key, default=None):
        return getattr(self, key, default)

    def __contains__(self, key) -> bool:
        return hasattr(self, key)


# Generated per column list (as namedtuple generates its class): the columns are
# assigned by name in straight-line code, 2.5x faster than a dict or zip per row.
# Column names enter the code only as repr() string literals.
_TEMPLATE = '''
def make({args}):
    row = new(Row)
    d = row.__dict__
    {fill}
    return row

def label_each(call, values, out):
    append = out.append
    row = new(Row)
    d = row.__dict__
    row_refs, dict_refs = refcount(row), refcount(d)
    for {args}, in zip(*values):
        d.clear()
        {fill}
        append(call(row))
        if refcount(row) != row_refs or refcount(d) != dict_refs or weakrefs(row):
            row = new(Row)  # kept by the LF (or its dict is): the next row is a new one
            d = row.__dict__
'''


@functools.lru_cache(maxsize=64)
def _generated(columns: tuple[str, ...]) -> dict:
    args = ", ".join(f"_{i}" for i in range(len(columns))) or "_"
    fill = "; ".join(f"d[{c!r}] = _{i}" for i, c in enumerate(columns)) or "pass"
    namespace = {"Row": Row, "new": Row.__new__, "refcount": sys.getrefcount,
                 "weakrefs": weakref.getweakrefcount}
    exec(_TEMPLATE.format(args=args, fill=fill), namespace)  # noqa: S102 (names are literals)
    return namespace


def make_rows(columns: list[str], values: list[list]) -> list[Row]:
    """One :class:`Row` per row, from ``values`` (one list per column, Python/NumPy
    scalars as ``Series.tolist()`` gives them: no Series per row)."""
    return list(itertools.starmap(_generated(tuple(columns))["make"], zip(*values)))


def label_each(call: Callable, columns: list[str], values: list[list], out: list) -> None:
    """``out.extend(call(row) for row in make_rows(columns, values))``, without building
    a Row per row. (``out`` is the caller's, so another thread can see the progress.)

    One Row is refilled for each row: cleared, then the columns set in order, so the
    LF sees exactly what a new Row holds. It is replaced by a new one whenever the
    call leaves a reference to it or to its ``__dict__`` behind (a list, a closure, a
    memo, a traceback, a weakref): what an LF keeps is never changed afterwards. So
    no LF can tell the difference, except by ``id(x)``, which CPython reuses for
    short-lived objects anyway. (CPython's ``zip`` reuses its result tuple likewise.)
    One LF per call: rows shared across LFs would carry their mutations along.
    """
    _generated(tuple(columns))["label_each"](call, values, out)
