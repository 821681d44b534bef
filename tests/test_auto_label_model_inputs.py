"""AutoLabelModel's inputs as a notebook user passes them: one candidate name as a
string, and dev gold that does not line up with the dev votes."""

import numpy as np
import pytest

from labeling.models.auto import AutoLabelModel

L = np.array([[1, -1, 0], [1, 1, -1], [0, 0, -1], [-1, 0, 0], [1, 1, 1], [0, -1, 0]] * 4)
Y = np.array([1, 1, 0, 0, 1, 0] * 4)


def test_one_candidate_name_is_one_candidate_not_its_letters():
    # before: candidates="weighted_vote" was read as ['w', 'e', 'i', ...] (unknown)
    model = AutoLabelModel(candidates="weighted_vote").fit(L, Y, L)
    assert set(model.cv_scores_) == {"mv", "weighted_vote"}


def test_dev_gold_of_another_length_than_the_dev_votes_is_one_clear_error():
    # before: an IndexError from inside the CV folds
    with pytest.raises(ValueError, match=r"y_dev has 23 rows but L_dev has 24"):
        AutoLabelModel().fit(L, Y[:-1], L)
