"""Label models and end models follow scikit-learn's estimator contract where it applies.

Which of scikit-learn's own checks apply (docs/architecture.md, "Estimator contract"):
label models take a label matrix and optional dev gold, ``fit(L, y_dev=None,
L_dev=None)``, not ``fit(X, y)``, so the data-driven checks of ``check_estimator`` do
not apply; the parameter checks below do. End models take raw texts, so the numeric-X
checks do not apply to them either; their parameters follow the contract and ``clone``
gives an unfitted copy.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.utils.estimator_checks import (check_get_params_invariance,
                                            check_no_attributes_set_in_init,
                                            check_parameters_default_constructible,
                                            check_set_params)

from labeling import models
from labeling.train.end_model import make_end_model

L = np.array([[1, 1, -1], [0, 0, 1], [1, -1, 1], [0, 0, -1], [1, 1, 1], [0, -1, 0],
              [1, 1, 0], [0, 0, 0], [1, -1, -1], [0, 1, 0]] * 3)
Y = np.array([1, 0, 1, 0, 1, 0, 1, 0, 1, 0] * 3)
# snorkel's LabelModel trains with torch for its epochs: a few are enough here.
FAST = {"snorkel": {"epochs": 20}, "auto": {"n_folds": 3, "n_repeats": 1}}


@pytest.mark.parametrize("name", sorted(models.BUILT_IN))
def test_label_model_parameter_checks(name):
    model = models.make(name, cardinality=2)
    for check in (check_no_attributes_set_in_init, check_get_params_invariance,
                  check_set_params, check_parameters_default_constructible):
        check(name, model)


@pytest.mark.parametrize("name", sorted(models.BUILT_IN))
def test_label_model_clone_fit_returns_self_and_learned_attributes_end_in_underscore(name):
    model = models.make(name, cardinality=2, **FAST.get(name, {}))
    before = set(vars(model))
    assert model.fit(L, y_dev=Y, L_dev=L) is model
    learned = set(vars(model)) - before
    assert learned and all(a.endswith("_") or a.startswith("_") for a in learned), learned
    copy = clone(model)
    assert type(copy) is type(model) and copy.get_params() == model.get_params()
    assert not set(vars(copy)) - before  # unfitted: no learned attribute is carried over
    np.testing.assert_allclose(copy.fit(L, y_dev=Y, L_dev=L).predict_proba(L),
                               model.predict_proba(L))


def test_set_params_names_an_unknown_parameter():
    with pytest.raises(ValueError, match="MajorityVote has no parameter 'alpha'"):
        models.make("mv", cardinality=2).set_params(alpha=1)


@pytest.mark.parametrize("name", ["tfidf_logreg", "minilm_logreg", "tfidf_minilm_avg"])
def test_end_models_clone_unfitted(name):
    model = make_end_model(name)
    copy = clone(model)
    assert copy is not model
    assert repr(copy.get_params(deep=False)) == repr(model.get_params(deep=False))
