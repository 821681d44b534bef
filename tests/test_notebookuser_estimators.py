"""The scikit-learn estimator contract of every label model, as a notebook user leans on
it beyond tests/test_estimator_contract.py's parameter checks: NotFittedError before fit,
``classes_``, a short repr, pickling, list/numpy/pandas inputs alike, a refit that keeps
nothing of the first fit, and dev gold refused with one line naming the bad row."""

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from labeling import models

rng = np.random.default_rng(0)
Y = rng.integers(0, 2, 120)
L = np.where(rng.random((120, 5)) < 0.4, -1,
             np.where(rng.random((120, 5)) < 0.8, Y[:, None], 1 - Y[:, None]))
L_DEV, Y_DEV = L[:60], Y[:60]
FAST = {"snorkel": {"epochs": 20}, "auto": {"n_folds": 3, "n_repeats": 1}}
NAMES = sorted(models.BUILT_IN)


def make(name, **params):
    return models.make(name, cardinality=2, **{**FAST.get(name, {}), **params})


@pytest.mark.parametrize("name", NAMES)
def test_predicting_before_fit_is_not_fitted_error_naming_the_model(name):
    model = make(name)
    for call in (model.predict_proba, model.predict):
        with pytest.raises(NotFittedError, match=f"this {type(model).__name__} is not "
                                                 r"fitted yet \(no \w+_\); call fit\(L\) first"):
            call(L)
    assert not hasattr(model, "classes_") and not hasattr(model, "class_balance_")


@pytest.mark.parametrize("name", NAMES)
def test_classes_name_the_predict_proba_columns(name):
    model = make(name).fit(L, y_dev=Y_DEV, L_dev=L_DEV)
    assert model.classes_.tolist() == [0, 1]
    proba = model.predict_proba(L)
    assert proba.shape == (len(L), len(model.classes_))
    np.testing.assert_array_equal(model.classes_[proba.argmax(axis=1)][proba.max(axis=1) > 0.6],
                                  model.predict(L)[proba.max(axis=1) > 0.6])


@pytest.mark.parametrize("name", NAMES)
def test_repr_is_the_class_and_its_changed_parameters(name):
    model = make(name)
    text = repr(model)
    assert text.startswith(f"{type(model).__name__}(") and "\n" not in text and len(text) < 120
    assert repr(models.make("mv", cardinality=3)) == "MajorityVote(cardinality=3)"
    assert repr(clone(model)) == text


@pytest.mark.parametrize("name", NAMES)
def test_pickle_of_a_fitted_model_predicts_the_same(name):
    model = make(name).fit(L, y_dev=Y_DEV, L_dev=L_DEV)
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(again.predict_proba(L), model.predict_proba(L))
    assert repr(again) == repr(model)


@pytest.mark.parametrize("name", NAMES)
def test_lists_numpy_and_pandas_fit_alike(name):
    expected = make(name).fit(L, y_dev=Y_DEV, L_dev=L_DEV).predict_proba(L)
    as_list = make(name).fit(L.tolist(), y_dev=Y_DEV.tolist(), L_dev=L_DEV.tolist())
    np.testing.assert_allclose(as_list.predict_proba(L.tolist()), expected)
    frame = make(name).fit(pd.DataFrame(L), y_dev=pd.Series(Y_DEV, index=range(500, 560)),
                           L_dev=pd.DataFrame(L_DEV))
    np.testing.assert_allclose(frame.predict_proba(pd.DataFrame(L)), expected)


@pytest.mark.parametrize("name", NAMES)
def test_a_second_fit_keeps_nothing_of_the_first(name):
    model = make(name).fit(L, y_dev=Y_DEV, L_dev=L_DEV)
    model.fit(L[:, :3])  # other LFs, no dev gold
    fresh = make(name).fit(L[:, :3])
    assert set(vars(model)) == set(vars(fresh))
    np.testing.assert_allclose(model.predict_proba(L[:, :3]), fresh.predict_proba(L[:, :3]))


@pytest.mark.parametrize("name", [n for n in NAMES if n != "auto"])
def test_dev_gold_that_is_not_class_indices_is_refused_naming_the_row(name):
    bad = Y_DEV.copy()
    bad[7] = 2
    with pytest.raises(ValueError, match=r"y_dev must hold class indices 0\.\.1 .*row 7 holds 2$"):
        make(name).fit(L, y_dev=bad, L_dev=L_DEV)
    with pytest.raises(ValueError, match=f"row 0 holds '{['ham', 'spam'][Y_DEV[0]]}'"):
        make(name).fit(L, y_dev=np.array(["ham", "spam"])[Y_DEV], L_dev=L_DEV)
    with pytest.raises(ValueError, match="y_dev has 10 rows but L_dev has 60"):
        make(name).fit(L, y_dev=Y_DEV[:10], L_dev=L_DEV)
    float_gold = make(name).fit(L, y_dev=Y_DEV.astype(float), L_dev=L_DEV)
    np.testing.assert_allclose(float_gold.predict_proba(L),
                               make(name).fit(L, y_dev=Y_DEV, L_dev=L_DEV).predict_proba(L))
