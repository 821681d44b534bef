"""Averaging end models' probabilities, and a learned decision bias (prior correction).

``ProbabilityAverage`` fits several end-model pipelines on the same weighted rows and
predicts the mean of their probabilities: TF-IDF and MiniLM make different mistakes
(surface n-grams vs meaning), and measured on WRENCH dev CV their average is as good
as or better than the better one, where concatenating their features under one model
was worse (see benchmarks/end_models.py).

A decision bias ``b`` (one log-weight per class) turns probabilities ``p(c|x)`` into
``p(c|x) * exp(b_c)``, renormalised: a prior correction for the class mix. The weak
labels teach the LFs' class mix and their caution (on sms the model is precise but
misses a quarter of the spam), and F1 of a rare class depends heavily on where the
decision falls. :func:`labeling.metrics.fit_decision_bias` chooses ``b`` on dev out-of-fold
probabilities; :func:`apply_decision_bias` folds it into the fitted model, so that
``predict_proba``'s argmax *is* the biased decision everywhere the model goes (skops,
ONNX, ``labeling predict``, the fast TF-IDF path):

- for a logistic-regression head, ``softmax(z + b)`` is exactly ``softmax(z) * exp(b)``
  renormalised, so ``b`` is added to the intercept (binary: ``b_1 - b_0``);
- for a :class:`ProbabilityAverage`, ``b`` is its ``decision_bias_``.

>>> import numpy as np
>>> from labeling.metrics import fit_decision_bias
>>> proba = np.array([[0.7, 0.3], [0.9, 0.1], [0.45, 0.55]])
>>> b = fit_decision_bias(proba, np.array([1, 0, 1]), "f1", pos_label=1)
>>> (np.log(proba) + b).argmax(axis=1).tolist()
[1, 0, 1]
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from labeling.metrics import shifted


def text_list(X) -> list:
    """``X`` as a list of texts; one string (which would be read as its characters) is
    refused."""
    if isinstance(X, (str, bytes)):
        raise ValueError("expected a list of texts, got one string: pass [text]")
    return list(X)


class ProbabilityAverage(ClassifierMixin, BaseEstimator):
    """The mean of ``estimators``' (``[(name, pipeline), ...]``) ``predict_proba``, times
    ``exp(decision_bias_)`` renormalised. ``fit`` passes ``y`` (class labels with
    ``sample_weight``, or a soft target matrix) to each pipeline; every member sees the
    same rows, so the same classes."""

    def __init__(self, estimators):
        self.estimators = estimators

    def fit(self, X, y, sample_weight=None):
        X = np.asarray(text_list(X), dtype=object)
        self.estimators_ = []
        for name, estimator in self.estimators:
            fitted = clone(estimator)
            fitted.fit(X, y, classifier__sample_weight=sample_weight)
            self.estimators_.append((name, fitted))
        self.classes_ = self.estimators_[0][1].classes_
        self.decision_bias_ = np.zeros(len(self.classes_))
        return self

    def predict_proba(self, X) -> np.ndarray:
        check_is_fitted(self, "estimators_")
        X = text_list(X)
        mean = np.mean([e.predict_proba(X) for _, e in self.estimators_], axis=0)
        return shifted(mean, self.decision_bias_)

    def predict(self, X) -> np.ndarray:
        proba = self.predict_proba(X)  # first: NotFittedError, not a missing classes_
        return self.classes_[proba.argmax(axis=1)]


def apply_decision_bias(model, bias) -> None:
    """Fold ``bias`` (one entry per class in ``model.classes_``) into the fitted ``model``."""
    bias = np.asarray(bias, float)
    if not isinstance(model, Pipeline) and hasattr(model, "decision_bias_"):
        # a model that shifts its own probabilities (ProbabilityAverage, UserEndModel)
        model.decision_bias_ = model.decision_bias_ + bias
        return
    classifier = model.steps[-1][1]
    if classifier.intercept_.shape[0] == 1:  # binary: one log-odds for classes_[1]
        classifier.intercept_ = classifier.intercept_ + (bias[1] - bias[0])
    else:
        classifier.intercept_ = classifier.intercept_ + bias
    classifier.decision_bias_ = getattr(classifier, "decision_bias_", 0) + bias
