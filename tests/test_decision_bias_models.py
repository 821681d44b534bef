"""apply_decision_bias on every end-model kind: a Pipeline's intercept moves; a model
that shifts its own probabilities (the average, an end model of yours) keeps the bias."""

import numpy as np
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from labeling.train.ensemble import apply_decision_bias
from labeling.train.user_model import UserEndModel

TEXTS = ["good fun", "great song", "bad spam", "buy now spam", "nice video", "click link"]
Y = np.array([0, 0, 1, 1, 0, 1])


def test_an_end_model_of_yours_keeps_the_bias_and_shifts_its_probabilities():
    model = UserEndModel(make_pipeline(CountVectorizer(), LogisticRegression()),
                         factory="t.py:make").fit(TEXTS, Y)
    before = model.predict_proba(TEXTS)
    apply_decision_bias(model, np.array([0.0, 5.0]))
    np.testing.assert_array_equal(model.decision_bias_, [0.0, 5.0])
    assert (model.predict_proba(TEXTS)[:, 1] > before[:, 1]).all()
    assert (model.predict(TEXTS) == 1).all()


def test_a_pipelines_intercept_moves():
    model = make_pipeline(CountVectorizer(), LogisticRegression()).fit(TEXTS, Y)
    intercept = model.steps[-1][1].intercept_.copy()
    apply_decision_bias(model, np.array([0.0, 1.5]))
    np.testing.assert_allclose(model.steps[-1][1].intercept_, intercept + 1.5)
