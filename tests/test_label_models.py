"""Label models: recovery on synthetic data, degenerate inputs, persistence, no test leakage."""

from __future__ import annotations

import inspect
import json
import random

import numpy as np
import pytest

from labeling import models
from labeling.models import AutoLabelModel, DawidSkene, MajorityVote, SnorkelLabelModel

FAST = {"snorkel": {"epochs": 20}, "auto": {"snorkel_epochs": 20}}


def make_model(name, k):
    return models.make(name, cardinality=k, **FAST.get(name, {}))


def synthetic(n, accs, coverage, prior, seed):
    """Labels from ``prior``; LF j votes with prob ``coverage[j]``, correct with prob ``accs[j]``."""
    rng = np.random.default_rng(seed)
    k = len(prior)
    y = rng.choice(k, size=n, p=prior)
    L = np.full((n, len(accs)), -1, dtype=np.int8)
    for j, (a, c) in enumerate(zip(accs, coverage)):
        votes = rng.random(n) < c
        correct = rng.random(n) < a
        wrong = (y + rng.integers(1, k, size=n)) % k  # uniform over the other classes
        L[:, j] = np.where(votes, np.where(correct, y, wrong), -1)
    return L, y


ACCS = [0.9, 0.85, 0.8, 0.75, 0.7, 0.6, 0.55, 0.5]
COV = [0.6, 0.5, 0.7, 0.4, 0.8, 0.6, 0.5, 0.7]


def test_dawid_skene_recovers_accuracies_and_beats_mv():
    L, y = synthetic(20000, ACCS, COV, [0.4, 0.35, 0.25], seed=0)
    ds = DawidSkene(cardinality=3).fit(L)
    assert np.abs(ds.lf_accuracies_ - ACCS).max() < 0.05
    mv = MajorityVote(cardinality=3).fit(L)
    assert ds.score(L, y) > mv.score(L, y) + 0.01
    assert ds.confusion_.shape == (8, 3, 4)
    np.testing.assert_allclose(ds.confusion_.sum(axis=2), 1.0)
    assert ds.n_iter_ >= 1


def test_dawid_skene_uses_dev_gold_beyond_class_balance():
    L, _ = synthetic(3000, ACCS, COV, [0.5, 0.5], seed=1)
    L_dev, y_dev = synthetic(300, ACCS, COV, [0.5, 0.5], seed=2)
    plain = DawidSkene(cardinality=2).fit(L, y_dev=y_dev)  # y_dev only: prior
    semi = DawidSkene(cardinality=2).fit(L, y_dev=y_dev, L_dev=L_dev)
    np.testing.assert_allclose(plain.class_balance_, semi.class_balance_)
    assert not np.allclose(plain.confusion_, semi.confusion_)


def test_dawid_skene_single_class_lf_stays_finite():
    L, _ = synthetic(2000, [0.8, 0.7, 0.75], [0.7, 0.7, 0.7], [0.5, 0.5], seed=3)
    only_one = np.where(L[:, 0] == 1, 1, -1).astype(L.dtype)  # unipolar LF
    L = np.column_stack([L, only_one, np.full(len(L), -1, dtype=L.dtype)])
    ds = DawidSkene(cardinality=2).fit(L)
    assert np.isfinite(ds.confusion_).all() and (ds.confusion_ > 0).all()
    assert np.isfinite(ds.predict_proba(L)).all()


def test_dawid_skene_dict_round_trip():
    L, _ = synthetic(1000, ACCS[:4], COV[:4], [0.3, 0.3, 0.4], seed=4)
    ds = DawidSkene(cardinality=3, smoothing=0.5).fit(L)
    restored = DawidSkene.from_dict(json.loads(json.dumps(ds.to_dict())))
    np.testing.assert_array_equal(restored.predict_proba(L), ds.predict_proba(L))
    assert restored.get_params() == ds.get_params()


def test_dawid_skene_is_deterministic():
    L, _ = synthetic(1000, ACCS, COV, [0.5, 0.5], seed=5)
    a = DawidSkene(cardinality=2).fit(L).predict_proba(L)
    np.random.seed(1)
    b = DawidSkene(cardinality=2).fit(L).predict_proba(L)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", models.available())
@pytest.mark.parametrize("k", [2, 3, 10])
def test_degenerate_inputs(name, k):
    n = 40
    rng = np.random.default_rng(k)
    cases = {
        "all_abstain": np.full((n, 3), -1),
        "one_lf": rng.integers(-1, k, size=(n, 1)),
        "class_0_never_voted": rng.integers(1, k, size=(n, 4)),
    }
    for case, L in cases.items():
        if name == "snorkel" and L.shape[1] < 3:
            with pytest.raises(ValueError, match="at least 3"):  # snorkel's own limit
                make_model(name, k).fit(L)
            continue
        model = make_model(name, k).fit(L)
        proba = model.predict_proba(L)
        assert proba.shape == (n, k), case
        assert np.isfinite(proba).all(), case
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6, err_msg=case)
        pred = model.predict(L)
        assert ((pred >= 0) & (pred < k)).all(), case
        assert model.predict(np.empty((0, L.shape[1]), dtype=int)).shape == (0,), case
        assert model.class_balance_.shape == (k,), case


@pytest.mark.parametrize("k", range(2, 11))
def test_dawid_skene_any_cardinality(k):
    prior = np.full(k, 1.0 / k)
    L, y = synthetic(2000, [0.8, 0.7, 0.75, 0.6], [0.8] * 4, prior, seed=k)
    ds = DawidSkene(cardinality=k).fit(L)
    assert ds.score(L, y) > 0.6


def _split_with_test(seed_test):
    L, y = synthetic(1200, ACCS, COV, [0.6, 0.4], seed=11)
    train, dev = L[:800], slice(800, 1000)
    y_test = np.random.default_rng(seed_test).permutation(y[1000:])  # fake test labels
    return train, L[dev], y[dev], L[1000:], y_test


def test_auto_choice_never_depends_on_test():
    assert list(inspect.signature(AutoLabelModel.fit).parameters) == ["self", "L", "y_dev", "L_dev"]
    choices, scores = [], []
    for seed_test in (0, 1):
        L, L_dev, y_dev, L_test, y_test = _split_with_test(seed_test)
        auto = AutoLabelModel(cardinality=2, snorkel_epochs=20).fit(L, y_dev=y_dev, L_dev=L_dev)
        auto.score(L_test, y_test)  # test is only ever scored
        choices.append(auto.chosen_)
        scores.append(auto.cv_scores_)
    assert choices[0] == choices[1]
    assert scores[0] == scores[1]
    assert "mv" in scores[0] and set(scores[0]) >= {"dawid_skene", "dawid_skene+dev", "snorkel"}


def test_auto_metrics_and_fallback():
    L, L_dev, y_dev, _, _ = _split_with_test(0)
    for metric in ("accuracy", "f1", "macro_f1"):
        auto = models.make("auto", cardinality=2, metric=metric, pos_label=1,
                           candidates=("mv", "dawid_skene", "dawid_skene+dev"))
        auto.fit(L, y_dev=y_dev, L_dev=L_dev)
        assert auto.chosen_ in auto.cv_scores_ and "mv" in auto.cv_scores_
        assert all(0.0 <= s <= 1.0 for s in auto.cv_scores_.values())
    auto = AutoLabelModel(cardinality=2, candidates=("dawid_skene",)).fit(L)
    assert auto.chosen_ == "dawid_skene" and "mv" in auto.cv_scores_
    assert isinstance(auto.model_, DawidSkene)


def test_snorkel_restores_global_rng():
    L, _ = synthetic(300, ACCS[:4], COV[:4], [0.5, 0.5], seed=6)
    np.random.seed(42)
    random.seed(42)
    expected = (np.random.rand(), random.random())
    np.random.seed(42)
    random.seed(42)
    SnorkelLabelModel(cardinality=2, epochs=20).fit(L)
    assert (np.random.rand(), random.random()) == expected


def test_auto_with_dev_and_one_lf_skips_snorkel():
    L, L_dev, y_dev, _, _ = _split_with_test(0)
    auto = AutoLabelModel(cardinality=2, snorkel_epochs=20).fit(L[:, :1], y_dev, L_dev[:, :1])
    assert "snorkel" not in auto.cv_scores_ and "mv" in auto.cv_scores_
