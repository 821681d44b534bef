"""The end model's weak-weight CV refits the label model per fold (#13 follow-up).

The weak rows' targets come from a label model fit with all of dev's gold; in the end
model's dev CV that lets a held-out fold's labels reach the weak candidates through
their targets, never the gold-only one's. These tests build a task where the leak
decides the choice, and check that each fold's refit saw only its training dev rows.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from labeling import models, pipeline
from labeling.metrics import stratified_folds
from labeling.models.fit_cache import fit_key
from labeling.models.weighted_vote import WeightedVote
from labeling.train.auto import choose_end_model
from labeling.train.cross_validation import fold_targets, oof_probabilities
from labeling.train.fold_label_model import (FoldLabelModel, fold_label_model_for,
                                             refit_spec)

N_DEV, PER_TOKEN = 24, 4
FLIPPED = set(range(0, N_DEV, 4))  # dev rows whose signal word says the wrong class


def _token(j: int) -> str:
    """A made-up word per dev row, sharing no character 3-gram with another's."""
    letters = "bcdfghjklmnpqrstvwxz"
    return "".join(letters[(j * 7 + i * 3) % 20] + "aeiou"[(j + i) % 5] for i in range(4)) + \
        letters[j % 20] * 2


def leaky_task():
    """Dev row ``j``: its own token plus a signal word (``alpha``: class 1, ``beta``: 0)
    that is wrong on every 4th row. Two LFs per token (one votes 1, one 0) fire on the
    dev row and on ``PER_TOKEN`` train rows with that token; only dev gold tells a
    weighted vote which of the pair is right. Fit on all of dev, it copies each dev
    row's label onto the train rows of its token, held-out rows included."""
    rng = np.random.default_rng(0)
    y = np.array([j % 2 for j in range(N_DEV)])
    signal = ["alpha" if (y[j] == 1) != (j in FLIPPED) else "beta" for j in range(N_DEV)]
    dev_texts = [f"{_token(j)} {signal[j]}" for j in range(N_DEV)]
    fillers = ["one", "two", "three", "four", "five", "six"]
    texts, L = [], []
    m = 2 * N_DEV
    for j in range(N_DEV):
        for i in range(PER_TOKEN):
            texts.append(f"{_token(j)} {fillers[(i + j) % len(fillers)]}")
            row = -np.ones(m, dtype=int)
            row[2 * j], row[2 * j + 1] = 1, 0
            L.append(row)
    L_dev = -np.ones((N_DEV, m), dtype=int)
    for j in range(N_DEV):
        L_dev[j, 2 * j], L_dev[j, 2 * j + 1] = 1, 0
    order = rng.permutation(len(texts))
    return (np.asarray(texts, dtype=object)[order].tolist(), np.asarray(L)[order], dev_texts,
            y, L_dev)


CV = dict(name="tfidf_logreg", n_folds=3, n_repeats=2, weak_weights=(0.0, 0.3, 1.0, None),
          halving_keep=0)


class SpyVote(WeightedVote):
    """A weighted vote that records the dev rows every fit is given (no ``name`` of its
    own, so it is not registered as a label model)."""

    calls: list = []

    def fit(self, L, y_dev=None, L_dev=None):
        SpyVote.calls.append((None if y_dev is None else np.asarray(y_dev).copy(),
                              None if L_dev is None else np.asarray(L_dev).copy()))
        return super().fit(L, y_dev=y_dev, L_dev=L_dev)


def _fitted(cls=WeightedVote):
    texts, L, dev_texts, y, L_dev = leaky_task()
    lm = cls(cardinality=2, strength=0.01).fit(L, y_dev=y, L_dev=L_dev)
    return texts, L, dev_texts, y, L_dev, lm


def test_the_all_dev_label_model_leaks_and_the_old_cv_picks_weak_rows_the_refit_does_not():
    texts, L, dev_texts, y, L_dev, lm = _fitted()
    probs, covered = lm.predict_proba(L), np.ones(len(L), bool)
    _, old = choose_end_model(texts, probs, covered, dev_texts, y, **CV)
    refit = FoldLabelModel(lm, L, L_dev, y)
    _, new = choose_end_model(texts, probs, covered, dev_texts, y, fold_label_model=refit,
                              **CV)
    gold = old["cv_scores"]["tfidf_logreg/gold_only"]
    assert new["cv_scores"]["tfidf_logreg/gold_only"] == gold  # gold-only: no weak rows
    # Old CV: the weak rows carry the held-out rows' labels (the flipped rows too).
    assert old["label_mode"] != "gold_only" and old["cv"] >= gold + 0.1
    assert old["cv_weak_targets"] == "label model fit on all of dev"
    # Per-fold refit: no weak candidate beats gold-only, which is chosen.
    assert new["label_mode"] == "gold_only", new["cv_scores"]
    assert new["cv_weak_targets"].startswith("label model refit per fold")
    assert max(v for k, v in new["cv_scores"].items() if "gold_only" not in k) <= gold


def test_per_fold_targets_differ_from_the_all_dev_targets():
    texts, L, _, y, L_dev, lm = _fitted()
    probs, covered = lm.predict_proba(L), np.ones(len(L), bool)
    splits = [stratified_folds(y, 3, r) for r in range(2)]
    full, per_fold = fold_targets(texts, probs, covered, "soft", splits,
                                  FoldLabelModel(lm, L, L_dev, y))
    assert per_fold is not None and len(per_fold) == 2
    for fold_of, targets in zip(splits, per_fold):
        assert sorted(targets) == sorted(np.unique(fold_of))
        for f, t in targets.items():
            assert t.shape == full.shape and not np.allclose(t, full)
            # the held-out fold's tokens: the all-dev model is sure, the refit is not
            held_lfs = np.concatenate([[2 * j, 2 * j + 1] for j in np.flatnonzero(fold_of == f)])
            rows = (L[:, held_lfs] != -1).any(axis=1)
            assert np.abs(full[rows, 1] - 0.5).mean() > np.abs(t[rows, 1] - 0.5).mean() + 0.2


def test_each_refit_sees_only_its_folds_training_dev_rows():
    texts, L, dev_texts, y, L_dev, lm = _fitted(SpyVote)
    SpyVote.calls.clear()
    refit = FoldLabelModel(lm, L, L_dev, y)
    oofs, splits = oof_probabilities(texts, lm.predict_proba(L), np.ones(len(L), bool),
                                     dev_texts, y, ["tfidf_logreg"], ["soft", "hard"],
                                     n_folds=3, n_repeats=2, weak_weights=(0.3, None),
                                     fold_probs=refit)
    expected = [np.flatnonzero(fold_of != f) for fold_of in splits for f in range(3)]
    # one refit per repeat x fold, shared by every weak weight and label mode
    assert len(SpyVote.calls) == len(refit.refits_) == len(expected) == 6
    for (y_given, L_given), rows, wanted in zip(SpyVote.calls, refit.refits_, expected):
        np.testing.assert_array_equal(rows, wanted)
        np.testing.assert_array_equal(y_given, y[wanted])
        np.testing.assert_array_equal(L_given, L_dev[wanted])
        assert len(set(rows)) < len(y)  # never all of dev


def test_majority_vote_changes_nothing():
    """MV's dev use is the uncovered rows' prior; uncovered rows are not trained on, so the
    per-fold targets equal the all-dev ones and the CV is bit-identical."""
    texts, L, dev_texts, y, L_dev, _ = _fitted()
    mv = models.make("mv", cardinality=2).fit(L, y_dev=y, L_dev=L_dev)
    probs, covered = mv.predict_proba(L), np.ones(len(L), bool)
    splits = [stratified_folds(y, 3, 0)]
    assert fold_targets(texts, probs, covered, "soft", splits,
                        FoldLabelModel(mv, L, L_dev, y))[1] is None
    args = (texts, probs, covered, dev_texts, y, ["tfidf_logreg"], ["soft"])
    kw = dict(n_folds=3, n_repeats=1, weak_weights=(0.3,))
    plain, _ = oof_probabilities(*args, **kw)
    refit, _ = oof_probabilities(*args, fold_probs=FoldLabelModel(mv, L, L_dev, y), **kw)
    for key in plain:
        np.testing.assert_array_equal(plain[key][0], refit[key][0])


def test_auto_refits_its_chosen_candidate_and_nothing_without_dev_use():
    texts, L, _, y, L_dev, _ = _fitted()
    auto = models.make("auto", cardinality=2, candidates=("weighted_vote",))
    auto.fit(L, y_dev=y, L_dev=L_dev)
    model, uses = refit_spec(auto)
    assert type(model) is WeightedVote and uses == "rows" and not hasattr(model, "weights_")
    np.testing.assert_allclose(FoldLabelModel(auto, L, L_dev, y).probs(np.arange(len(y))),
                               auto.predict_proba(L))  # all rows: the all-dev fit
    auto.chosen_ = "dawid_skene"  # fit on L alone: no fold can leak
    assert fold_label_model_for(auto, L, L_dev, y, auto.predict_proba(L)) is None


def test_a_label_model_that_did_not_make_the_probs_is_not_refit():
    _, L, _, y, L_dev, lm = _fitted()
    probs = lm.predict_proba(L)
    assert fold_label_model_for(lm, L, L_dev, y, probs) is not None
    assert fold_label_model_for(lm, L, L_dev, y, probs[:, ::-1]) is None
    assert fold_label_model_for(lm, L, None, None, probs) is None


def test_refits_are_cached_on_disk(tmp_path, monkeypatch):
    _, L, _, y, L_dev, lm = _fitted()
    rows = np.arange(0, len(y), 2)
    first = FoldLabelModel(lm, L, L_dev, y, cache_dir=tmp_path).probs(rows)
    assert len(list(tmp_path.glob("*.json"))) == 1

    def no_fit(self, *args, **kwargs):
        raise AssertionError("refit although cached")

    monkeypatch.setattr(WeightedVote, "fit", no_fit)
    again = FoldLabelModel(lm, L, L_dev, y, cache_dir=tmp_path)
    np.testing.assert_array_equal(again.probs(rows), first)
    with pytest.raises(AssertionError):  # other rows: a new fit
        again.probs(np.arange(1, len(y), 2))


@pytest.mark.parametrize("label_model", ["weighted_vote", "mv"])
def test_labeling_train_refits_the_fit_steps_label_model_per_fold(make_task, monkeypatch,
                                                                  label_model):
    config = make_task(config={"label_model": {"name": label_model,
                                               "params": make_task.DELETE},
                               "end_model": {"name": "tfidf_logreg",
                                             "params": {"n_folds": 2, "n_repeats": 2}}})
    seen = {}
    real = pipeline.choose_end_model

    def spy(*args, **kwargs):
        seen["refit"] = kwargs.get("fold_label_model")
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline, "choose_end_model", spy)
    task = pipeline.load_task(config)
    pipeline.step_apply(task, progress=False)
    pipeline.step_fit(task)
    pipeline.step_train(task)
    metrics = json.loads((task.run_dir / "metrics.json").read_text())
    refit = seen["refit"]
    assert refit is not None  # mv too: refit, and its targets equal the all-dev ones
    L = pipeline.read_label_matrices(task)
    np.testing.assert_array_equal(refit.L_dev, L["dev"])
    np.testing.assert_array_equal(refit.y_dev, task.gold("dev"))
    # 2 repeats x 2 folds in the CV (then the learning curve's subsamples), never all dev
    assert len(refit.refits_) >= 4 and all(len(r) < len(refit.y_dev) for r in refit.refits_)
    assert metrics["end_model"]["cv_weak_targets"].startswith("label model refit per fold")
    cache = task.run_dir / "cache" / "label_models"
    for rows in refit.refits_:  # every refit is on disk, under the key of what it read
        model, _ = refit_spec(refit.label_model)
        assert (cache / f"{fit_key(model, L['train'], refit.y_dev[rows], refit.L_dev[rows])}"
                ".json").is_file()


# --- multi-label: the one-vs-rest heads' weak-weight CV ---------------------------------

def test_multilabel_cv_gives_each_fold_its_own_refit_targets():
    from sklearn.model_selection import KFold

    from labeling.train.multilabel import OneVsRestEndModel

    rng = np.random.default_rng(0)
    Y_dev = (rng.random((30, 2)) < 0.4).astype(int)
    X_dev = rng.normal(0, 1, (30, 6)) + np.pad(2.0 * Y_dev, ((0, 0), (0, 4)))
    X_train = rng.normal(0, 1, (80, 6))
    features = {"tfidf": {"train": X_train, "dev": X_dev}}
    P_weak = rng.random((80, 2))

    class Spy:
        def __init__(self):
            self.rows = []

        def probs(self, dev_rows):
            self.rows.append(np.sort(dev_rows))
            return 1.0 - P_weak  # differs from the all-dev targets

    spy = Spy()
    end = OneVsRestEndModel("tfidf_logreg", weak_weights=(0.0, 1.0), n_folds=3)
    with_refit = end.fit(features, P_weak, Y_dev, fold_probs=spy).cv_scores_
    folds = KFold(3, shuffle=True, random_state=0).split(np.arange(30))
    assert [r.tolist() for r in spy.rows] == [np.sort(f).tolist() for f, _ in folds]
    plain = OneVsRestEndModel("tfidf_logreg", weak_weights=(0.0, 1.0), n_folds=3)
    plain_scores = plain.fit(features, P_weak, Y_dev).cv_scores_
    assert with_refit["0"] == plain_scores["0"] and with_refit["1"] != plain_scores["1"]
    # the final fit keeps the all-dev targets: same heads whatever the CV saw, if it
    # chose the same weight
    if end.weak_weight_ == plain.weak_weight_:
        np.testing.assert_allclose(end.predict_proba(features, "dev"),
                                   plain.predict_proba(features, "dev"))


def test_multilabel_fold_model_refits_each_labels_chosen_model_on_the_rows_given():
    from labeling.models.multilabel import PerLabelModel
    from labeling.train.fold_label_model import (MultiLabelFoldModel,
                                                 multilabel_fold_model_for)

    rng = np.random.default_rng(1)
    Y_train, Y_dev = (rng.random((200, 2)) < 0.4).astype(int), (rng.random((40, 2)) < 0.4)
    Y_dev = Y_dev.astype(int)

    def votes(Y):  # two LFs per label, 80% / 65% right, abstaining a third of the time
        cols = []
        for c, acc in ((0, 0.8), (0, 0.65), (1, 0.8), (1, 0.65)):
            right = rng.random(len(Y)) < acc
            vote = np.where(right, Y[:, c], 1 - Y[:, c])
            cols.append(np.where(rng.random(len(Y)) < 0.33, -1, vote))
        return np.column_stack(cols)

    L, L_dev = votes(Y_train), votes(Y_dev)
    lm = PerLabelModel(2, [0, 0, 1, 1], name="weighted_vote").fit(L, Y_dev, L_dev)
    refit = multilabel_fold_model_for(lm, L, L_dev, Y_dev, lm.predict_proba(L))
    assert isinstance(refit, MultiLabelFoldModel)
    np.testing.assert_allclose(refit.probs(np.arange(40)), lm.predict_proba(L))
    rows = np.arange(0, 40, 2)
    expected = PerLabelModel(2, [0, 0, 1, 1], name="weighted_vote").fit(
        L, Y_dev[rows], L_dev[rows]).predict_proba(L)
    np.testing.assert_allclose(refit.probs(rows), expected)
    assert not np.allclose(expected, lm.predict_proba(L))
    assert multilabel_fold_model_for(lm, L, L_dev, Y_dev, 1 - lm.predict_proba(L)) is None


def test_the_learning_curve_refits_the_label_model_on_each_subsample_alone():
    """The curve scores each subsample's model on the rest of dev: its weak targets must
    come from a label model that has not seen that rest's gold."""
    from labeling.train.learning_curve import learning_curve

    texts, L, dev_texts, y, L_dev, lm = _fitted()
    refit = FoldLabelModel(lm, L, L_dev, y)
    probs = lm.predict_proba(L)
    pipe = {"name": "tfidf_logreg", "label_mode": "soft", "weak_weight": None,
            "dev_weight": 3.0}
    leaky = learning_curve(texts, probs, np.ones(len(L), bool), dev_texts, y, pipe,
                           {"name": "tfidf_logreg"}, n_seeds=1)
    fair = learning_curve(texts, probs, np.ones(len(L), bool), dev_texts, y, pipe,
                          {"name": "tfidf_logreg"}, n_seeds=1, fold_label_model=refit)
    assert len(refit.refits_) == len(fair["sizes"])
    for rows, size in zip(refit.refits_, fair["sizes"]):
        assert len(rows) == size < len(y)
    assert fair["gold_only"] == leaky["gold_only"]
    # all-dev targets carry the rest of dev's labels: a perfect score on it
    assert leaky["pipeline"][0] == [1.0] * len(leaky["sizes"])
    assert fair["pipeline"][0][0] < 1.0 and sum(fair["pipeline"][0]) < len(fair["sizes"])
