"""A dev gold of one class stops training with a message naming the dev gold, not the
label model (whose mass can be spread over every class)."""

import numpy as np
import pytest

from labeling.train.end_model import train_end_model

TEXTS = ["win a free prize now", "lovely song", "call now to claim", "great video"]
PROBS = np.array([[0.2, 0.8], [0.9, 0.1], [0.3, 0.7], [0.8, 0.2]])  # both classes


def test_gold_only_fit_on_one_class_dev_gold_names_the_dev_gold():
    with pytest.raises(ValueError, match="dev gold rows hold one class only"):
        train_end_model(TEXTS, PROBS, np.ones(4, bool), dev_texts=["a", "b", "c"],
                        y_dev=np.array([1, 1, 1]), dev_weight=3.0, weak_weight=0)


def test_weak_rows_of_both_classes_still_train_with_one_class_dev_gold():
    model = train_end_model(TEXTS, PROBS, np.ones(4, bool), dev_texts=["a", "b", "c"],
                            y_dev=np.array([1, 1, 1]), dev_weight=3.0, weak_weight=1.0)
    assert model.predict_proba(["free prize"]).shape == (1, 2)
