"""SoftLogisticRegression: soft targets on one row per text give the optimum of one
weighted copy per class, and everything after fitting is LogisticRegression's."""

import numpy as np
import pytest
from scipy import sparse
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression

from labeling.train.soft_logreg import (SoftLogisticRegression, _SoftmaxObjective,
                                        plain_logistic_regression)


def _problem(k, dense, seed=0, n=300, d=40):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    if not dense:
        X = sparse.csr_matrix(np.where(rng.random((n, d)) < 0.2, np.abs(X), 0.0))
    targets = rng.dirichlet(np.full(k, 0.5), size=n) * rng.uniform(0.5, 3.0, size=(n, 1))
    targets[targets < 1e-3] = 0.0
    return X, targets


@pytest.mark.parametrize("k", [2, 5])
@pytest.mark.parametrize("solver,dense", [("lbfgs", True), ("newton-cg", False),
                                          ("newton-cg", True)])
def test_soft_targets_reach_the_optimum_of_weighted_copies(k, solver, dense):
    X, targets = _problem(k, dense)
    rows, classes = np.nonzero(targets)
    params = {"C": 3.0, "solver": solver, "tol": 1e-9, "max_iter": 5000}
    copies = LogisticRegression(**params).fit(X[rows], classes,
                                             sample_weight=targets[rows, classes])
    soft = SoftLogisticRegression(**params).fit(X, targets)
    assert soft.coef_.shape == copies.coef_.shape and soft.classes_.tolist() == list(range(k))
    np.testing.assert_allclose(soft.predict_proba(X), copies.predict_proba(X), atol=1e-6)


def test_default_tolerance_is_close_to_scikit_learns_fit():
    X, targets = _problem(4, dense=False, seed=1)
    rows, classes = np.nonzero(targets)
    copies = LogisticRegression(C=10.0, solver="newton-cg").fit(
        X[rows], classes, sample_weight=targets[rows, classes])
    soft = SoftLogisticRegression(C=10.0, solver="newton-cg").fit(X, targets)
    np.testing.assert_allclose(soft.predict_proba(X), copies.predict_proba(X), atol=1e-3)


def test_a_class_without_weight_is_not_a_class():
    X, targets = _problem(3, dense=True)
    targets[:, 1] = 0.0
    soft = SoftLogisticRegression().fit(X, targets)
    assert soft.classes_.tolist() == [0, 2] and soft.coef_.shape == (1, X.shape[1])
    assert soft.predict_proba(X).shape == (len(X), 2)


def test_class_labels_are_scikit_learns_own_fit():
    X, targets = _problem(3, dense=True)
    y = targets.argmax(axis=1)
    np.testing.assert_array_equal(SoftLogisticRegression(C=2.0).fit(X, y).coef_,
                                  LogisticRegression(C=2.0).fit(X, y).coef_)


@pytest.mark.parametrize("targets,kwargs,message", [
    (np.array([[1.0, 0.0], [0.5, -0.5]]), {}, "non-negative"),
    (np.array([[1.0, 0.0]]), {}, "one non-negative row per sample"),
    (np.array([[1.0, 0.0], [2.0, 0.0]]), {}, "one class"),
    (np.array([[1.0, 0.0], [0.0, 1.0]]), {"sample_weight": np.ones(2)}, "sample_weight"),
])
def test_bad_soft_targets_are_refused(targets, kwargs, message):
    with pytest.raises(ValueError, match=message):
        SoftLogisticRegression().fit(np.array([[0.0], [1.0]]), targets, **kwargs)


def test_estimator_contract_and_plain_copy():
    X, targets = _problem(3, dense=True)
    model = SoftLogisticRegression(C=0.5, solver="newton-cg")
    assert clone(model).get_params() == model.get_params()
    model.fit(X, targets)
    plain = plain_logistic_regression(model)
    assert type(plain) is LogisticRegression and plain.get_params() == model.get_params()
    np.testing.assert_array_equal(plain.predict_proba(X), model.predict_proba(X))


def test_warm_start_starts_from_the_last_solution():
    X, targets = _problem(3, dense=True)
    model = SoftLogisticRegression(warm_start=True).fit(X, targets)
    assert model.fit(X, targets).n_iter_[0] <= 1  # already at the optimum
    assert SoftLogisticRegression().fit(X, targets).n_iter_[0] > 1


def test_curvature_uses_the_point_it_is_asked_about():
    """A rejected line-search step evaluates the loss elsewhere; the Hessian product at
    the current point must not reuse those probabilities."""
    X, targets = _problem(3, dense=True)
    weights = targets.sum(axis=1)
    objective = _SoftmaxObjective(X, targets / weights[:, None], weights / weights.sum(),
                                  0.1, True)
    rng = np.random.default_rng(3)
    here, elsewhere, v = (rng.normal(size=objective.size) for _ in range(3))
    objective.loss_grad(here)
    expected = objective.hessp(here, v)
    objective.loss_grad(elsewhere)
    np.testing.assert_allclose(objective.hessp(here, v), expected)
