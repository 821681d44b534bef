"""What the app says to an annotator (helper f150, 2026-12-08): the Overview's gold
budget lines say what ``labeling run`` says, and plainly."""

from __future__ import annotations

from labeling.review import overview
from labeling.train.gold_budget import dev_cv_text, nested_end_cv
from labeling.train.learning_curve import labels_worth


def _metrics(gold_rows, pipe_rows) -> dict:
    curve = {"sizes": [20, 40, 80], "metric": "f1", "seeds": len(gold_rows),
             "scored_on": "rest of dev", "gold_only": gold_rows, "pipeline": pipe_rows}
    return {"end_model": {"cv": 0.9473, "cv_nested": {"end_model": 0.9426},
                          "label_mode": "soft"},
            "gold_only": {"cv": 0.9421, "metric": "f1", "n_dev": 264,
                          "text": "The LFs and the gold-only baseline tie (0.943 vs 0.942).",
                          "loud": False},
            "learning_curve": {"curve": curve, "worth": labels_worth(curve)}}


def test_the_overview_dev_cv_line_is_the_one_labeling_run_prints():
    """Before: 'end model 0.947' next to a verdict stating the nested 0.943, as if one
    number printed twice, differently (the CLI was fixed in f29c1cb, the app was not)."""
    metrics = _metrics([[0.9, 0.92, 0.93]] * 3, [[0.8, 0.85, 0.9]] * 3)
    line = overview.gold_budget(metrics)["cv_text"]
    end = metrics["end_model"]
    assert line == dev_cv_text("f1", end["cv"], 0.9421, 264, nested_end_cv(end)) + "."
    assert f"{end['cv_nested']['end_model']:.3f}" in line


def test_lfs_worth_nothing_is_said_plainly():
    """Before: 'worth about 0 hand labels (0 to 0 in 3 of 3 subsamples; gold-only alone
    was better in 3)'."""
    metrics = _metrics([[0.9, 0.92, 0.93]] * 3, [[0.8, 0.85, 0.9]] * 3)
    assert metrics["learning_curve"]["worth"]["labels"] == 0
    text = overview.gold_budget(metrics)["worth"]
    assert "added nothing over the dev labels alone" in text, text
    assert "as good or better in 3 of 3" in text and "0 to 0" not in text


def test_lfs_worth_labels_keep_the_curve_line():
    metrics = _metrics([[0.7, 0.8, 0.9]] * 3, [[0.85, 0.86, 0.87]] * 3)
    worth = metrics["learning_curve"]["worth"]
    assert worth["labels"] > 0
    assert overview.gold_budget(metrics)["worth"] == worth["text"]


def test_one_subsample_where_lfs_help_keeps_the_curve_line():
    metrics = _metrics([[0.9, 0.92, 0.93], [0.9, 0.92, 0.93], [0.7, 0.8, 0.9]],
                       [[0.8, 0.85, 0.9], [0.8, 0.85, 0.9], [0.85, 0.86, 0.87]])
    worth = metrics["learning_curve"]["worth"]
    assert worth["labels"] == 0 and worth["high"] > 0
    assert overview.gold_budget(metrics)["worth"] == worth["text"]
