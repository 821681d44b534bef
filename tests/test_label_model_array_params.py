"""A label model saved with a NumPy array parameter loads it back as an array, so a
model of yours (docs/label_models.md, "Your own label model") saved by ``model.save``
reads back the weights it was given, not ``{"__ndarray__": ...}``."""

import json

import numpy as np
import pytest

from labeling.models.base import LabelModel
from labeling.models.persist import load_model, save_model


class ArrayWeights(LabelModel):
    learned_state = {"class_balance_": ("k",)}

    def __init__(self, cardinality=2, weights=None):
        self.cardinality = cardinality
        self.weights = weights

    def fit(self, L, y_dev=None, L_dev=None):
        self.class_balance_ = np.full(self.cardinality, 1.0 / self.cardinality)
        return self

    def predict_proba(self, L):
        L = np.asarray(L)
        score = np.stack([((L == c) * np.asarray(self.weights)).sum(axis=1)
                          for c in range(self.cardinality)], 1) + 1e-3
        return score / score.sum(axis=1, keepdims=True)


# named after the class body: a name in it would register the class for every test
# module collected after this one (the built-in models' tests run over the registry)
ArrayWeights.name = "array_weights_test"


def test_an_array_parameter_round_trips(tmp_path):
    L = np.array([[1, 0], [0, 0], [1, -1]])
    model = ArrayWeights(weights=np.array([2.0, 1.0])).fit(L)
    loaded = load_model(save_model(model, tmp_path / "lm.json"),
                        {ArrayWeights.name: ArrayWeights})
    assert isinstance(loaded.weights, np.ndarray)
    np.testing.assert_array_equal(loaded.weights, [2.0, 1.0])
    np.testing.assert_allclose(loaded.predict_proba(L), model.predict_proba(L))


def test_params_that_are_not_an_object_are_one_line(tmp_path):
    path = save_model(ArrayWeights(weights=[1.0, 1.0]).fit(np.array([[1, 0]])),
                      tmp_path / "lm.json")
    data = json.loads(path.read_text())
    data["params"] = [1, 2]
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="params must be an object"):
        load_model(path, {ArrayWeights.name: ArrayWeights})
