"""`labeling train` stores the end model's predictions; the app shows them, and predicts
again only when they are missing or do not match the run's data (issue 14: the app's
first page took 60-140 s on 5-7k rows, predicting every row with MiniLM embeddings)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from labeling.artifacts import END_PROBS_FILE, read_end_probs
from labeling.review.end_model import all_predictions, load_end_model, predict
from labeling.review.project import load_run
from labeling.review.sample import ensure_sample_run

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    project = ensure_sample_run(REPO_ROOT / "labeling.toml",
                                tmp_path_factory.mktemp("end_probs") / "sample")
    return load_run(project)


def refuse():
    raise AssertionError("the app loaded the end model although predictions were stored")


def test_train_stores_every_splits_predictions_equal_to_the_models(run):
    assert (run.run_dir / END_PROBS_FILE).is_file()
    stored = read_end_probs(run.run_dir, run.labels, run.frames)
    assert stored is not None and set(stored) == {"train", "dev", "test"}
    model = load_end_model(run.run_dir)
    for split in run.splits:
        assert stored[split].shape == (len(run.frames[split]), len(run.labels))
        # MiniLM vectors differ by ~1e-7 between batchings; the model is the same
        np.testing.assert_allclose(stored[split], predict(model, run, split), atol=1e-5)


def test_the_app_reads_stored_predictions_without_loading_the_model(run):
    shown = all_predictions(run, refuse)
    np.testing.assert_array_equal(shown["test"],
                                  read_end_probs(run.run_dir, run.labels, run.frames)["test"])


def test_predictions_that_do_not_match_the_data_are_not_shown(run):
    frames = dict(run.frames)
    frames["train"] = frames["train"].iloc[1:]  # the data changed since the run
    changed = dataclasses.replace(run, frames=frames)
    assert read_end_probs(run.run_dir, run.labels, frames) is None
    loaded = []
    shown = all_predictions(changed, lambda: loaded.append(1) or load_end_model(run.run_dir))
    assert loaded and len(shown["train"]) == len(frames["train"])
    relabeled = dataclasses.replace(run, config=run.config.model_copy(
        update={"labels": list(reversed(run.labels))}))
    assert read_end_probs(run.run_dir, relabeled.labels, run.frames) is None


def test_a_run_without_stored_predictions_still_shows_them(run, tmp_path):
    path = run.run_dir / END_PROBS_FILE
    moved = tmp_path / END_PROBS_FILE
    path.rename(moved)
    try:
        shown = all_predictions(run)
    finally:
        moved.rename(path)
    np.testing.assert_allclose(shown["dev"], read_end_probs(run.run_dir, run.labels,
                                                            run.frames)["dev"], atol=1e-5)
