"""An LF that raised on one row says "1 row", not "1 rows", in `labeling apply`/`report`
(single-label) and in the multi-label summary (h121)."""

import json

import numpy as np

from labeling import multilabel_steps, report
from labeling.analysis import lf_summary


def test_single_label_fault_line_counts_one_row(tmp_path, capsys):
    L = np.array([[1, -1], [-1, 0], [0, -1]] * 10, dtype=np.int8)
    lf_summary(L, ["a", "b"], ["ham", "spam"], L[:20], np.zeros(20, int)).to_csv(
        tmp_path / "lf_summary.csv")
    lfs = {"fault_counts": {"a": 1, "b": 2}, "first_faults": {"a": "KeyError: 'x'",
                                                               "b": "ValueError: y"}}
    (tmp_path / "metrics.json").write_text(json.dumps({"lfs": lfs}), encoding="utf-8")
    report.console.cache_clear()
    try:
        report.print_lf_summary(tmp_path)
    finally:
        report.console.cache_clear()
    out = capsys.readouterr().out
    assert "faults: LF 'a' raised on 1 row; first: KeyError: 'x'" in out  # before: 1 rows
    assert "faults: LF 'b' raised on 2 rows; first: ValueError: y" in out


def test_multilabel_fault_line_counts_one_row():
    metrics = {"multi_label": {"faults": {"counts": {"a": 1, "b": 5},
                                          "first": {"a": "KeyError: 'x'", "b": "E"}}}}
    lines = [line for kind, line in multilabel_steps._warnings(metrics) if kind == "faults"]
    assert lines == ["LF 'a' raised on 1 row (abstained there); first: KeyError: 'x'",
                     "LF 'b' raised on 5 rows (abstained there); first: E"]
