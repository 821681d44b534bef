"""Audit of "the pipeline beats the gold-only baseline on dev CV by X (paired SE Y)".

The end model's ``cv`` is the pooled CV score of the candidate (weak weight) ``auto``
chose as the best of several on the very out-of-fold rows that score it: as an estimate
of the pipeline's lead over gold-only it is optimistic by that selection (with five
candidates within noise of each other, the best of them leads by about one SE even when
none is better). The verdict now rests on the nested estimate: each held-out fold is
scored with the candidate chosen on the other folds of its repeat.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from labeling.metrics import stratified_folds
from labeling.train.auto import choose_end_model
from labeling.train.cross_validation import nested_choice
from labeling.train.gold_budget import verdict

sys.path.insert(0, str(Path(__file__).parent))
from conftest import WEAK_DEV, WEAK_HAM, WEAK_SPAM, WEAK_Y_DEV  # noqa: E402


def test_nested_choice_never_lets_the_scored_fold_pick_its_candidate():
    y = np.array([0, 1] * 6)
    fold_of = stratified_folds(y, 3, 0)
    # candidate "f<i>" is right on fold i only, wrong elsewhere: each looks best on the
    # fold it is scored on, and each is worthless on any other
    oofs = {}
    for i in range(3):
        right = np.eye(2)[y]
        proba = np.where((fold_of == i)[:, None], right, 1 - right)
        oofs[f"f{i}"] = [proba]
    pooled = max(np.mean(oofs[key][0].argmax(1) == y) for key in oofs)
    assert pooled == 1 / 3

    def first_best(scores):
        return max(scores, key=scores.get)

    nested = nested_choice(oofs, [fold_of], y, first_best)
    assert nested["cv"] == 0.0  # the candidate chosen elsewhere is wrong on the held fold
    assert all(key != f"f{f}" for f, key in enumerate(nested["choices"][0]))
    assert nested["fold_scores"].shape == (1, 3)


def test_auto_reports_the_nested_lead_and_the_verdict_uses_it():
    texts = WEAK_SPAM + WEAK_HAM
    probs = np.array([[0.2, 0.8]] * 6 + [[0.9, 0.1]] * 6)
    _, report = choose_end_model(texts, probs, np.ones(12, bool), WEAK_DEV,
                                 np.array(WEAK_Y_DEV), name="tfidf_logreg", n_folds=2,
                                 n_repeats=2, weak_weights=(0.0, 0.3, 1.0, None))
    nested = report["cv_nested"]
    assert nested["gold_only"] == report["gold_only"]["cv"]  # one gold-only candidate
    assert set(sum(nested["choices"], [])) <= set(report["cv_scores"])
    assert np.asarray(nested["fold_scores"]["end_model"]).shape == (2, 2)
    assert nested["gain"] == round(nested["end_model"] - nested["gold_only"], 4)
    # the per-fold scores behind every paired SE are in metrics.json, to check by hand
    assert set(report["weight_rule_cv"]["fold_scores"]) == set(report["cv_scores"])

    pipeline = {"cv": 0.952, "label_mode": "soft", "metric": "f1", "weight_rule": "best",
                "weight_rule_cv": {"paired": {"m/gold_only": {"gain": 0.010, "se": 0.012}}},
                "cv_nested": {"end_model": 0.9421, "gold_only": 0.9421, "gain": 0.0,
                              "se": 0.01}}
    out = verdict(pipeline, 0.942, 264)
    assert out["verdict"] == "tie", out  # the +0.010 was the selection's, not the LFs'
    assert "chosen weight's own CV lead, picked on these folds: +0.010" in out["text"]
    pipeline["cv_nested"] = {"end_model": 0.935, "gold_only": 0.9421, "gain": -0.007,
                             "se": 0.01}
    assert verdict(pipeline, 0.942, 264)["verdict"] == "gold_only_ahead"
    pipeline["cv_nested"] = {"end_model": 0.9551, "gold_only": 0.9421, "gain": 0.013,
                             "se": 0.0107}
    assert verdict(pipeline, 0.942, 264)["text"].startswith(
        "the pipeline beats the gold-only baseline on dev CV by +0.013 f1 (paired SE 0.011)")


def test_a_lead_that_prints_as_zero_is_a_tie():
    """The bundled run printed 'the pipeline beats the gold-only baseline on dev CV by
    +0.000 f1' for a nested lead of 0.0005 (0.9426 vs 0.9421)."""
    pipeline = {"cv": 0.9473, "label_mode": "soft", "metric": "f1", "weight_rule": "best",
                "cv_nested": {"end_model": 0.9426, "gold_only": 0.9421, "gain": 0.0005,
                              "se": 0.0191}}
    out = verdict(pipeline, 0.9421, 264)
    assert out["verdict"] == "tie" and "+0.000" not in out["text"], out
    assert out["text"].startswith("the pipeline only ties the gold-only baseline on dev CV "
                                  "(0.943 vs 0.942 f1)")  # both numbers, not one
    assert verdict({"cv": 0.9417, "label_mode": "soft", "metric": "f1"}, 0.9421,
                   264)["verdict"] == "tie"
