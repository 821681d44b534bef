"""`labeling train` after an apply with no fit since, and `labeling export` after a fit
with no train since, stop with one line naming the step to run: before, train learned
from the old votes' probabilities and export wrote a card from the new fit next to the
old model."""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from conftest import cli, one_error_line  # noqa: E402


def older(path: Path, than: Path) -> None:
    """Date ``path`` a second before ``than``: written before it (as when ``than``'s step
    ran again; set explicitly, as two files written in a row can share a clock tick)."""
    earlier = than.stat().st_mtime_ns - 10**9
    os.utime(path, ns=(earlier, earlier))


def test_train_after_an_apply_with_no_fit_names_fit(make_task):
    config = make_task()
    assert cli("apply", config, "--no-progress").exit_code == 0
    assert cli("fit", config).exit_code == 0
    run = config.parent / "run"
    older(run / "probs.parquet", than=run / "L.parquet")  # as after a second apply
    one_error_line(cli("train", config), "probs.parquet: older than the last `labeling apply`",
                   "run `labeling fit` before `labeling train`")
    assert cli("fit", config).exit_code == 0  # the fix works
    assert cli("train", config).exit_code == 0, "train after the refit"


def test_export_after_a_fit_with_no_train_names_train(make_task, tmp_path):
    config = make_task()
    assert cli("run", config, "--no-progress").exit_code == 0
    run = config.parent / "run"
    older(run / "end_model.skops", than=run / "probs.parquet")  # as after a second fit
    one_error_line(cli("export", config, "--out", tmp_path / "m"),
                   "end_model.skops: older than the last `labeling fit`",
                   "run `labeling train` before `labeling export`")
    assert not (tmp_path / "m").exists()
