"""The CV's per-fold training matrix is built in one copy of the weak rows' features (it
was two: train and dev stacked whole, then the rows taken), with the same rows in the
same order, so the same out-of-fold probabilities."""

import numpy as np
import pytest
from scipy import sparse

from labeling.train.cross_validation import _stack_rows, cross_fit_proba
from labeling.train.end_model import weighted_targets
from labeling.train.soft_logreg import SoftLogisticRegression


@pytest.mark.parametrize("is_sparse", [True, False])
@pytest.mark.parametrize("drop_some", [True, False])
def test_stack_rows_is_stack_then_take(is_sparse, drop_some):
    rng = np.random.default_rng(0)
    X_train, X_dev = rng.random((40, 6)).astype(np.float32), rng.random((12, 6)).astype(np.float32)
    rows = np.r_[np.arange(40)[::3] if drop_some else np.arange(40), 40 + np.array([1, 4, 7])]
    if is_sparse:
        X_train, X_dev = sparse.csr_matrix(X_train), sparse.csr_matrix(X_dev)
        expected = sparse.vstack([X_train, X_dev]).tocsr()[rows].toarray()
        got = _stack_rows(X_train, X_dev, rows)
        assert sparse.issparse(got) and got.format == "csr"
        got = got.toarray()
    else:
        expected, got = np.vstack([X_train, X_dev])[rows], _stack_rows(X_train, X_dev, rows)
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)


def test_cross_fit_proba_unchanged():
    rng = np.random.default_rng(1)
    X_train, X_dev = rng.normal(size=(200, 5)), rng.normal(size=(30, 5))
    targets = rng.dirichlet([1, 1], 200)
    targets[:50] = [1.0, 0.0005]  # some class weights below MIN_WEIGHT
    y_dev = (X_dev[:, 0] > 0).astype(int)
    fold_of = np.arange(30) % 3
    got = cross_fit_proba(SoftLogisticRegression(), X_train, targets, X_dev, y_dev, fold_of,
                          3.0, 0.3, 2)
    expected = np.zeros((30, 2))
    for f in range(3):  # the construction before: stack whole, take the rows
        fit_idx, held = np.flatnonzero(fold_of != f), np.flatnonzero(fold_of == f)
        rows, w = weighted_targets(np.arange(200), targets, 200 + fit_idx, y_dev[fit_idx],
                                   3.0, 0.3)
        model = SoftLogisticRegression().fit(np.vstack([X_train, X_dev])[rows.astype(int)], w)
        expected[held] = model.predict_proba(X_dev[held])
    np.testing.assert_array_equal(got, expected)


def test_cv_shows_a_progress_bar_on_many_weak_rows(monkeypatch, capsys):
    from labeling.train import cross_validation as cv
    rng = np.random.default_rng(2)
    words = [["refund", "invoice", "charge"], ["crash", "error", "login"]]
    y = rng.integers(0, 2, 80)
    texts = [" ".join(rng.choice(words[c], 3)) + f" n{i}" for i, c in enumerate(y)]
    probs = np.eye(2)[y] * 0.8 + 0.1
    dev_texts, y_dev = texts[:24], y[:24]

    def run():
        cv.oof_probabilities(texts, probs, np.ones(80, bool), dev_texts, y_dev,
                             ["tfidf_logreg"], ["soft"], weak_weights=(0.3, 1.0),
                             n_repeats=2)
        return capsys.readouterr().err

    assert "end model CV" not in run()  # 80 weak rows: seconds, no bar
    monkeypatch.setattr(cv, "PROGRESS_MIN_ROWS", 50, raising=False)
    err = run()
    assert "end model CV (80 weak rows)" in err and "fit/s" in err
    assert "0/12 [" in err  # 2 weak weights x 2 repeats x 3 folds
