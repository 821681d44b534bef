"""Label-model fits are reused when nothing they depend on changed, and only then."""

from __future__ import annotations

import json

import numpy as np

from labeling import pipeline
from labeling.models.base import LabelModel
from labeling.models.fit_cache import fit_cached, fit_key
from labeling.models.weighted_vote import WeightedVote


def _count_fits(monkeypatch) -> list:
    fits = []
    original = WeightedVote.fit

    def counting(self, *args, **kwargs):
        fits.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(WeightedVote, "fit", counting)
    return fits


def test_a_second_fit_step_reuses_the_fit_and_gives_the_same_labels(make_task, monkeypatch):
    fits = _count_fits(monkeypatch)
    task = pipeline.load_task(make_task(config={"label_model": {"name": "weighted_vote",
                                                                 "params": make_task.DELETE}}))
    pipeline.step_apply(task, progress=False)
    first = pipeline.step_fit(task)
    probs = pipeline.read_probs(task, "train")
    second = pipeline.step_fit(task)
    assert len(fits) == 1
    assert json.dumps(first["label_model"], sort_keys=True) == \
        json.dumps(second["label_model"], sort_keys=True)
    assert probs.equals(pipeline.read_probs(task, "train"))


def test_any_change_to_votes_gold_or_params_is_a_miss(tmp_path):
    L = np.array([[1, 0], [0, -1], [1, 1], [0, 0]])
    y = np.array([1, 0, 1, 0])
    model = WeightedVote(cardinality=2)
    base = fit_key(model, L, y, L)
    changed_vote = L.copy()
    changed_vote[1, 1] = 0
    assert fit_key(model, changed_vote, y, L) != base
    assert fit_key(model, L, y[::-1], L) != base
    assert fit_key(model, L, None, None) != base
    assert fit_key(WeightedVote(cardinality=2, strength=2.0), L, y, L) != base


def test_an_unreadable_cache_file_is_a_miss(tmp_path):
    L = np.array([[1, 0], [0, -1], [1, 1], [0, 0]])
    y = np.array([1, 0, 1, 0])
    model = WeightedVote(cardinality=2)
    (tmp_path / f"{fit_key(model, L, y, L)}.json").write_text("{not json", encoding="utf-8")
    fitted = fit_cached(model, L, y, L, tmp_path)
    assert isinstance(fitted, LabelModel) and hasattr(fitted, "class_balance_")
