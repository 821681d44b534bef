"""The run's weak-weight line names the CV candidates as it names the chosen weight
(h135). Before: `end model weak weight: 1 per row (rule best); on dev CV soft scored
best: ... +0.005 over soft/w1`, where "soft" was the 1-per-row weight and "soft/w1" a
weight of 1 as a share of the gold rows', which read as the same thing."""

from labeling.report import weight_rule_text


def _end(best, paired, weak_weight=None):
    return {"label_mode": "soft", "weak_weight": weak_weight, "weight_rule": "best",
            "weight_rule_cv": {"best": best, "n_se": 1.0, "paired": paired}}


def test_candidates_are_named_as_the_weight_is():
    end = _end("m/soft", {"m/gold_only": {"gain": 0.021, "se": 0.065},
                          "m/soft/w0.3": {"gain": 0.010, "se": 0.030},
                          "m/soft/w1": {"gain": 0.005, "se": 0.021},
                          "m/soft": {"gain": 0.0, "se": 0.0}})
    assert weight_rule_text(end) == (
        "end model weak weight: 1 per row (rule best); on dev CV 1 per row scored best: "
        "+0.021 over gold only (SE 0.065), +0.010 over 0.3 (SE 0.030), +0.005 over 1 "
        "(SE 0.021) (weights: the weak rows' total weight as a share of the gold rows')")


def test_models_and_modes_are_named_when_they_differ():
    end = _end("a/soft/w0.1", {"b/hard/w0.1": {"gain": 0.02, "se": 0.01},
                               "a/soft/w0.1": {"gain": 0.0, "se": 0.0}}, weak_weight=0.1)
    text = weight_rule_text(end)
    assert "on dev CV a 0.1 scored best: +0.020 over b 0.1 (hard) (SE 0.010)" in text
