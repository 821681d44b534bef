"""`labeling dev` on a multi-label task: LF names printed as written, and with many LFs
a save shows only those it changed, as the single-label table does.

Before: ``Table.add_row("kw[billing]")`` took ``[billing]`` for a rich style tag and
printed ``kw``; and a task of hundreds of generated LFs reprinted every row on each save.
"""

import io

import numpy as np
import pandas as pd
from rich.console import Console

from labeling.dev_loop_multilabel import MANY_LFS, MultiLabelSnapshot, render

LABELS = ["billing", "bug"]


def _snapshot(names, coverage, applies, precision):
    n = len(names)
    lfs = pd.DataFrame({"label": [LABELS[i % 2] for i in range(n)], "coverage": coverage,
                        "dev_applies": applies, "dev_precision": precision,
                        "low": 0.1, "high": 0.9}, index=pd.Index(names, name="lf"))
    labels = pd.DataFrame({"lfs": [n // 2, n - n // 2], "dev_support": [5, 6],
                           "label_model_f1": [0.5, 0.6], "mv_f1": [0.4, 0.5],
                           "chosen": ["mv", "mv"]}, index=pd.Index(LABELS, name="label"))
    scores = {key: {"name": "mv", "macro_f1": 0.5, "micro_f1": 0.6}
              for key in ("label_model", "majority_vote")}
    return MultiLabelSnapshot(lfs, labels, scores, pd.Series(["bug"], index=["a"]))


def _render(current, previous):
    out = io.StringIO()
    render(current, previous, Console(file=out, width=220, color_system=None))
    return out.getvalue()


def test_lf_names_with_brackets_are_printed_as_written():
    first = _snapshot(["kw[billing]", "re[bug]"], [0.2, 0.3], [4, 0], [0.5, np.nan])
    assert " kw[billing] " in _render(first, None) and " re[bug] " in _render(first, None)
    gone = _snapshot(["kw[billing]"], [0.2], [4], [0.5])
    out = _render(gone, first)
    assert " re[bug] " in out and "removed" in out


def test_a_save_shows_the_lfs_it_changed_of_many():
    n = MANY_LFS + 60
    names = [f"kw[billing]_{i}" for i in range(n)]
    coverage, applies = np.full(n, 0.2), np.full(n, 10)
    precision = np.full(n, 0.5)
    precision[3] = np.nan  # no dev vote, before and after: not a change
    first = _snapshot(names, coverage, applies, precision)
    assert all(f" {name} " in _render(first, None) for name in names)  # the first: all

    coverage2, applies2, precision2 = coverage.copy(), applies.copy(), precision.copy()
    coverage2[7] += 20 / 50_000  # 20 more votes of 50k rows
    applies2[11] += 1
    precision2[11] = 0.45
    second = _snapshot(names[:-1] + ["kw_new"], coverage2, applies2, precision2)
    out = _render(second, first)
    shown = [name for name in names if f" {name} " in out]
    assert shown == ["kw[billing]_7", "kw[billing]_11", f"kw[billing]_{n - 1}"]  # last: gone
    assert "+4.0e-04" in out and "-0.050" in out and " kw_new " in out
    assert f"{n - 3} of {n} LFs unchanged since the last save, not shown" in out


def test_few_lfs_are_all_shown():
    names = [f"lf{i}" for i in range(10)]
    first = _snapshot(names, np.full(10, 0.2), np.full(10, 3), np.full(10, 0.5))
    out = _render(first, first)
    assert all(f" {name} " in out for name in names) and "not shown" not in out
