"""benchmarks/learning_curve.py: every end model's dev CV gets the label model refit per
fold (#13), ``weak_only``'s too.

Without it, the weak-only model's CV trains on weak targets from a label model fit on
all of the budget's dev gold, the held-out fold's rows included (the leak
docs/gold_budget.md describes). Checked on a tiny synthetic task with the end-model
fits replaced by recorders (no embeddings, no test-split reading of real data).

The benchmark is taken from the tree of the ``labeling`` package imported, so running
this file against an old checkout checks that checkout's benchmark.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from labeling.train.fold_label_model import FoldLabelModel

sys.path.insert(0, str(Path(__file__).parent))
from conftest import load_benchmark  # noqa: E402


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("learning_curve")


def _split(rng, n, k=2, with_gold=True):
    y = rng.integers(0, k, n)
    L = np.full((n, 3), -1)
    for j, acc in enumerate((0.9, 0.8, 0.7)):
        fires = rng.random(n) < 0.7
        right = rng.random(n) < acc
        L[fires, j] = np.where(right[fires], y[fires], 1 - y[fires])
    return {"L": L, "y": y if with_gold else None, "text": [f"doc {i}" for i in range(n)]}


def test_every_end_model_cv_refits_the_label_model_per_fold(bench, monkeypatch):
    rng = np.random.default_rng(0)
    data = {"train": _split(rng, 300, with_gold=False), "valid": _split(rng, 60),
            "test": _split(rng, 30)}
    calls = []

    def fake_choose(train_texts, probs, covered, dev_texts, y_dev, **kwargs):
        calls.append(kwargs)
        return "model", {"name": "tfidf_logreg", "label_mode": "soft", "weak_weight": None}

    monkeypatch.setattr(bench, "choose_end_model", fake_choose)
    monkeypatch.setattr(bench, "gold_only_baseline", lambda *a, **kw: ("model", {}))
    monkeypatch.setattr(bench, "predict_proba_full",
                        lambda model, texts, k: np.eye(k)[np.zeros(len(texts), dtype=int)])
    idx = np.arange(0, 60, 2)  # the budget: 30 of dev's 60 rows
    scores, _ = bench.score_subsample(data, idx, 2, "accuracy", 0, None)

    assert set(scores) == set(bench.MODELS)
    weak = [c for c in calls if c.get("dev_weight") == 0.0]
    assert len(calls) == 2 and len(weak) == 1, calls  # default and weak_only
    for kwargs in calls:
        refit = kwargs.get("fold_label_model")
        assert isinstance(refit, FoldLabelModel), kwargs
        # refit on the budget's gold rows, in the order the CV indexes them
        np.testing.assert_array_equal(refit.y_dev, data["valid"]["y"][idx])
        np.testing.assert_array_equal(refit.L_dev, data["valid"]["L"][idx])
        np.testing.assert_array_equal(refit.L_train, data["train"]["L"])
