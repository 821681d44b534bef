"""The leakage report (dev/test rows also in an earlier split) is computed once per data:
an apply on unchanged splits, as every save in `labeling dev` makes, reuses the one
recorded in metrics.json (before, a single-label apply recomputed it every time: ~2 s
on 74k train rows, inside each turn of the LF loop); a change to any split's ids or
texts recomputes it."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))

from labeling import artifacts  # noqa: E402
from labeling.artifacts import read_metrics  # noqa: E402
from labeling.session import Session  # noqa: E402


def _counting(monkeypatch) -> list:
    calls = []
    real = artifacts.leakage_report

    def counted(splits):
        calls.append(1)
        return real(splits)

    monkeypatch.setattr(artifacts, "leakage_report", counted)
    return calls


def test_an_apply_on_unchanged_data_reuses_the_recorded_report(make_task, monkeypatch):
    config = make_task()  # the tiny task's dev texts are all train texts too
    calls = _counting(monkeypatch)

    Session(config).apply()
    first = read_metrics(config.parent / "run")["leakage"]
    assert len(calls) == 1 and first["pairs"]["train/dev"]["shared_texts"] > 0
    assert first["warnings"]

    Session(config).apply(lfs=["kw_ham"])  # an LF edited: same data
    assert len(calls) == 1
    assert read_metrics(config.parent / "run")["leakage"] == first


def test_a_changed_text_recomputes_it(make_task, monkeypatch):
    config = make_task()
    calls = _counting(monkeypatch)
    Session(config).apply()
    before = read_metrics(config.parent / "run")["leakage"]["pairs"]["train/dev"]

    dev = pd.read_csv(config.parent / "dev.csv")
    dev.loc[0, "text"] = "a text written after the first apply, in no other split"
    dev.to_csv(config.parent / "dev.csv", index=False)
    Session(config).apply()
    assert len(calls) == 2
    after = read_metrics(config.parent / "run")["leakage"]["pairs"]["train/dev"]
    assert after["shared_texts"] == before["shared_texts"] - 1
