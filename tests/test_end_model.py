"""The end model: soft labels as weighted copies, uncovered rows left out, full proba."""

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
    with pytest.raises(ValueError, match="unknown end model 'bert'.*tfidf_logreg"):
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


def test_label_mode_choice_keeps_the_better_mode_on_dev():
    from labeling.train.end_model import train_with_label_mode_choice

    texts = SPAM + HAM
    # Under-confident soft labels that lean the wrong way on the spam rows' copies:
    # soft training keeps 45% spam mass, hard training turns them into clean labels.
    probs = np.array([[0.45, 0.55]] * 6 + [[0.9, 0.1]] * 6)
    dev_texts = ["subscribe to my channel now", "love this song so much"]
    y_dev = np.array([1, 0])
    model, mode, scores = train_with_label_mode_choice(
        texts, probs, np.ones(12, bool), dev_texts, y_dev, cardinality=2, label_mode="auto")
    assert set(scores) == {"soft", "hard"}
    assert scores[mode] == max(scores.values())
    if scores["soft"] == scores["hard"]:
        assert mode == "soft"  # ties go to soft
    pred = predict_proba_full(model, dev_texts, 2).argmax(axis=1)
    assert float(np.mean(pred == y_dev)) == scores[mode]
    # Without dev gold, auto means soft.
    _, mode, scores = train_with_label_mode_choice(texts, probs, np.ones(12, bool), dev_texts,
                                                   None, cardinality=2, label_mode="auto")
    assert mode == "soft" and scores == {}
