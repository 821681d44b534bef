"""`labeling dev` on a task of hundreds of generated LFs: after the first table, a save
shows the LFs it changed (a few votes on 50k rows included) and says how many it left
out; LF names are printed as written."""

import io

import numpy as np
import pandas as pd
from rich.console import Console

from labeling.dev_loop import MANY_LFS, Snapshot, render


def _snapshot(coverage, correct, names):
    total = np.full(len(names), 40)
    lfs = pd.DataFrame({"coverage": coverage, "dev_accuracy": correct / total,
                        "dev_accuracy_low": 0.1, "dev_accuracy_high": 0.9,
                        "dev_correct": correct, "dev_incorrect": total - correct},
                       index=pd.Index(names, name="lf"))
    scores = {"label_model": {"accuracy": 0.8}, "majority_vote": {"accuracy": 0.7}}
    return Snapshot(lfs, scores, pd.Series([0, 1], index=["a", "b"]))


def _render(current, previous):
    out = io.StringIO()
    render(current, previous, Console(file=out, width=200, color_system=None))
    return out.getvalue()


def test_a_save_shows_the_lfs_it_changed_of_many():
    n = MANY_LFS + 260
    names = [f"kw[spam]_{i}" for i in range(n)]
    coverage, correct = np.full(n, 0.2), np.full(n, 30)
    first = _snapshot(coverage, correct, names)
    assert all(name in _render(first, None) for name in names)  # the first table: all

    coverage2, correct2 = coverage.copy(), correct.copy()
    coverage2[7] += 20 / 50_000     # 20 more votes of 50k rows
    correct2[11] -= 1               # one dev vote now wrong
    second = _snapshot(coverage2, correct2, names[:-1] + ["kw_new"])
    out = _render(second, first)
    shown = [name for name in names if f" {name} " in out]
    assert shown == ["kw[spam]_7", "kw[spam]_11", f"kw[spam]_{n - 1}"]  # the last: removed
    assert "+4.0e-04" in out and "-0.025" in out
    assert " kw_new " in out and "removed" in out
    assert f"{n - 3} of {n} LFs unchanged since the last save, not shown" in out


def test_few_lfs_are_all_shown():
    names = [f"lf{i}" for i in range(10)]
    first = _snapshot(np.full(10, 0.2), np.full(10, 30), names)
    out = _render(first, first)
    assert all(f" {name} " in out for name in names) and "not shown" not in out
