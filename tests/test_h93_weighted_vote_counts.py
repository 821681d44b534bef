"""WeightedVote's learned accuracies per LF count each LF's votes per class on the train
matrix; counted in place (no sparse copy of the train votes), the same numbers."""

import numpy as np

from labeling.models.base import one_hot_votes
from labeling.models.weighted_vote import WeightedVote


def test_implied_accuracies_are_those_of_the_one_hot_counts():
    rng = np.random.default_rng(3)
    for k, dtype in ((2, np.int8), (3, np.int16), (5, np.int64)):
        L = rng.integers(-1, k, size=(400, 25)).astype(dtype)
        L[rng.random(L.shape) < 0.7] = -1
        L[:, 3] = -1  # an LF that never votes
        y = rng.integers(0, k, size=60)
        model = WeightedVote(cardinality=k).fit(L, y_dev=y, L_dev=L[:60])
        fired = np.asarray(one_hot_votes(L, k).sum(axis=0)).reshape(L.shape[1], k)
        share = np.where(fired.sum(axis=1, keepdims=True) > 0, fired, 1.0)
        weight = (share * model.weights_).sum(axis=1) / share.sum(axis=1)
        odds = np.exp(np.minimum(weight, 50.0))
        np.testing.assert_allclose(model.lf_accuracies_, odds / (odds + k - 1), rtol=1e-12)
