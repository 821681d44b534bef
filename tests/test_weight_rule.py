"""The end model's weak-weight rule: ``best`` CV score, or ``one_se`` (the lightest
candidate within one standard error of the best, from paired per-fold differences)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from labeling import pipeline
from labeling.metrics import score_predictions, stratified_folds
from labeling.report import print_gold_budget, weight_rule_text
from labeling.train.auto import (choose_end_model, end_model_options, lightest_within_se,
                                 paired_gains)
from labeling.train.cross_validation import fold_scores, oof_predictions, oof_score

sys.path.insert(0, str(Path(__file__).parent))
from conftest import WEAK_DEV, WEAK_HAM, WEAK_SPAM, WEAK_Y_DEV  # noqa: E402

GOLD, W01, W1 = "m/gold_only", "m/soft/w0.1", "m/soft/w1"
N_FOLDS = 3


def _rule(scores, per_fold):
    """What the one-SE rule picks from these CV scores, with the best-scoring as ``b``."""
    best = max(scores, key=scores.get)
    paired = paired_gains(scores, per_fold, best, N_FOLDS)
    return lightest_within_se(paired, scores, best), paired


def test_a_gain_within_its_noise_keeps_the_lighter_candidate():
    # w1 beats gold-only by 0.04 on average, but fold by fold the difference swings
    # between -0.2 and +0.3: its SE (0.104) is larger than the gain.
    gold = np.full((3, 3), 0.8)
    w1 = gold + np.array([[0.3, -0.2, 0.1], [-0.1, 0.2, -0.2], [0.2, -0.1, 0.16]])
    scores = {GOLD: 0.80, W1: 0.84}
    choice, paired = _rule(scores, {GOLD: gold, W1: w1})
    assert choice == GOLD
    assert paired[GOLD]["gain"] == pytest.approx(0.04)
    # SE over sqrt(n_folds), not sqrt(repeats x folds): the repeats reuse the same rows
    assert paired[GOLD]["se"] == pytest.approx(np.std(w1 - gold, ddof=1) / np.sqrt(3), abs=1e-4)
    assert paired[W1] == {"gain": 0.0, "se": 0.0}


def test_a_clear_gain_moves_off_gold_only():
    gold = np.array([[0.70, 0.80, 0.75], [0.72, 0.78, 0.74], [0.71, 0.79, 0.76]])
    w1 = gold + np.array([[0.11, 0.09, 0.10], [0.10, 0.12, 0.08], [0.09, 0.10, 0.11]])
    scores = {GOLD: 0.75, W1: 0.85}
    choice, paired = _rule(scores, {GOLD: gold, W1: w1})
    assert choice == W1 and paired[GOLD]["gain"] > paired[GOLD]["se"] > 0


def test_the_lightest_weak_weight_within_noise_of_the_best_is_taken():
    rng = np.random.default_rng(0)
    gold = np.full((3, 3), 0.7)
    w01 = 0.88 + rng.normal(0, 0.05, (3, 3))  # 0.02 under w1, noisy: within 1 SE
    w1 = np.full((3, 3), 0.9)
    scores = {GOLD: 0.70, W01: float(w01.mean()), W1: 0.90}
    assert _rule(scores, {GOLD: gold, W01: w01, W1: w1})[0] == W01


def test_a_candidate_scoring_below_gold_only_is_never_taken():
    # w0.1 is within its (huge) SE of w1 but scores under gold-only: not taken.
    gold = np.full((3, 3), 0.80)
    w01 = np.array([[0.2, 1.0, 0.6]] * 3)
    w1 = np.full((3, 3), 0.86)
    scores = {GOLD: 0.80, W01: 0.60, W1: 0.86}
    assert _rule(scores, {GOLD: gold, W01: w01, W1: w1})[0] == W1


def test_fold_scores_are_the_folds_of_the_pooled_oof_decisions():
    rng = np.random.default_rng(1)
    y = np.array([0, 1] * 15)
    oofs = [rng.dirichlet([1, 1], 30) for _ in range(2)]
    splits = [stratified_folds(y, 3, s) for s in range(2)]
    per_fold = fold_scores(oofs, splits, y, "accuracy")
    assert per_fold.shape == (2, 3)
    pooled = [np.average(per_fold[r], weights=np.bincount(splits[r])) for r in range(2)]
    assert np.mean(pooled) == pytest.approx(oof_score(oofs, splits, y, "accuracy"))
    # F1 with the nested decision bias: each fold scored on the decisions oof_score uses
    f1 = fold_scores(oofs, splits, y, "f1", 1, bias=True)
    assert f1.shape == (2, 3) and np.all((f1 >= 0) & (f1 <= 1))
    pred = oof_predictions(oofs[0], splits[0], y, "f1", 1, bias=True)
    for f in range(3):
        fold = splits[0] == f
        assert f1[0, f] == score_predictions(y[fold], pred[fold], "f1", 1)


SPAM, HAM, DEV, Y_DEV = WEAK_SPAM, WEAK_HAM, WEAK_DEV, np.array(WEAK_Y_DEV)
PROBS = np.array([[0.2, 0.8]] * 6 + [[0.9, 0.1]] * 6)


def _choose(rule):
    return choose_end_model(SPAM + HAM, PROBS, np.ones(12, bool), DEV, Y_DEV,
                            name="tfidf_logreg", n_folds=2, n_repeats=2, metric="f1",
                            weight_rule=rule)


def test_the_report_records_the_rule_and_the_paired_gains_it_saw():
    _, best = _choose("best")
    _, one_se = _choose("one_se")
    for report, rule in ((best, "best"), (one_se, "one_se")):
        assert report["weight_rule"] == rule
        cv = report["weight_rule_cv"]
        assert cv["n_se"] == 1.0 and set(cv["paired"]) == set(report["cv_scores"])
        assert all(set(p) == {"gain", "se"} for p in cv["paired"].values())
    assert best["weight_rule_cv"] == one_se["weight_rule_cv"]  # the same CV
    # here gold-only's CV deficit (0.115) is inside its noise (SE 0.15): one_se keeps it
    cv = one_se["weight_rule_cv"]
    gold = cv["paired"]["tfidf_logreg/gold_only"]
    assert 0 < gold["gain"] <= gold["se"]
    assert (best["label_mode"], best["weak_weight"]) == ("soft", 0.1)
    assert (one_se["label_mode"], one_se["weak_weight"]) == ("gold_only", 0.0)


def test_a_bad_weight_rule_is_a_one_line_error():
    with pytest.raises(ValueError, match=r"weight_rule must be one of best, one_se, got 'se1'"):
        _choose("se1")
    with pytest.raises(ValueError, match="weight_rule"):
        end_model_options("auto", {"weight_rule": "one-se"})
    assert end_model_options("auto", {"weight_rule": "one_se"})["weight_rule"] == "one_se"


@pytest.mark.parametrize("rule", ["one_se", "nope"])
def test_metrics_json_and_labeling_report_carry_the_rule(make_task, capsys, rule):
    config = make_task(config={"end_model": {"name": "tfidf_logreg", "params": {
        "n_folds": 2, "n_repeats": 2, "weight_rule": rule}}})
    task = pipeline.load_task(config)
    pipeline.step_apply(task, progress=False)
    pipeline.step_fit(task)
    if rule == "nope":
        with pytest.raises(pipeline.LabelingError, match="weight_rule") as err:
            pipeline.step_train(task)
        assert "\n" not in str(err.value)
        return
    pipeline.step_train(task)
    report = json.loads((task.run_dir / "metrics.json").read_text())["end_model"]
    assert report["weight_rule"] == "one_se"
    assert set(report["weight_rule_cv"]) == {"best", "n_se", "paired", "fold_scores"}
    capsys.readouterr()
    print_gold_budget(json.loads((task.run_dir / "metrics.json").read_text()))
    assert "(rule one_se); on dev CV " in capsys.readouterr().out


def test_labeling_report_names_the_rule_and_its_gains():
    end = {"label_mode": "gold_only", "weak_weight": 0.0, "weight_rule": "one_se",
           "weight_rule_cv": {"best": "m/soft/w1", "n_se": 1.0, "paired": {
               "m/gold_only": {"gain": 0.04, "se": 0.1}, "m/soft/w1": {"gain": 0.0, "se": 0.0}}}}
    assert weight_rule_text(end) == (
        "end model weak weight: gold only (rule one_se); on dev CV 1 scored best: +0.040 over "
        "gold only (SE 0.100) (weights: the weak rows' total weight as a share of the gold "
        "rows')")
