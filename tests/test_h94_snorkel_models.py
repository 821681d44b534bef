"""A snorkel user's label-model code, run on snorkel and on labeling.models: same L and
Y_dev, same model (docs/from_snorkel.md)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from snorkel.labeling.model import LabelModel as SnorkelLM

from labeling import models
from labeling.models import SnorkelLabelModel


def _matrix(n=400, seed=0):
    """Three fairly accurate LFs and one that never votes, on an imbalanced task."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.3).astype(int)
    L = np.full((n, 4), -1)
    for j, (acc, cov) in enumerate([(0.85, 0.6), (0.75, 0.5), (0.7, 0.7)]):
        fires = rng.random(n) < cov
        right = rng.random(n) < acc
        L[fires, j] = np.where(right[fires], y[fires], 1 - y[fires])
    return L, y


def test_fit_with_y_dev_is_snorkels_fit_with_y_dev():
    L, y = _matrix()
    L_train, L_dev, y_dev = L[:300], L[300:], y[300:]
    theirs = SnorkelLM(cardinality=2, verbose=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs.fit(L_train, Y_dev=y_dev, n_epochs=200, seed=7, progress_bar=False)
    ours = SnorkelLabelModel(cardinality=2, epochs=200, seed=7).fit(L_train, y_dev=y_dev,
                                                                    L_dev=L_dev)
    np.testing.assert_allclose(ours.class_balance_, theirs.p)  # was Laplace-smoothed
    np.testing.assert_allclose(ours.predict_proba(L_dev), theirs.predict_proba(L_dev),
                               rtol=1e-5, atol=1e-6)


def test_a_class_missing_from_y_dev_still_gets_a_prior():
    L, _ = _matrix()
    model = SnorkelLabelModel(cardinality=2, epochs=20).fit(L, y_dev=np.zeros(10, int))
    np.testing.assert_allclose(model.class_balance_, [11 / 12, 1 / 12])


def test_an_lf_that_never_votes_prints_no_numpy_warning():
    L, _ = _matrix()  # LF 3 never votes: snorkel divides by its coverage, 0
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        model = SnorkelLabelModel(cardinality=2, epochs=20).fit(L)
    assert np.isfinite(model.lf_accuracies_).all()


def test_class_balance_is_snorkels_fit_class_balance(tmp_path):
    L, _ = _matrix(seed=1)
    theirs = SnorkelLM(cardinality=2, verbose=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs.fit(L, class_balance=[0.7, 0.3], n_epochs=100, seed=3, progress_bar=False)
    ours = models.make("snorkel", cardinality=2, epochs=100, seed=3, class_balance=[0.7, 0.3])
    ours.fit(L, y_dev=np.ones(20, int))  # the given balance wins over y_dev's, as in snorkel
    np.testing.assert_allclose(ours.predict_proba(L), theirs.predict_proba(L),
                               rtol=1e-5, atol=1e-6)
    again = models.load(ours.save(tmp_path / "lm.json"))
    assert again.class_balance == [0.7, 0.3]
    np.testing.assert_array_equal(again.predict_proba(L), ours.predict_proba(L))
    with pytest.raises(ValueError, match=r"class_balance must hold 2 positive numbers"):
        models.make("snorkel", cardinality=2, class_balance=[1.0]).fit(L)


def test_snorkels_parameter_names_get_ours_in_the_error():
    with pytest.raises(ValueError, match=r"label model 'snorkel' has no parameter 'n_epochs' "
                       r"\(snorkel's n_epochs is epochs here\); its parameters: epochs, lr"):
        models.make("snorkel", cardinality=2, n_epochs=500)
    with pytest.raises(ValueError, match=r"no parameter 'snorkel_compatibel' \(did you mean "
                       r"'snorkel_compatible'\?\)"):
        models.make("mv", cardinality=2, snorkel_compatibel=True)
