"""An LF that never votes on dev has no measured dev accuracy: the `labeling apply` and
`labeling dev` tables print ``-`` for it, not the 0.000 stored in lf_summary.csv (snorkel's
convention), which read as "always wrong" (found by the docs audit)."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from conftest import DEFAULT_LFS, cli  # noqa: E402

from rich.console import Console  # noqa: E402

from labeling.dev_loop import Snapshot, render  # noqa: E402

SHOUTING = DEFAULT_LFS + '''

@labeling_function()
def shouting(x):  # the tiny task's upper-case texts are train rows only
    return SPAM if x.text.isupper() else ABSTAIN
'''


def _row(output: str, lf: str) -> list[str]:
    line = next(line for line in output.splitlines() if f" {lf} " in line)
    return [cell.strip() for cell in line.replace("│", "|").split("|")[1:-1]]


def test_the_apply_table_prints_a_dash_for_an_lf_with_no_dev_vote(make_task, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    config = make_task(lf_source=SHOUTING)
    result = cli("apply", config, "--no-progress")
    assert result.exit_code == 0, result.output
    summary = pd.read_csv(config.parent / "run" / "lf_summary.csv", index_col="lf")
    assert summary.loc["shouting", "coverage"] > 0
    assert summary.loc["shouting", ["dev_correct", "dev_incorrect"]].sum() == 0
    assert summary.loc["shouting", "dev_accuracy"] == 0  # stored as snorkel does
    cells = _row(result.output, "shouting")
    assert cells[-3 if "faults" in result.output else -2] == "-", result.output  # dev acc
    assert "0.000" not in cells[4:], result.output
    voting = _row(result.output, "kw_spam")  # an LF with dev votes keeps its figure
    assert any(c.replace(".", "").isdigit() and "." in c for c in voting[4:]), result.output


def test_the_dev_loop_table_prints_a_dash_for_an_lf_with_no_dev_vote():
    lfs = pd.DataFrame({"coverage": [0.2, 0.3], "dev_accuracy": [0.0, 0.75],
                        "dev_accuracy_low": [float("nan"), 0.4],
                        "dev_accuracy_high": [float("nan"), 0.9],
                        "dev_correct": [0, 3], "dev_incorrect": [0, 1]},
                       index=pd.Index(["silent_on_dev", "voting"], name="lf"))
    scores = {"label_model": {"accuracy": 0.8}, "majority_vote": {"accuracy": 0.7}}
    console = Console(record=True, width=160)
    render(Snapshot(lfs, scores), Snapshot(lfs, scores), console)
    out = console.export_text()
    silent, voting = _row(out, "silent_on_dev"), _row(out, "voting")
    assert silent[3] == "-" and "0.000" not in silent, out  # dev acc
    assert voting[3] == "0.750", out


def test_the_dev_loop_marks_a_label_model_fit_on_dev_as_in_sample():
    # before: `labeling dev` printed a weighted vote's dev accuracy plain, while `labeling
    # fit` and `run` star it: it learned from those rows
    lfs = pd.DataFrame({"coverage": [0.2]}, index=pd.Index(["lf"], name="lf"))
    scores = {"label_model": {"accuracy": 0.9, "name": "weighted_vote", "in_sample": True,
                              "cv": 0.85},
              "majority_vote": {"accuracy": 0.7, "name": "majority_vote"}}
    console = Console(record=True, width=160)
    render(Snapshot(lfs, scores), None, console)
    out = console.export_text()
    assert "label model (weighted_vote) on dev (in-sample: fit on these labels): " \
           "accuracy 0.900, cv 0.850" in out, out
    assert "majority vote (majority_vote) on dev: accuracy 0.700" in out, out
