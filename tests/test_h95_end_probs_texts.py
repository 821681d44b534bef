"""The app's stored end-model predictions after a weekly data refresh that edited a
row's text under the same id (then apply and fit, no train yet): before, the ids
matched and the app showed the old text's prediction beside the new text."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from conftest import DEFAULT_LFS, default_config, default_frames, write_task  # noqa: E402

from labeling import pipeline  # noqa: E402
from labeling.artifacts import read_end_probs  # noqa: E402


def test_stored_predictions_of_an_edited_text_are_not_shown(tmp_path):
    config = write_task(tmp_path / "task", default_frames(), DEFAULT_LFS,
                        default_config() | {"label_model": {"name": "mv"}})
    task = pipeline.load_task(config)
    pipeline.run(task, progress=False)
    labels = task.config.labels
    frames = {s: df for s, df in task.splits.items() if df is not None}
    assert read_end_probs(task.run_dir, labels, frames) is not None  # the data as trained

    edited = frames["test"].copy()
    edited.loc[0, "text"] = "a completely different comment"  # same id, new text
    assert read_end_probs(task.run_dir, labels, frames | {"test": edited}) is None
