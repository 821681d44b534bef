"""A user who upgraded: run folders and stores written by older versions are read
correctly or refused with one line saying what to run (found by the upgrade walkthrough,
with worktrees of older commits)."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from conftest import cli, one_error_line  # noqa: E402

from labeling import pipeline  # noqa: E402


def test_show_on_a_run_whose_annotations_record_predates_splits(make_task):
    """Runs before 2026-12-02 recorded the annotations they used as {id: label}; after
    the upgrade `labeling show` printed a ValueError traceback."""
    config = make_task(config={"label_model": {"name": "mv", "params": make_task.DELETE}})
    task = pipeline.load_task(config)
    pipeline.step_apply(task, progress=False)
    pipeline.step_fit(task)
    used = task.run_dir / "annotations_used.json"
    assert used.is_file()
    used.write_text(json.dumps({"dv0": 1}), encoding="utf-8")
    one_error_line(cli("show", "--config", config, "kw_spam"), "annotations_used.json",
                   "labeling apply")
