"""End models as a notebook user composes them with scikit-learn: SoftLogisticRegression
passes scikit-learn's own estimator checks, soft targets get scikit-learn's input checks,
and the averaging model refuses to predict unfitted or on one bare string."""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.estimator_checks import check_estimator

from labeling.train.end_model import make_tfidf_logreg
from labeling.train.ensemble import ProbabilityAverage
from labeling.train.soft_logreg import SoftLogisticRegression

TEXTS = ["buy now cheap", "check my channel", "nice song", "love it", "subscribe to me",
         "great video", "free money here", "this song rocks", "visit my page", "so good"] * 3
Y = np.array([1, 1, 0, 0, 1, 0, 1, 0, 1, 0] * 3)
SOFT = np.eye(2)[Y] * 0.8 + 0.1
X = np.random.default_rng(0).normal(size=(30, 3))


def test_soft_logistic_regression_passes_scikit_learns_estimator_checks():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(SoftLogisticRegression(), on_fail=None)
    failed = [(r["check_name"], str(r["exception"])[:200]) for r in results
              if r["status"] == "failed"]
    assert not failed


def test_a_column_vector_of_labels_is_labels_not_soft_targets():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scikit-learn's DataConversionWarning
        column = SoftLogisticRegression().fit(X, Y[:, None])
    np.testing.assert_allclose(column.predict_proba(X),
                               SoftLogisticRegression().fit(X, Y).predict_proba(X))


def test_soft_targets_get_scikit_learns_input_checks():
    with pytest.raises(ValueError, match="NaN"):
        SoftLogisticRegression().fit(np.where(X > 1, np.nan, X), SOFT)
    with pytest.raises(ValueError, match="Expected 2D array"):
        SoftLogisticRegression().fit(X[:, 0], SOFT)
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    model = SoftLogisticRegression().fit(frame, SOFT)
    assert model.feature_names_in_.tolist() == ["a", "b", "c"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "fitted without feature names" before
        model.predict(frame)
        model.fit(X, SOFT).predict(X)  # the refit on an array keeps no names
    assert not hasattr(model, "feature_names_in_")


def average():
    return ProbabilityAverage([("a", make_tfidf_logreg(C=1.0)), ("b", make_tfidf_logreg(C=10.0))])


def test_probability_average_before_fit_and_on_one_string():
    with pytest.raises(NotFittedError, match="ProbabilityAverage instance is not fitted yet"):
        average().predict(TEXTS)
    model = average().fit(TEXTS, SOFT)
    with pytest.raises(ValueError, match=r"got one string: pass \[text\]"):
        model.predict("check my channel")  # was 16 predictions, one per character
    assert model.predict(["check my channel"]).tolist() == [1]


def test_probability_average_pickles_clones_and_takes_pandas():
    model = average().fit(TEXTS, SOFT)
    proba = model.predict_proba(TEXTS)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(model)).predict_proba(TEXTS), proba)
    with pytest.raises(NotFittedError):
        clone(model).predict(TEXTS)
    again = clone(model).fit(pd.Series(TEXTS), pd.DataFrame(SOFT))
    np.testing.assert_allclose(again.predict_proba(pd.Series(TEXTS)), proba)
    assert model.classes_[proba.argmax(axis=1)].tolist() == model.predict(TEXTS).tolist()


def test_predict_proba_full_refuses_one_bare_string():
    from labeling.train.end_model import predict_proba_full

    model = make_tfidf_logreg().fit(TEXTS, SOFT)
    with pytest.raises(ValueError, match=r"got one string: pass \[text\]"):
        predict_proba_full(model, "check my channel", 2)  # was one row per character
    assert predict_proba_full(model, ["check my channel"], 2).shape == (1, 2)


def test_a_refit_drops_the_last_fits_decision_bias():
    from labeling.train.ensemble import apply_decision_bias

    model = make_tfidf_logreg().fit(TEXTS, SOFT)
    fresh = model.predict_proba(TEXTS)
    apply_decision_bias(model, np.array([0.0, 2.0]))
    assert model.steps[-1][1].decision_bias_.tolist() == [0.0, 2.0]
    model.fit(TEXTS, SOFT)  # before: decision_bias_ [0, 2] stayed, the intercept had none
    assert not hasattr(model.steps[-1][1], "decision_bias_")
    np.testing.assert_allclose(model.predict_proba(TEXTS), fresh)


def test_the_minilm_embedder_refuses_one_bare_string():
    # before: MiniLMEmbedder().transform("text") embedded each character (4 rows), so
    # minilm_logreg.predict("text") answered per character (found by the notebook user)
    from labeling.train.embeddings import MiniLMEmbedder

    with pytest.raises(ValueError, match=r"one string: pass \[text\]"):
        MiniLMEmbedder().fit(["a"]).transform("text")
