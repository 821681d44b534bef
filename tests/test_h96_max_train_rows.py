"""``[end_model] params.max_train_rows``: a cap on the weak rows the end model is fit on
(300k-1M support tickets: every fit, CV fold and learning-curve fit grows with them)."""

import numpy as np
import pytest

from labeling.train.auto import choose_end_model, end_model_options
from labeling.train.end_model import cap_train_rows
from labeling.train.learning_curve import learning_curve

WORDS = {0: ["refund", "invoice", "charge", "billing"], 1: ["crash", "error", "login", "bug"]}


def data(n, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    texts = [" ".join(rng.choice(WORDS[c], 3)) + f" ticket {i}" for i, c in enumerate(y)]
    probs = np.where(y[:, None] == np.arange(2), 0.8, 0.2)
    return texts, probs, y


def test_cap_is_a_seeded_sample_of_the_covered_rows():
    covered = np.arange(100) % 4 != 0  # 75 covered
    capped = cap_train_rows(covered, 30, seed=1)
    assert capped.sum() == 30 and not (capped & ~covered).any()
    assert np.array_equal(capped, cap_train_rows(covered, 30, seed=1))
    assert np.array_equal(cap_train_rows(covered, 500), covered)
    assert np.array_equal(cap_train_rows(covered, None), covered)
    for bad in (0, -5, 2.5, "10", True):
        with pytest.raises(ValueError, match="max_train_rows"):
            cap_train_rows(covered, bad)


def test_end_model_is_fit_on_at_most_max_train_rows(monkeypatch):
    texts, probs, y = data(400)
    dev_texts, _, y_dev = data(30, seed=1)
    options = end_model_options("tfidf_logreg", {"max_train_rows": 50, "weak_weights": [None],
                                                 "decision_bias": False})
    assert options["max_train_rows"] == 50  # an option of the choice, not a model param
    seen = []
    import labeling.train.auto as auto
    real = auto.train_end_model

    def spy(texts, probs, covered, *args, **kwargs):
        seen.append(int(np.asarray(covered).sum()))
        return real(texts, probs, covered, *args, **kwargs)

    monkeypatch.setattr(auto, "train_end_model", spy)
    model, report = choose_end_model(texts, probs, np.ones(400, bool), dev_texts, y_dev,
                                     seed=0, **options)
    assert seen == [50]
    assert report["train_rows_cap"] == {"max_train_rows": 50, "seed": 0, "covered": 400,
                                        "used": 50}
    # the learning curve's pipeline fits use the same 50 rows
    import labeling.train.learning_curve as lc
    curve_rows = []
    real_fit = lc.train_end_model

    def curve_spy(texts, probs, covered, *args, weak_weight=None, **kwargs):
        if weak_weight != 0.0:
            curve_rows.append(np.flatnonzero(covered).tolist())
        return real_fit(texts, probs, covered, *args, weak_weight=weak_weight, **kwargs)

    monkeypatch.setattr(lc, "train_end_model", curve_spy)
    learning_curve(texts, probs, np.ones(400, bool), dev_texts, y_dev, report,
                   {"name": "tfidf_logreg"}, n_seeds=1)
    expected = np.flatnonzero(cap_train_rows(np.ones(400, bool), 50, 0)).tolist()
    assert curve_rows and all(rows == expected for rows in curve_rows)


def test_no_cap_by_default():
    texts, probs, _ = data(60)
    dev_texts, _, y_dev = data(12, seed=1)
    _, report = choose_end_model(texts, probs, np.ones(60, bool), dev_texts, y_dev,
                                 name="tfidf_logreg", weak_weights=[None],
                                 decision_bias=False)
    assert "train_rows_cap" not in report
