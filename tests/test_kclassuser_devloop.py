"""`labeling dev` on a k-class task without positive_label prints macro-F1 (and its
change) beside accuracy, as fit and run do; it printed accuracy only."""

import io

import pandas as pd
from rich.console import Console

from labeling.dev_loop import Snapshot, render

LFS = pd.DataFrame({"coverage": [0.1], "dev_accuracy": [0.9], "dev_accuracy_low": [0.8],
                    "dev_accuracy_high": [0.95]}, index=pd.Index(["kw_a"], name="lf"))


def _snapshot(macro_f1: float, f1: float | None = None) -> Snapshot:
    score = {"name": "mv", "accuracy": 0.7, "macro_f1": macro_f1}
    if f1 is not None:
        score["f1"] = f1
    return Snapshot(LFS, {"label_model": dict(score), "majority_vote": dict(score)})


def _render(current, previous=None) -> str:
    out = io.StringIO()
    render(current, previous, Console(file=out, width=200))
    return out.getvalue()


def test_k_class_dev_table_shows_macro_f1_and_its_change():
    out = _render(_snapshot(0.742), _snapshot(0.688))
    assert "label model (mv) on dev: accuracy 0.700, macro-F1 0.742" in out
    assert "[macro-F1 +0.054]" in out


def test_binary_dev_table_keeps_f1():
    out = _render(_snapshot(0.8, f1=0.75))
    assert "on dev: accuracy 0.700, f1 0.750" in out and "macro" not in out
