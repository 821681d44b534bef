"""`labeling train` after an apply with no fit since, and `labeling export` after a fit
with no train since, stop with one line naming the step to run: before, train learned
from the old votes' probabilities and export wrote a card from the new fit next to the
old model.

Each step records the sha256 of the files it was made from (metrics.json's
``inputs_sha256``), and the order is checked by content: a copied or checked-out run
folder, whose files get new modification times in any order, is not refused, nor is a
fit after an apply that rewrote the same votes. A run without the record is checked by
modification time."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from conftest import cli, one_error_line, rerun  # noqa: E402


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
    rerun(run / "L.parquet")  # as after a second apply
    one_error_line(cli("train", config), "probs.parquet: older than the last `labeling apply`",
                   "run `labeling fit` before `labeling train`")
    assert cli("fit", config).exit_code == 0  # the fix works
    assert cli("train", config).exit_code == 0, "train after the refit"


def test_export_after_a_fit_with_no_train_names_train(make_task, tmp_path):
    config = make_task()
    assert cli("run", config, "--no-progress").exit_code == 0
    run = config.parent / "run"
    rerun(run / "probs.parquet")  # as after a second fit
    one_error_line(cli("export", config, "--out", tmp_path / "m"),
                   "end_model.skops: older than the last `labeling fit`",
                   "run `labeling train` before `labeling export`")
    assert not (tmp_path / "m").exists()


def _scramble_times(run: Path) -> None:
    """As `cp -r`, `git checkout` or a sync tool leave a run folder: each file dated
    when it was copied, in no pipeline order (here the reverse of it)."""
    names = ["model/model_card.json", "end_model.skops", "probs.parquet", "L.parquet"]
    for i, name in enumerate(names):
        if (run / name).is_file():
            os.utime(run / name, ns=(10**18 + i * 10**9,) * 2)


def test_a_copied_run_folder_with_new_times_is_not_refused(make_task, tmp_path):
    # before: the mtime check refused train, export and report on a copy of a good run
    config = make_task()
    assert cli("run", config, "--no-progress").exit_code == 0
    _scramble_times(config.parent / "run")
    assert cli("export", config, "--out", tmp_path / "m").exit_code == 0
    assert cli("report", config).exit_code == 0
    assert cli("train", config).exit_code == 0


def test_an_apply_that_rewrote_the_same_votes_keeps_the_fit(make_task):
    config = make_task()
    assert cli("apply", config, "--no-progress").exit_code == 0
    assert cli("fit", config).exit_code == 0
    votes = (config.parent / "run" / "L.parquet").read_bytes()
    assert cli("apply", config, "--no-progress").exit_code == 0  # the same LFs again
    assert (config.parent / "run" / "L.parquet").read_bytes() == votes
    assert cli("train", config).exit_code == 0


def test_a_run_without_the_record_is_checked_by_time(make_task):
    config = make_task()
    assert cli("apply", config, "--no-progress").exit_code == 0
    assert cli("fit", config).exit_code == 0
    run = config.parent / "run"
    metrics = json.loads((run / "metrics.json").read_text())
    del metrics["inputs_sha256"]  # as a run of a version before the record
    (run / "metrics.json").write_text(json.dumps(metrics))
    older(run / "probs.parquet", than=run / "L.parquet")
    one_error_line(cli("train", config), "probs.parquet: older than the last `labeling apply`")


def test_report_refuses_rows_from_steps_out_of_date(make_task):
    # before: the single-label report put a new fit's label model beside an end model
    # trained on the previous fit's probabilities, and an old export's end model beside a
    # new train's gold-only row, without a word (the multi-label report refused)
    config = make_task()
    assert cli("run", config, "--no-progress").exit_code == 0
    assert cli("report", config).exit_code == 0
    run = config.parent / "run"
    rerun(run / "probs.parquet")  # as after a second fit
    one_error_line(cli("report", config), "end_model.skops: older than the last `labeling fit`",
                   "run `labeling train` before `labeling report`")
    assert cli("run", config, "--no-progress").exit_code == 0
    rerun(run / "end_model.skops")  # a train, no export
    one_error_line(cli("report", config), "model_card.json: older than the last `labeling "
                   "train`", "run `labeling export` before `labeling report`")


def test_a_fit_while_train_reads_is_caught_by_the_next_step(make_task, tmp_path, monkeypatch):
    # before: train hashed probs.parquet when it ended, so a refit (the app, `labeling
    # dev`) landing while it trained was recorded as what it trained on; export passed
    from labeling import pipeline

    config = make_task()
    assert cli("apply", config, "--no-progress").exit_code == 0
    assert cli("fit", config).exit_code == 0
    run = config.parent / "run"
    real = pipeline.read_probs

    def read_then_refit(task, split="train"):
        frame = real(task, split)
        rerun(run / "probs.parquet")  # another process's fit, just after train read
        return frame

    monkeypatch.setattr(pipeline, "read_probs", read_then_refit)
    pipeline.step_train(pipeline.load_task(config))
    monkeypatch.undo()
    one_error_line(cli("export", config, "--out", tmp_path / "m"),
                   "end_model.skops: older than the last `labeling fit`")
