"""Label models: recovery on synthetic data, degenerate inputs, persistence, no test leakage."""

from __future__ import annotations

import inspect
import json
import random

import sys
from pathlib import Path

import numpy as np
import pytest

from labeling import models
from labeling.models import (AutoLabelModel, DawidSkene, MajorityVote, SnorkelLabelModel,
                             VoteStacker, WeightedVote)
from labeling.models.base import LabelModel
from labeling.metrics import score_predictions

sys.path.insert(0, str(Path(__file__).parent))
from conftest import DEFAULT_LFS  # noqa: E402

FAST = {"snorkel": {"epochs": 20}, "auto": {"snorkel_epochs": 20}}
# snorkel is not one of auto's default candidates (too slow for what it wins); these add it.
WITH_SNORKEL = ("mv", "dawid_skene", "dawid_skene+dev", "snorkel", "stacker", "weighted_vote")


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


@pytest.mark.parametrize("name", sorted(models.BUILT_IN))
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
def test_any_cardinality(k):
    prior = np.full(k, 1.0 / k)
    L, y = synthetic(2000, [0.8, 0.7, 0.75, 0.6], [0.8] * 4, prior, seed=k)
    ds = DawidSkene(cardinality=k).fit(L)
    assert ds.score(L, y) > 0.6
    stacker = VoteStacker(cardinality=k).fit(L[:1500], y_dev=y[1500:1800], L_dev=L[1500:1800])
    assert stacker.score(L[1800:], y[1800:]) > 0.6


def test_dawid_skene_subsampled_fit_recovers_accuracies():
    L, y = synthetic(20000, ACCS, COV, [0.6, 0.4], seed=12)
    sub = DawidSkene(cardinality=2, max_fit_rows=4000).fit(L)
    assert np.abs(sub.lf_accuracies_ - ACCS).max() < 0.06
    assert sub.predict_proba(L).shape == (20000, 2)
    full = DawidSkene(cardinality=2, max_fit_rows=None).fit(L)
    assert not np.allclose(sub.confusion_, full.confusion_)  # the subsample was used
    assert abs(sub.score(L, y) - full.score(L, y)) < 0.01


@pytest.mark.parametrize("abstain_evidence", [False, True])
def test_dawid_skene_sparse_likelihood_matches_per_lf_loop(abstain_evidence):
    L, _ = synthetic(300, ACCS[:5], COV[:5], [0.5, 0.3, 0.2], seed=13)
    ds = DawidSkene(cardinality=3, abstain_evidence=abstain_evidence).fit(L)
    log_conf = np.log(ds.confusion_)
    expected = np.tile(np.log(ds.class_balance_), (len(L), 1))
    for i, row in enumerate(L):
        for j, vote in enumerate(row):
            if vote >= 0 or abstain_evidence:
                expected[i] += log_conf[j, :, vote + 1]
    expected = np.exp(expected - expected.max(axis=1, keepdims=True))
    expected /= expected.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(ds.predict_proba(L), expected, rtol=1e-10)


def test_stacker_learns_an_adversarial_lf_from_dev_gold():
    # LF 0 is right only 15% of the time: MV and an independent-LF model trust its
    # votes; the stacker learns from dev gold to read them backwards.
    accs, cov = [0.15, 0.7, 0.65, 0.6], [0.9, 0.5, 0.5, 0.5]
    L, y = synthetic(3000, accs, cov, [0.5, 0.5], seed=14)
    train, dev, test = slice(0, 2000), slice(2000, 2400), slice(2400, None)
    stacker = VoteStacker(cardinality=2).fit(L[train], y_dev=y[dev], L_dev=L[dev])
    mv = MajorityVote(cardinality=2).fit(L[train], y_dev=y[dev])
    assert stacker.score(L[test], y[test]) > mv.score(L[test], y[test]) + 0.1
    assert stacker.coef_.shape == (2, 8)
    assert stacker.coef_[1, 1] < stacker.coef_[0, 1]  # "LF 0 says 1" is evidence for 0


def test_stacker_without_dev_distils_dawid_skene():
    L, y = synthetic(2000, ACCS, COV, [0.5, 0.5], seed=15)
    stacker = VoteStacker(cardinality=2).fit(L)
    ds = DawidSkene(cardinality=2).fit(L)
    agree = (stacker.predict(L) == ds.predict(L)).mean()
    assert agree > 0.95


def log_odds(acc, k):
    return np.log(np.asarray(acc) * (k - 1) / (1 - np.asarray(acc)))


@pytest.mark.parametrize("k", [2, 4])
def test_weighted_vote_recovers_log_odds_weights(k):
    # Symmetric LFs with class-blind coverage: the Bayes posterior (uniform prior) is
    # exactly a softmax of summed log-odds weights, so the fit should find them.
    accs = [0.9, 0.8, 0.7, 0.6, 0.5]
    L, y = synthetic(20000, accs, [0.7] * 5, np.full(k, 1.0 / k), seed=20 + k)
    wv = WeightedVote(cardinality=k).fit(L[:1000], y_dev=y, L_dev=L)
    assert wv.weights_.shape == (5, k)
    np.testing.assert_allclose(wv.weights_.mean(axis=1), log_odds(accs, k), atol=0.15)


def test_weighted_vote_is_monotone_and_drops_an_adversarial_lf():
    accs, cov = [0.15, 0.7, 0.65, 0.6], [0.9, 0.5, 0.5, 0.5]
    L, y = synthetic(3000, accs, cov, [0.5, 0.5], seed=14)
    wv = WeightedVote(cardinality=2).fit(L[:2000], y_dev=y[2000:2400], L_dev=L[2000:2400])
    assert (wv.weights_ >= 0).all()
    assert wv.weights_[0].max() < 0.05 < wv.weights_[1:].min()  # LF 0 is ignored, not reversed
    # A vote for class c never lowers P(c): add one vote for 1 to rows where LF 1 abstains.
    rows = np.flatnonzero(L[:, 1] == -1)[:200]
    before = wv.predict_proba(L[rows])[:, 1]
    L_more = L[rows].copy()
    L_more[:, 1] = 1
    assert (wv.predict_proba(L_more)[:, 1] >= before - 1e-12).all()


def test_weighted_vote_ignores_the_dev_class_mix():
    # Dev is 85% class 0, the data to label 85% class 1. The stacker learns dev's
    # prior and calls close rows class 0; the weighted vote decides on the votes alone.
    accs, cov = [0.75, 0.7, 0.7, 0.65, 0.6], [0.5] * 5
    L_dev, y_dev = synthetic(600, accs, cov, [0.85, 0.15], seed=30)
    L_new, y_new = synthetic(4000, accs, cov, [0.15, 0.85], seed=31)
    covered = (L_new >= 0).any(axis=1)
    wv = WeightedVote(cardinality=2).fit(L_dev, y_dev=y_dev, L_dev=L_dev)
    stacker = VoteStacker(cardinality=2, class_weight=None).fit(L_dev, y_dev=y_dev, L_dev=L_dev)
    mv = MajorityVote(cardinality=2).fit(L_dev, y_dev=y_dev)
    wv_acc = wv.score(L_new[covered], y_new[covered])
    assert wv_acc > stacker.score(L_new[covered], y_new[covered]) + 0.05
    assert wv_acc >= mv.score(L_new[covered], y_new[covered])


def test_weighted_vote_without_dev_uses_dawid_skene_accuracies():
    L, y = synthetic(20000, ACCS, COV, [0.5, 0.5], seed=16)
    wv = WeightedVote(cardinality=2).fit(L)
    order = np.argsort(wv.weights_[:, 0])
    assert (np.diff(np.asarray(ACCS)[order]) > 0).all()  # weights rank LFs by accuracy
    mv = MajorityVote(cardinality=2).fit(L)
    assert wv.score(L, y) > mv.score(L, y) + 0.01
    with pytest.raises(ValueError, match="prior_accuracy"):
        WeightedVote(cardinality=2, prior_accuracy=0.4).fit(L)


def test_snorkel_numpy_predict_matches_snorkel():
    from snorkel.labeling.model import LabelModel as _SnorkelLM

    L, _ = synthetic(500, ACCS[:5], COV[:5], [0.5, 0.3, 0.2], seed=16)
    ours = SnorkelLabelModel(cardinality=3, epochs=30).fit(L)
    theirs = _SnorkelLM(cardinality=3, verbose=False)
    theirs.fit(L.astype(np.int64), n_epochs=30, lr=0.01, l2=0.0, seed=123,
               class_balance=np.full(3, 1 / 3), progress_bar=False)
    np.testing.assert_allclose(ours.predict_proba(L), theirs.predict_proba(L.astype(np.int64)),
                               rtol=1e-6, atol=1e-9)


def _fit_for_save(name, k):
    L, y = synthetic(600, ACCS[:5], COV[:5], np.full(k, 1.0 / k), seed=17)
    return make_model(name, k).fit(L[:400], y_dev=y[400:500], L_dev=L[400:500]), L[500:]


@pytest.mark.parametrize("name", sorted(models.BUILT_IN))
@pytest.mark.parametrize("k", [2, 3])
def test_save_load_round_trip(name, k, tmp_path):
    model, L = _fit_for_save(name, k)
    path = model.save(tmp_path / "lm.json")
    text = path.read_text(encoding="utf-8")
    json.loads(text)  # plain JSON
    restored = models.load(path)
    assert type(restored) is type(model)
    assert restored.get_params() == model.get_params()
    np.testing.assert_array_equal(restored.predict_proba(L), model.predict_proba(L))
    np.testing.assert_array_equal(restored.predict(L), model.predict(L))
    if name == "auto":
        assert restored.chosen_ == model.chosen_ and restored.cv_scores_ == model.cv_scores_


def test_load_rejects_unknown_or_broken_files(tmp_path):
    model, _ = _fit_for_save("mv", 2)
    path = model.save(tmp_path / "lm.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    data["name"] = "os.system"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ValueError, match=r"lm\.json.*unknown label model type 'os.system'"):
        models.load(path)
    data["name"], data["params"]["evil"] = "mv", 1
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ValueError, match=r"lm\.json.*no parameters \['evil'\]"):
        models.load(path)
    path.write_text("not json", encoding="utf-8")
    with pytest.raises(ValueError, match=r"lm\.json: cannot load"):
        models.load(path)
    path.write_text(json.dumps({"format": "pickle"}), encoding="utf-8")
    with pytest.raises(ValueError, match="not a saved label model"):
        models.load(path)
    with pytest.raises(ValueError, match="not 'dawid_skene'"):
        DawidSkene.from_dict(model.to_dict())


def _split_with_test(seed_test):
    L, y = synthetic(1200, ACCS, COV, [0.6, 0.4], seed=11)
    train, dev = L[:800], slice(800, 1000)
    y_test = np.random.default_rng(seed_test).permutation(y[1000:])  # fake test labels
    return train, L[dev], y[dev], L[1000:], y_test


def test_auto_is_deterministic_and_fit_takes_no_test_data():
    # That the choice never depends on test labels is checked through the real
    # pipeline, with poisoned test gold: tests/test_auto_never_sees_test.py.
    assert list(inspect.signature(AutoLabelModel.fit).parameters) == ["self", "L", "y_dev", "L_dev"]
    L, L_dev, y_dev, _, _ = _split_with_test(0)
    fits = [AutoLabelModel(cardinality=2, snorkel_epochs=20, candidates=WITH_SNORKEL).fit(
        L, y_dev=y_dev, L_dev=L_dev) for _ in range(2)]
    assert fits[0].chosen_ == fits[1].chosen_
    assert fits[0].cv_scores_ == fits[1].cv_scores_
    assert "mv" in fits[0].cv_scores_
    assert set(fits[0].cv_scores_) >= {"dawid_skene", "dawid_skene+dev", "snorkel", "stacker",
                                       "weighted_vote"}


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


def test_auto_exposes_the_chosen_models_learned_accuracies(tmp_path):
    L, L_dev, y_dev, _, _ = _split_with_test(0)
    auto = AutoLabelModel(cardinality=2).fit(L, y_dev=y_dev, L_dev=L_dev)
    assert auto.chosen_ in ("dawid_skene", "weighted_vote")  # both learn LF accuracies
    np.testing.assert_array_equal(auto.lf_accuracies_, auto.model_.lf_accuracies_)
    restored = models.load(auto.save(tmp_path / "auto.json"))
    np.testing.assert_array_equal(restored.lf_accuracies_, auto.lf_accuracies_)
    mv_only = AutoLabelModel(cardinality=2, candidates=("mv",)).fit(L, y_dev=y_dev, L_dev=L_dev)
    assert mv_only.lf_accuracies_ is None


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
    auto = AutoLabelModel(cardinality=2, snorkel_epochs=20, candidates=WITH_SNORKEL).fit(
        L[:, :1], y_dev, L_dev[:, :1])
    assert "snorkel" not in auto.cv_scores_ and "mv" in auto.cv_scores_


def _tampered(tmp_path, name, edit):
    """Save a fitted ``name`` model, apply ``edit`` to its JSON dict, write it back."""
    model, _ = _fit_for_save(name, 2)
    path = model.save(tmp_path / "lm.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    edit(data)
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def _set(data, key, value, dtype="float64"):
    data["state"][key] = {"__ndarray__": value, "dtype": dtype}


def _three_class_inner_model(data):
    """auto's chosen model replaced by a consistent 3-class majority vote."""
    data["state"]["model_"]["__model__"].update(
        name="mv", params={"cardinality": 3},
        state={"class_balance_": {"__ndarray__": [0.2, 0.3, 0.5], "dtype": "float64"}})


@pytest.mark.parametrize("name, edit, message", [
    ("mv", lambda d: _set(d, "class_balance_", [float("nan"), 0.5]),
     r"mv\.class_balance_: holds NaN or inf"),
    ("weighted_vote", lambda d: _set(d, "weights_", [[float("inf"), 1.0]] * 5),
     r"weighted_vote\.weights_: holds NaN or inf"),
    ("mv", lambda d: _set(d, "class_balance_", [0.2, 0.3, 0.5]),
     r"mv\.class_balance_: shape \(3,\), expected \(k\) = \(2,\)"),
    ("dawid_skene", lambda d: _set(d, "confusion_", [[0.5, 0.5]] * 5),
     r"dawid_skene\.confusion_: shape \(5, 2\), expected \(m, k, k\+1\) = \(5, 2, 3\)"),
    ("weighted_vote", lambda d: _set(d, "lf_accuracies_", [0.7] * 4),
     r"weighted_vote\.lf_accuracies_: shape \(4,\), expected \(m\) = \(5,\)"),
    ("stacker", lambda d: _set(d, "coef_", [[0.0] * 9] * 2),
     r"stacker\.coef_: shape \(2, 9\), expected \(k, m\*k\) = \(2, 8\)"),
    ("mv", lambda d: _set(d, "class_balance_", ["a", "b"], dtype="<U1"),
     r"mv\.class_balance_: dtype <U1 is not numeric"),
    ("mv", lambda d: d["state"].pop("class_balance_"),
     r"mv: missing learned attributes \['class_balance_'\]"),
    ("mv", lambda d: d["state"].update(extra_=1),
     r"mv: unknown learned attributes \['extra_'\]"),
    ("auto", lambda d: d["state"].update(chosen_=["mv"]),
     r"auto\.chosen_: expected str, got list"),
    ("auto", lambda d: d["state"]["model_"]["__model__"]["params"].update(cardinality=3),
     r"auto\.model_: \w+\.\w+_: shape .*expected .* = \(3,"),  # inner state is for k=2
    ("auto", _three_class_inner_model, r"auto\.model_: cardinality 3, expected 2"),
    ("mv", lambda d: d["params"].update(cardinality="2"),
     r"mv: cardinality must be an integer >= 2, got '2'"),
])
def test_load_validates_learned_arrays_and_names_the_field(tmp_path, name, edit, message):
    path = _tampered(tmp_path, name, edit)
    with pytest.raises(ValueError, match=r"lm\.json: cannot load label model: " + message):
        models.load(path)


def test_load_refuses_deep_nesting_with_a_message(tmp_path):
    def nest_models(data):  # auto inside auto inside auto ...: real files nest once
        inner = data["state"]["model_"]["__model__"]
        for _ in range(100):
            inner = {"format": data["format"], "version": data["version"], "name": "auto",
                     "params": {}, "state": {"model_": {"__model__": inner}}}
        data["state"]["model_"] = {"__model__": inner}

    path = _tampered(tmp_path, "auto", lambda d: None)
    text = path.read_text(encoding="utf-8")
    nest_models(data := json.loads(text))
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ValueError, match=r"lm\.json: cannot load label model: "
                                         r"auto\.model_: .*nested"):
        models.load(path)
    path.write_text('{"format": "labeling.label_model", "state": {"cv_scores_": '
                    + "[" * 100_000 + "]" * 100_000 + "}}", encoding="utf-8")
    with pytest.raises(ValueError, match=r"lm\.json: cannot load label model: .*nested too deeply"):
        models.load(path)


def test_make_for_task_sets_autos_metric_from_the_task():
    auto = models.make_for_task("auto", 2, {}, f1_pos_label=0)
    assert (auto.metric, auto.pos_label) == ("f1", 0)
    assert models.make_for_task("auto", 2, {}, f1_pos_label=None).metric == "accuracy"
    explicit = models.make_for_task("auto", 2, {"metric": "macro_f1"}, f1_pos_label=1)
    assert explicit.metric == "macro_f1"  # the config's own params win
    assert models.make_for_task("mv", 2, {}, f1_pos_label=1).get_params() == {
        "cardinality": 2, "snorkel_compatible": False}


@pytest.mark.parametrize("labels, positive, expected", [
    (["ham", "spam"], "spam", ("f1", 1)),
    (["spam", "ham"], "spam", ("f1", 0)),  # the positive label first: F1 of class 0
    (["ham", "spam"], None, ("accuracy", 1)),
])
def test_pipeline_auto_picks_by_the_tasks_metric(make_task, labels, positive, expected):
    from labeling import pipeline

    config = {"labels": labels, "positive_label": positive if positive else make_task.DELETE,
              "label_model": {"name": "auto", "params": {"epochs": make_task.DELETE,
                                                         "seed": make_task.DELETE}}}
    # the LF module's constants follow the labels' order (labeling.lf.loader checks them)
    lfs = DEFAULT_LFS.replace("HAM, SPAM = 0, 1",
                              f"HAM, SPAM = {labels.index('ham')}, {labels.index('spam')}")
    task = pipeline.load_task(make_task(config=config, lf_source=lfs))
    pipeline.step_apply(task, progress=False)
    params = pipeline.step_fit(task)["label_model"]["params"]
    assert (params["metric"], params["pos_label"]) == expected


def _cautious_lfs(n, seed):
    """An F1 task whose LFs under-call the positive class: LF a says 0 on most rows of
    both classes; LF b is accurate but fires on 40%. Their ties are mostly positives."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.3).astype(int)
    a = np.where(y == 1, np.where(rng.random(n) < 0.6, 0, 1), np.where(rng.random(n) < 0.9, 0, 1))
    b = np.where(rng.random(n) < 0.4, np.where(rng.random(n) < 0.85, y, 1 - y), -1)
    return np.stack([a, b], axis=1), y


def test_auto_on_f1_tasks_scores_and_decides_with_a_decision_bias(tmp_path):
    L, _ = _cautious_lfs(2000, 1)
    L_dev, y_dev = _cautious_lfs(400, 2)
    L_test, y_test = _cautious_lfs(2000, 3)
    auto = AutoLabelModel(cardinality=2, metric="f1", candidates=("mv",)).fit(
        L, y_dev=y_dev, L_dev=L_dev)
    assert auto.decision_bias_[1] > 0 and auto.decision_bias_[0] == 0
    proba = auto.predict_proba(L_test)  # the soft labels are the chosen model's own
    np.testing.assert_array_equal(proba, auto.model_.predict_proba(L_test))
    biased, plain = auto.decide(proba), LabelModel.decide(auto, proba)  # with, without
    assert (biased == 1).sum() > (plain == 1).sum()
    assert score_predictions(y_test, biased, "f1") > score_predictions(y_test, plain, "f1")
    restored = models.load(auto.save(tmp_path / "auto.json"))
    np.testing.assert_array_equal(restored.decide(proba), biased)
    # accuracy tasks keep the argmax
    by_accuracy = AutoLabelModel(cardinality=2, candidates=("mv",)).fit(L, y_dev, L_dev)
    assert not by_accuracy.decision_bias_.any()
