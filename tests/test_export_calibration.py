"""calibration_report: ECE, Brier and reliability bins, checked against hand computations."""

from __future__ import annotations

import numpy as np
import pytest

from labeling.export.calibration import calibration_markdown, calibration_report


def test_hand_computed_example():
    y = [0, 0, 1, 1]
    proba = [[0.95, 0.05], [0.85, 0.15], [0.15, 0.85], [0.6, 0.4]]
    r = calibration_report(y, proba, n_bins=10)
    # confidences .95 .85 .85 .6; correct 1 1 1 0
    assert r["n"] == 4 and r["accuracy"] == pytest.approx(0.75)
    assert r["mean_confidence"] == pytest.approx(0.8125)
    by_bin = {b["lower"]: b for b in r["bins"] if b["count"]}
    assert set(by_bin) == {0.6, 0.8, 0.9}
    assert by_bin[0.8]["count"] == 2 and by_bin[0.8]["accuracy"] == 1.0
    assert by_bin[0.8]["confidence"] == pytest.approx(0.85)
    assert by_bin[0.6]["accuracy"] == 0.0 and by_bin[0.6]["confidence"] == pytest.approx(0.6)
    # ECE = (1*|1-.95| + 2*|1-.85| + 1*|0-.6|) / 4
    assert r["ece"] == pytest.approx((0.05 + 0.3 + 0.6) / 4)
    # Brier = mean of sum_k (p_k - y_k)^2
    assert r["brier"] == pytest.approx((2 * 0.05**2 + 2 * 0.15**2 + 2 * 0.15**2 + 2 * 0.6**2) / 4)
    assert r["gap"] == pytest.approx(0.0625) and r["verdict"] == "over-confident"
    empty = [b for b in r["bins"] if not b["count"]]
    assert len(empty) == 7 and all(b["accuracy"] is None for b in empty)


def test_under_confident_and_confidence_one_in_last_bin():
    y = [1, 1, 0, 0]
    proba = [[0.4, 0.6], [0.0, 1.0], [0.6, 0.4], [0.6, 0.4]]
    r = calibration_report(y, proba, n_bins=5)
    assert r["accuracy"] == 1.0 and r["verdict"] == "under-confident" and r["gap"] < 0
    assert r["bins"][-1]["count"] == 1 and r["bins"][-1]["confidence"] == 1.0


def test_perfect_model_is_well_calibrated():
    r = calibration_report([0, 1, 2], np.eye(3))
    assert r["ece"] == 0 and r["brier"] == 0 and r["verdict"] == "well calibrated"


def test_empty_and_bad_shapes():
    assert calibration_report([], np.zeros((0, 2)))["verdict"] == "no rows"
    with pytest.raises(ValueError, match="proba must be"):
        calibration_report([0, 1], [0.2, 0.8])


def test_markdown_table_and_words():
    reports = {"dev": calibration_report([0, 0, 1, 1], [[0.95, 0.05], [0.85, 0.15],
                                                         [0.15, 0.85], [0.6, 0.4]])}
    lines = calibration_markdown(reports)
    r = reports["dev"]
    assert lines[0].startswith(f"- dev (4 rows): ECE {r['ece']:.3f}, Brier {r['brier']:.3f}")
    assert lines[0].endswith("**over-confident** by 0.062")
    assert "| 0.8-0.9 | 2 | 0.850 | 1.000 |" in lines
    assert not any(line.startswith("| 0.0-0.1") for line in lines)  # empty bins left out


def test_an_in_sample_split_gets_no_verdict():
    """The card called the end model 'under-confident by 0.095' on dev, the rows it was
    trained on (accuracy 1.000 there): an in-sample split is now marked and judged not."""
    y = np.array([0, 1, 0, 1])
    proba = np.array([[0.8, 0.2], [0.3, 0.7], [0.6, 0.4], [0.1, 0.9]])
    reports = {"dev": calibration_report(y, proba), "test": calibration_report(y, proba)}
    dev, test = calibration_markdown(reports, in_sample={"dev"})[:2]
    assert "in-sample" in dev and "confident" not in dev and "**" not in dev
    assert test.startswith("- test (4 rows)") and "**under-confident**" in test
