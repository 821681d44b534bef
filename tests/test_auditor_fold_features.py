"""Audit: the weak candidates' TF-IDF in the end model's dev CV was fit on every dev text,
the held-out fold's included (its n-grams in the vocabulary and the IDF), while the
gold-only candidate's was fit per fold and the refit's never sees a test text: the
paired comparison was not like for like. Each fold's features are now fit without its
held-out texts (labeling.train.fold_features.FoldFeatures)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from sklearn.base import clone

from labeling.train.cross_validation import oof_probabilities
from labeling.train.end_model import make_end_model
from labeling.train.fold_features import FoldFeatures

sys.path.insert(0, str(Path(__file__).parent))
from conftest import WEAK_DEV, WEAK_HAM, WEAK_SPAM, WEAK_Y_DEV  # noqa: E402

TRAIN = WEAK_SPAM + WEAK_HAM + ["zqxj unusual wording here", "another zqxj text"]


def test_fold_features_equal_tfidf_fit_on_the_folds_texts():
    features = make_end_model("tfidf_logreg").named_steps["features"]
    fold = FoldFeatures(features, TRAIN, WEAK_DEV)
    assert fold.blocks is not None  # the default TF-IDF is derived from counts
    for rows in ([0, 2, 3], list(range(len(WEAK_DEV))), [1]):
        X_train, X_dev = fold.matrices(rows)
        ref = clone(features).fit(np.asarray(TRAIN + [WEAK_DEV[i] for i in rows], object))
        assert X_train.shape == ref.transform(TRAIN).shape
        np.testing.assert_allclose(X_train.toarray(), ref.transform(TRAIN).toarray(),
                                   atol=1e-12)
        np.testing.assert_allclose(X_dev.toarray(), ref.transform(WEAK_DEV).toarray(),
                                   atol=1e-12)


def test_cv_never_fits_features_on_the_held_out_texts():
    """A held-out dev text whose words appear nowhere else: with the features fit on it,
    its n-grams entered the vocabulary and IDF; now its prediction is that of a text
    the features never saw, whatever its own words."""
    probs = np.array([[0.2, 0.8]] * 6 + [[0.9, 0.1]] * 6 + [[0.5, 0.5]] * 2)
    dev = list(WEAK_DEV)
    y = np.asarray(WEAK_Y_DEV)
    args = dict(texts=TRAIN, probs=probs, covered=np.ones(len(TRAIN), bool), y_dev=y,
                candidates=["tfidf_logreg"], label_modes=["soft"], n_folds=2, n_repeats=1,
                weak_weights=(1.0,))
    base, splits = oof_probabilities(dev_texts=dev, **args)
    # rewrite one held-out text's words into tokens no other text has: if the CV's
    # features were fit on it, the other rows' features would move (new IDF, new
    # n-grams shared with them); fit without it, only its own row can change
    row = 0
    dev2 = list(dev)
    dev2[row] = "qqqq wwww eeee"
    moved, _ = oof_probabilities(dev_texts=dev2, **args)
    fold_of = splits[0]
    same_fold = np.flatnonzero(fold_of == fold_of[row])
    others = np.setdiff1d(same_fold, [row])
    np.testing.assert_allclose(moved["tfidf_logreg/soft/w1"][0][others],
                               base["tfidf_logreg/soft/w1"][0][others], atol=1e-9)


def test_each_folds_features_are_derived_once_while_they_fit_in_the_memo(monkeypatch):
    # found in review: the CV asked for each fold's matrices once per weak weight and
    # label mode, deriving them again each time (5.4 s a call on 50k train rows)
    from labeling.train.end_model import make_tfidf_logreg
    from labeling.train.fold_features import FoldFeatures

    texts = [f"comment {i} about song {i % 7} and channel {i % 5}" for i in range(60)]
    folds = FoldFeatures(make_tfidf_logreg().named_steps["features"], texts[:40], texts[40:])
    derived = []
    real = folds._derive
    monkeypatch.setattr(folds, "_derive", lambda rows: derived.append(1) or real(rows))
    first = folds.matrices(np.arange(10))
    assert folds.matrices(np.arange(10)) is first and len(derived) == 1
    monkeypatch.setattr(FoldFeatures, "MEMO_BYTES", 0)  # over the memo: derived each time
    other = FoldFeatures(make_tfidf_logreg().named_steps["features"], texts[:40], texts[40:])
    real_other = other._derive
    monkeypatch.setattr(other, "_derive", lambda rows: derived.append(1) or real_other(rows))
    other.matrices(np.arange(10))
    other.matrices(np.arange(10))
    assert len(derived) == 3
