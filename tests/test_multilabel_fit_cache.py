"""Per-label label-model fits kept on disk (``PerLabelModel(cache_dir=...)``): a hit gives
the same model as a refit, and a changed vote refits only the label its LF targets."""

from __future__ import annotations

import numpy as np
import pytest

from labeling.models import make, multilabel
from labeling.models.fit_cache import fit_cached
from labeling.models.multilabel import PerLabelModel

K, TARGETS = 3, [0, 0, 1, 1]  # label 2: no LF targets it (its dev prevalence)


def _data(seed: int = 0):
    rng = np.random.default_rng(seed)
    Y = (rng.random((120, K)) < 0.4).astype(np.int8)

    def votes(Y_rows):
        L = np.full((len(Y_rows), len(TARGETS)), -1)
        for j, c in enumerate(TARGETS):
            fires = rng.random(len(Y_rows)) < 0.6
            right = rng.random(len(Y_rows)) < 0.8
            L[fires, j] = np.where(right[fires], Y_rows[fires, c], 1 - Y_rows[fires, c])
        return L

    L_train = votes((rng.random((300, K)) < 0.4).astype(np.int8))
    return L_train, Y, votes(Y)


def _counting(monkeypatch):
    calls = []
    original = PerLabelModel._fit_label

    def counted(self, c, *args):
        calls.append(c)
        return original(self, c, *args)

    monkeypatch.setattr(PerLabelModel, "_fit_label", counted)
    return calls


def _same(a: PerLabelModel, b: PerLabelModel, L):
    assert a.chosen_ == b.chosen_
    assert a.dev_f1_ == b.dev_f1_
    np.testing.assert_array_equal(a.thresholds_, b.thresholds_)
    np.testing.assert_allclose(a.predict_proba(L), b.predict_proba(L), atol=1e-12)


@pytest.mark.parametrize("name", ["auto", "mv", "weighted_vote"])
def test_a_hit_is_the_same_model_and_fits_nothing(tmp_path, monkeypatch, name):
    L, Y, L_dev = _data()
    plain = PerLabelModel(K, TARGETS, name=name).fit(L, Y, L_dev)
    first = PerLabelModel(K, TARGETS, name=name, cache_dir=tmp_path).fit(L, Y, L_dev)
    calls = _counting(monkeypatch)
    again = PerLabelModel(K, TARGETS, name=name, cache_dir=tmp_path).fit(L, Y, L_dev)
    assert calls == []
    _same(plain, first, L)
    _same(plain, again, L)
    assert again.chosen_[2] == "prior"


def test_a_changed_vote_refits_only_its_label(tmp_path, monkeypatch):
    L, Y, L_dev = _data()
    PerLabelModel(K, TARGETS, cache_dir=tmp_path).fit(L, Y, L_dev)
    edited = L.copy()
    edited[:40, 2] = 1  # column 2 targets label 1
    calls = _counting(monkeypatch)
    cached = PerLabelModel(K, TARGETS, cache_dir=tmp_path).fit(edited, Y, L_dev)
    assert calls == [1]
    _same(PerLabelModel(K, TARGETS).fit(edited, Y, L_dev), cached, edited)


@pytest.mark.parametrize("change", ["gold", "seed", "params", "name"])
def test_what_the_fit_reads_is_in_the_key(tmp_path, monkeypatch, change):
    L, Y, L_dev = _data()
    PerLabelModel(K, TARGETS, cache_dir=tmp_path).fit(L, Y, L_dev)
    options = {"cache_dir": tmp_path}
    if change == "gold":
        Y = Y.copy()
        Y[:10, 0] = 1 - Y[:10, 0]
    elif change == "seed":
        options["seed"] = 1
    elif change == "params":
        options["params"] = {"weighted_vote": {"strength": 0.5}}
    else:
        options["name"] = "dawid_skene"
    calls = _counting(monkeypatch)
    PerLabelModel(K, TARGETS, **options).fit(L, Y, L_dev)
    assert 0 in calls


def test_an_unreadable_cache_file_is_refit(tmp_path, monkeypatch):
    L, Y, L_dev = _data()
    PerLabelModel(K, TARGETS, cache_dir=tmp_path).fit(L, Y, L_dev)
    for path in tmp_path.glob("*.json"):
        path.write_text('{"chosen": "mv", "threshold": "x"', encoding="utf-8")
    calls = _counting(monkeypatch)
    again = PerLabelModel(K, TARGETS, cache_dir=tmp_path).fit(L, Y, L_dev)
    assert sorted(calls) == [0, 1, 2]
    _same(PerLabelModel(K, TARGETS).fit(L, Y, L_dev), again, L)


def test_a_new_per_label_format_is_a_miss(tmp_path, monkeypatch):
    L, Y, L_dev = _data()
    PerLabelModel(K, TARGETS, cache_dir=tmp_path).fit(L, Y, L_dev)
    monkeypatch.setattr(multilabel, "PER_LABEL_FORMAT", multilabel.PER_LABEL_FORMAT + 1)
    calls = _counting(monkeypatch)
    PerLabelModel(K, TARGETS, cache_dir=tmp_path).fit(L, Y, L_dev)
    assert sorted(calls) == [0, 1, 2]


def test_a_cache_that_cannot_be_written_does_not_fail_the_fit(tmp_path):
    L, Y, L_dev = _data()
    blocked = tmp_path / "a file, not a folder"
    blocked.write_text("", encoding="utf-8")
    fitted = PerLabelModel(K, TARGETS, cache_dir=blocked / "cache").fit(L, Y, L_dev)
    _same(PerLabelModel(K, TARGETS).fit(L, Y, L_dev), fitted, L)
    model = fit_cached(make("mv", cardinality=2), L[:, :2], None, None, blocked / "cache")
    assert model.class_balance_ is not None
