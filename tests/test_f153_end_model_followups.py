"""Follow-ups (f153): the label model's latency note, duplicate weak-weight candidates."""
import sys
from pathlib import Path

import numpy as np

from labeling.distill import _all_lfs_cost
from labeling.distill_output import source_line
from labeling.report import weight_rule_text

sys.path.insert(0, str(Path(__file__).parent))
from conftest import WEAK_DEV, WEAK_HAM, WEAK_SPAM, WEAK_Y_DEV  # noqa: E402


def _prompt(name, latency):
    return {"name": name, "latency_s": latency, "cost_per_1m_docs": 1.0, "estimated": False}


def test_label_model_latency_note_names_the_unmeasured_prompt_lfs():
    """It read 'not measured: a prompt LF's latency is not', a half sentence naming none."""
    rows = [_prompt("prompt LF ask_a", 0.2), _prompt("prompt LF ask_b", None)]
    cost = _all_lfs_cost(rows)
    assert cost["latency_s"] is None
    note = cost["latency_note"]
    assert note.startswith("not measured: ")
    assert "prompt LF ask_b has no measured latency" in note
    assert "ask_a" not in note
    line = source_line({"name": "majority vote", **cost})
    assert "prompt LF ask_b has no measured latency" in line
    both = _all_lfs_cost([_prompt("prompt LF ask_a", None), _prompt("prompt LF ask_b", None)])
    assert "prompt LF ask_a, prompt LF ask_b have no measured latency" in both["latency_note"]


def test_label_model_latency_note_when_every_prompt_lf_is_timed():
    cost = _all_lfs_cost([_prompt("prompt LF ask_a", 0.2), _prompt("prompt LF ask_b", 0.1)])
    assert abs(cost["latency_s"] - 0.3) < 1e-12
    assert cost["latency_note"].startswith("sum of the prompt LFs' per-call latency")


# 12 weak rows, 10 dev rows at dev weight 3 in 2 folds: a fold trains on 5 gold rows
# (weight 15), so weak weight 1 (15 >= 12) is capped at 1 per row in every fit
SPAM, HAM, DEV, Y_DEV = WEAK_SPAM, WEAK_HAM, WEAK_DEV, np.array(WEAK_Y_DEV)
PROBS = np.array([[0.2, 0.8]] * 6 + [[0.9, 0.1]] * 6)


def _choose(monkeypatch, n_weak=12, weak_weights=(0.0, 0.1, 0.3, 1.0, None)):
    import labeling.train.auto as auto

    asked = []
    real = auto.any_oof_probabilities

    def spy(*args):
        out, splits = real(*args)
        asked.extend(out)
        return out, splits

    monkeypatch.setattr(auto, "any_oof_probabilities", spy)
    reps = n_weak // 12
    _, report = auto.choose_end_model((SPAM + HAM) * reps, np.vstack([PROBS] * reps),
                                      np.ones(12 * reps, bool), DEV, Y_DEV,
                                      name="tfidf_logreg", n_folds=2, n_repeats=2,
                                      metric="f1", weak_weights=weak_weights)
    return report, asked


def test_a_weak_weight_the_same_fit_as_one_per_row_is_fit_and_scored_once(monkeypatch):
    """w1 capped at 1 per row is the same fit: the CV fitted both and printed
    '+0.000 over 1 per row (SE 0.000)'."""
    report, asked = _choose(monkeypatch)
    assert report.get("candidates_same_fit") == {"tfidf_logreg/soft": "tfidf_logreg/soft/w1"}
    assert "tfidf_logreg/soft" not in asked and asked.count("tfidf_logreg/soft/w1") == 1
    assert "tfidf_logreg/soft" not in report["cv_scores"]
    assert "tfidf_logreg/soft" not in report["weight_rule_cv"]["paired"]
    text = weight_rule_text(report)
    assert "over 1 per row" not in text
    if report["weight_rule_cv"]["best"].endswith("/w1"):
        assert "+0.000 over" not in text
    assert report["candidates"] == ["tfidf_logreg/gold_only", "tfidf_logreg/soft/w0.1",
                                    "tfidf_logreg/soft/w0.3", "tfidf_logreg/soft/w1"]


def test_distinct_weak_weights_are_all_scored(monkeypatch):
    """With 48 weak rows no weight reaches the cap in a fold: every candidate stays."""
    report, asked = _choose(monkeypatch, n_weak=48)
    assert "candidates_same_fit" not in report
    assert set(report["cv_scores"]) == {"tfidf_logreg/gold_only", "tfidf_logreg/soft/w0.1",
                                        "tfidf_logreg/soft/w0.3", "tfidf_logreg/soft/w1",
                                        "tfidf_logreg/soft"}


def test_same_fit_as_names_only_weights_capped_in_every_fold():
    from labeling.train.auto import same_fit_as

    keys = ["m/gold_only", "m/soft/w0.5", "m/soft/w2", "m/hard/w2", "m/soft", "m/hard"]
    y = np.array([0, 1] * 10)  # 2 folds of 10: a fold trains on 10 gold rows
    # dev weight 1: weight 10 per fold; 10 weak rows: w2 (20) and 1 per row coincide
    assert same_fit_as(keys, 10, y, 1.0, 2, 2, 0) == {"m/soft": "m/soft/w2",
                                                      "m/hard": "m/hard/w2"}
    assert same_fit_as(keys, 25, y, 1.0, 2, 2, 0) == {}  # 2 x 10 < 25: w2 is lighter
    assert same_fit_as(keys, 5, y, 1.0, 2, 2, 0) == {"m/soft/w2": "m/soft/w0.5",
                                                    "m/soft": "m/soft/w0.5",
                                                    "m/hard": "m/hard/w2"}
