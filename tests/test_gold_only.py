"""The gold-only baseline, auto's weak weight and gold-only candidates, learning curves."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import sparse
from sklearn.base import clone

from labeling.metrics import stratified_folds
from labeling.train.auto import choose_candidate, choose_end_model
from labeling.train.cross_validation import (GOLD_ONLY, candidate_keys, cross_fit_proba,
                                             oof_probabilities, parse_key,
                                             successive_halving)
from labeling.train.end_model import (make_end_model, predict_proba_full, train_end_model,
                                      training_rows, weighted_rows, weighted_targets)
from labeling.train.gold_only import gold_only_baseline
from labeling.train.learning_curve import (crossing, labels_worth, learning_curve,
                                           nested_subsamples)

sys.path.insert(0, str(Path(__file__).parent))
from conftest import WEAK_DEV, WEAK_HAM, WEAK_SPAM, WEAK_Y_DEV  # noqa: E402

SPAM, HAM, DEV, Y_DEV = WEAK_SPAM, WEAK_HAM, WEAK_DEV, np.array(WEAK_Y_DEV)
TINY = dict(name="tfidf_logreg", n_folds=2, n_repeats=2)


def weak_task(flip=False):
    """Train texts with weak labels (optionally all wrong) and the dev gold."""
    probs = np.array([[0.2, 0.8]] * 6 + [[0.9, 0.1]] * 6)
    return SPAM + HAM, probs[:, ::-1] if flip else probs, np.ones(12, bool)


def test_gold_only_baseline_is_autos_weak_weight_zero_on_the_same_folds():
    texts, probs, covered = weak_task()
    _, report = choose_end_model(texts, probs, covered, DEV, Y_DEV,
                                 weak_weights=(0.0, 1.0, None), **TINY)
    model, baseline = gold_only_baseline(DEV, Y_DEV, 2, **TINY)
    assert set(baseline) >= {"cv", "name", "n_dev"}
    assert report["gold_only"] == {k: baseline[k] for k in ("cv", "name", "n_dev")}
    assert baseline["cv_scores"] == {"tfidf_logreg/gold_only":
                                     report["cv_scores"]["tfidf_logreg/gold_only"]}
    assert baseline["n_dev"] == len(Y_DEV) and baseline["name"] == "tfidf_logreg"
    # The fitted baseline is the model trained on the dev gold alone.
    alone = train_end_model([], np.zeros((0, 2)), [], "tfidf_logreg", dev_texts=DEV,
                            y_dev=Y_DEV, dev_weight=3.0, weak_weight=0.0)
    np.testing.assert_allclose(predict_proba_full(model, SPAM + HAM, 2),
                               predict_proba_full(alone, SPAM + HAM, 2))


def test_gold_only_uses_exactly_the_dev_rows():
    # Poisoned weak labels (every one wrong) and other train texts change nothing.
    texts, probs, covered = weak_task()
    poisoned = weak_task(flip=True)[1]
    _, clean = choose_end_model(texts, probs, covered, DEV, Y_DEV, weak_weights=(0.0, 1.0),
                                **TINY)
    _, dirty = choose_end_model(texts[:8] + ["zzz"] * 4, poisoned, covered, DEV, Y_DEV,
                                weak_weights=(0.0, 1.0), **TINY)
    assert clean["gold_only"] == dirty["gold_only"]
    assert (clean["cv_scores"]["tfidf_logreg/gold_only"]
            == dirty["cv_scores"]["tfidf_logreg/gold_only"])
    # ...and the dev gold does: flip one dev label and the baseline's model changes.
    flipped = Y_DEV.copy()
    flipped[0] = 0
    a, _ = gold_only_baseline(DEV, Y_DEV, 2, **TINY)
    b, _ = gold_only_baseline(DEV, flipped, 2, **TINY)
    assert not np.allclose(a.predict_proba(DEV), b.predict_proba(DEV))


def test_gold_only_folds_are_the_pipelines_folds():
    texts, probs, covered = weak_task()
    oofs, splits = oof_probabilities(texts, probs, covered, DEV, Y_DEV, ["tfidf_logreg"],
                                     ["soft"], n_folds=2, n_repeats=3, seed=5,
                                     weak_weights=(0.0, None))
    for r, fold_of in enumerate(splits):  # the label models' fold maker and seeds
        np.testing.assert_array_equal(fold_of, stratified_folds(Y_DEV, 2, 5 + r))
    # The gold-only OOF probabilities are the gold-only model refit per fold.
    fold_of = splits[0]
    for f in (0, 1):
        fit, held = fold_of != f, fold_of == f
        model = train_end_model([], np.zeros((0, 2)), [], "tfidf_logreg",
                                dev_texts=np.array(DEV, object)[fit], y_dev=Y_DEV[fit],
                                dev_weight=3.0, weak_weight=0.0, seed=5)
        np.testing.assert_allclose(oofs["tfidf_logreg/gold_only"][0][held],
                                   predict_proba_full(model, np.array(DEV, object)[held], 2),
                                   atol=1e-6)


def test_choose_candidate_never_scores_below_gold_only():
    # The min_gain rule alone would keep the cheap tfidf (0.80) over minilm's gold-only
    # (0.805): a lower CV score than gold-only's. The floor takes the best instead.
    scores = {"tfidf_logreg/gold_only": 0.70, "tfidf_logreg/soft/w1": 0.80,
              "minilm_logreg/gold_only": 0.805, "minilm_logreg/soft/w1": 0.79}
    assert choose_candidate(scores, min_gain=0.01) == "minilm_logreg/gold_only"
    # Within one end model the best candidate wins, ties to the earlier (gold-only).
    assert choose_candidate({"tfidf_logreg/gold_only": 0.8, "tfidf_logreg/soft/w1": 0.8}) \
        == "tfidf_logreg/gold_only"
    assert choose_candidate({"tfidf_logreg/gold_only": 0.8, "tfidf_logreg/soft/w1": 0.81}) \
        == "tfidf_logreg/soft/w1"


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_auto_cv_is_at_least_the_gold_only_cv(seed):
    texts, probs, covered = weak_task(flip=seed == 1)  # seed 1: weak labels all wrong
    _, report = choose_end_model(texts, probs, covered, DEV, Y_DEV, seed=seed,
                                 weak_weights=(0.0, 0.3, None), label_mode="auto", **TINY)
    gold = max(v for k, v in report["cv_scores"].items() if GOLD_ONLY in k)
    assert report["cv"] == report["cv_scores"][candidate_keys(
        [report["name"]], [report["label_mode"]], [report["weak_weight"]])[0]]
    assert report["cv"] >= gold >= report["gold_only"]["cv"]


def test_candidate_keys_round_trip_and_order():
    keys = candidate_keys(["tfidf_logreg"], ["soft", "hard"], (None, 1.0, 0.0, 0.3))
    assert keys == ["tfidf_logreg/gold_only", "tfidf_logreg/soft/w0.3",
                    "tfidf_logreg/hard/w0.3", "tfidf_logreg/soft/w1", "tfidf_logreg/hard/w1",
                    "tfidf_logreg/soft", "tfidf_logreg/hard"]
    assert [parse_key(k) for k in keys[:2] + keys[-1:]] == [
        ("tfidf_logreg", GOLD_ONLY, 0.0), ("tfidf_logreg", "soft", 0.3),
        ("tfidf_logreg", "hard", None)]


def test_weak_weight_sets_the_weak_rows_total_against_the_gold_rows():
    targets = np.array([[0.25, 0.75], [1.0, 0.0], [0.5, 0.5], [0.0, 1.0]])
    rows, y, w = weighted_rows(np.arange(4), targets, [10, 11], [0, 1], dev_weight=3.0,
                               weak_weight=0.5)
    weak, gold = rows < 10, rows >= 10
    assert w[gold].tolist() == [3.0, 3.0] and y[gold].tolist() == [0, 1]
    assert w[weak].sum() == pytest.approx(0.5 * 6.0)
    np.testing.assert_allclose(w[weak], np.array([0.25, 0.75, 1.0, 0.5, 0.5, 1.0]) * 0.75)
    # Capped at weight 1 per row, None is weight 1, 0 drops every weak row.
    assert weighted_rows(np.arange(4), targets, [10], [0], 3.0, 100.0)[2][:-1].max() == 1.0
    assert weighted_rows(np.arange(4), targets, [10], [0], 3.0, None)[2].sum() == 4 + 3
    assert weighted_rows(np.arange(4), targets, [10], [0], 3.0, 0.0)[0].tolist() == [10]


def test_learning_curve_subsamples_are_nested_and_hold_every_class():
    y = np.array([0] * 30 + [1] * 5 + [2] * 2)
    sizes = [3, 10, 20, 37]
    for per_seed in nested_subsamples(y, sizes, n_seeds=4, seed=7):
        assert [len(s) for s in per_seed] == sizes
        for small, large in zip(per_seed, per_seed[1:]):
            assert set(small) <= set(large)
        assert all(set(y[s]) == {0, 1, 2} for s in per_seed)
    a, b = nested_subsamples(y, sizes, n_seeds=2, seed=7)
    assert not np.array_equal(a[1], b[1])  # seeds give different subsamples


def test_learning_curve_scores_on_the_rest_of_dev_only():
    texts, probs, covered = weak_task()
    dev_texts = DEV * 2
    y_dev = np.concatenate([Y_DEV, Y_DEV])
    curve = learning_curve(texts, probs, covered, dev_texts, y_dev,
                           {"name": "tfidf_logreg", "label_mode": "soft", "weak_weight": 1.0,
                            "dev_weight": 3.0}, {"name": "tfidf_logreg"}, n_seeds=2,
                           fractions=(0.25, 0.5))
    assert curve["sizes"] == [5, 10] and len(curve["pipeline"]) == 2
    assert all(0 <= s <= 1 for row in curve["pipeline"] + curve["gold_only"] for s in row)
    # Scoring on the rest: a dev row's label only matters when it is held out, so
    # poisoning the labels of rows that are in every subsample changes the curve, but
    # through training, never by being scored (here: checked via the sizes' complement).
    idx = nested_subsamples(y_dev, curve["sizes"], 2)[0]
    assert len(np.setdiff1d(np.arange(len(y_dev)), idx[0])) == len(y_dev) - 5


def test_crossing_and_labels_worth():
    assert crossing([50, 100, 200], [0.6, 0.7, 0.8], 0.75) == pytest.approx(150)
    assert crossing([50, 100, 200], [0.6, 0.7, 0.8], 0.9) is None
    assert crossing([50, 100, 200], [0.6, 0.7, 0.8], 0.5) == 50
    curve = {"sizes": [50, 100, 200], "pipeline": [[0.75, 0, 0], [0.7, 0, 0], [0.8, 0, 0]],
             "gold_only": [[0.6, 0.7, 0.8]] * 3}
    worth = labels_worth(curve)
    assert (worth["labels"], worth["low"], worth["high"]) == (100, 50, 150)
    assert "worth about 100 hand labels (50 to 150 in 3 of 3 subsamples)" in worth["text"]
    some_beyond = labels_worth({"sizes": [50, 100, 200],
                                "pipeline": [[0.75, 0, 0], [0.7, 0, 0], [0.9, 0, 0]],
                                "gold_only": [[0.6, 0.7, 0.8]] * 3})
    assert some_beyond["text"].endswith(
        "(50 to 100 in 2 of 3 subsamples; in 1 more, gold-only never caught up within 200 "
        "labels)")
    beyond = labels_worth({"sizes": [50, 100], "pipeline": [[0.9, 0]] * 3,
                           "gold_only": [[0.6, 0.7]] * 3})
    assert beyond["more_than"] == 50 and beyond["labels"] is None
    ahead = labels_worth({"sizes": [50, 100], "pipeline": [[0.5, 0]],
                          "gold_only": [[0.6, 0.7]]})
    assert ahead["labels"] == 0 and ahead["gold_only_ahead"] == 1


def _cv_args(**kw):
    texts, probs, covered = weak_task()
    return dict(texts=texts, probs=probs, covered=covered, dev_texts=DEV, y_dev=Y_DEV,
                candidates=["tfidf_logreg"], label_modes=["soft", "hard"], n_folds=2,
                n_repeats=3, weak_weights=(0.0, 0.3, None), **kw)


def test_successive_halving_keeps_gold_only_and_each_models_best_on_the_same_folds():
    exhaustive, splits = oof_probabilities(**_cv_args())
    keys = list(exhaustive)

    def cross_validate(keys=None, repeats=None):
        return oof_probabilities(**_cv_args(keys=keys, repeats=repeats))

    def score(oofs, fold_sets):
        return float(np.mean([(p.argmax(1) == Y_DEV).mean() for p in oofs]))

    oofs, halved_splits, dropped = successive_halving(cross_validate, score, keys, 3, keep=1)
    assert "tfidf_logreg/gold_only" in oofs and len(oofs) < len(keys)
    assert set(oofs) | set(dropped) == set(keys) and not set(oofs) & set(dropped)
    for a, b in zip(halved_splits, splits):
        np.testing.assert_array_equal(a, b)
    for key in oofs:  # survivors: every repeat, exactly the exhaustive OOF predictions
        for a, b in zip(oofs[key], exhaustive[key]):
            np.testing.assert_allclose(a, b)
    first = {key: score(exhaustive[key][:1], splits[:1]) for key in keys}
    assert all(first[key] <= max(first[k] for k in oofs) for key in dropped)
    assert dropped == pytest.approx({key: first[key] for key in dropped})
    # keep >= the number of candidates, or keep=None: exhaustive
    assert set(successive_halving(cross_validate, score, keys, 3, keep=len(keys))[0]) == set(keys)
    assert successive_halving(cross_validate, score, keys, 3, keep=None)[2] == {}


def test_weak_only_cv_fits_once_and_equals_the_per_fold_fits():
    # dev_weight 0: no gold row trains, so every fold's fit is the same model; fitting
    # it once must give what one fit per fold gave.
    texts, probs, covered = weak_task()
    oofs, splits = oof_probabilities(**{**_cv_args(), "dev_weight": 0.0,
                                        "weak_weights": (None,), "label_modes": ["soft"]})
    pipeline = make_end_model("tfidf_logreg")
    for proba, fold_of in zip(oofs["tfidf_logreg/soft"], splits):
        for f in np.unique(fold_of):  # features fit without the held-out fold's texts
            fit = np.flatnonzero(fold_of != f)
            features = clone(pipeline.named_steps["features"]).fit(
                np.array(texts + [DEV[i] for i in fit], object))
            X_train, X_dev = features.transform(texts), features.transform(DEV)
            per_fold = cross_fit_proba(pipeline.named_steps["classifier"], X_train, probs,
                                       X_dev, Y_DEV, fold_of, 0.0, None, 2)
            np.testing.assert_allclose(proba[fold_of == f], per_fold[fold_of == f],
                                       atol=1e-6)


def test_learning_curve_embeds_each_dev_text_once(tmp_path, monkeypatch):
    """The curve's predictions on the rest of dev went through no embedding cache, so a
    MiniLM end model re-embedded those texts at every point (50 of 55 s per seed on the
    bundled task)."""
    from labeling.train.embeddings import MiniLMEmbedder

    encoded: list[str] = []
    monkeypatch.setattr(MiniLMEmbedder, "_encode", lambda self, texts: (
        encoded.extend(texts), np.full((len(texts), 384), 0.1, np.float32))[1])
    texts, probs, covered = weak_task()
    chosen = {"name": "minilm_logreg", "weak_weight": 1.0, "label_mode": "soft"}
    learning_curve(texts, probs, covered, DEV, Y_DEV, chosen, {"name": "minilm_logreg"},
                   fractions=(0.3, 0.6), n_seeds=2, cache_dir=tmp_path)
    assert sorted(encoded) == sorted(set(texts) | set(DEV))


def test_each_folds_oof_predictions_come_from_a_cold_fit_on_the_other_folds():
    """A fit warm-started from another fold's solution (which saw this fold's gold rows)
    stops early near it: its CV is optimistic (trec: +0.03, another choice)."""
    texts, probs, covered = weak_task()
    oofs, splits = oof_probabilities(**{**_cv_args(), "weak_weights": (None,),
                                        "label_modes": ["soft"]})
    train_texts, weak = training_rows(texts, probs, covered)
    pipeline = make_end_model("tfidf_logreg")
    for proba, fold_of in zip(oofs["tfidf_logreg/soft"], splits):
        for f in np.unique(fold_of):
            held, fit = fold_of == f, fold_of != f
            features = clone(pipeline.named_steps["features"]).fit(  # without held-out texts
                np.concatenate([train_texts, np.array(DEV, object)[fit]]))
            X_train, X_dev = features.transform(train_texts), features.transform(DEV)
            rows, targets = weighted_targets(np.arange(len(train_texts)), weak,
                                             len(train_texts) + np.flatnonzero(fit),
                                             Y_DEV[fit], 3.0, None)
            X = sparse.vstack([X_train, X_dev]).tocsr()[rows.astype(int)]
            cold = clone(pipeline.named_steps["classifier"]).fit(X, targets)
            np.testing.assert_allclose(proba[held], cold.predict_proba(X_dev[held]), atol=1e-9)
