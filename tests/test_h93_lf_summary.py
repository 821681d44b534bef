"""lf_summary's train figures (polarity, coverage, overlaps, conflicts) are snorkel's
LFAnalysis figures, counted in NumPy (snorkel's sparse per-LF polarities took seconds
for a few hundred generated LFs)."""

import warnings

import numpy as np
import pytest
from snorkel.labeling import LFAnalysis

from labeling.analysis import lf_summary


@pytest.mark.parametrize("seed, rows, lfs, k", [(0, 200, 5, 2), (1, 500, 40, 3),
                                                (2, 50, 12, 5), (3, 1, 3, 2)])
def test_train_figures_are_snorkels(seed, rows, lfs, k):
    rng = np.random.default_rng(seed)
    L = rng.integers(-1, k, size=(rows, lfs))
    L[:, 0] = -1                       # an LF that never votes
    L[rng.random(L.shape) < 0.6] = -1  # mostly abstains, as real LFs
    names, labels = [f"lf{j}" for j in range(lfs)], [f"c{c}" for c in range(k)]
    ours = lf_summary(L.astype(np.int8), names, labels)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = LFAnalysis(L).lf_summary()
    assert ours["polarity"].tolist() == [", ".join(labels[c] for c in p)
                                         for p in theirs["Polarity"]]
    for ours_col, theirs_col in (("coverage", "Coverage"), ("overlaps", "Overlaps"),
                                 ("conflicts", "Conflicts")):
        np.testing.assert_allclose(ours[ours_col].to_numpy(dtype=float),
                                   theirs[theirs_col].to_numpy(dtype=float), rtol=0, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.int64, float])
def test_conflicting_rows_in_every_dtype(dtype):
    from labeling.analysis import conflicting_rows

    rng = np.random.default_rng(5)
    L = rng.integers(-1, 4, size=(300, 6))
    L[rng.random(L.shape) < 0.5] = -1
    L[0], L[1], L[2] = -1, [2, -1, 2, -1, -1, -1], [0, 3, -1, -1, -1, -1]
    expected = [len(set(row[row != -1])) > 1 for row in L]
    assert conflicting_rows(L.astype(dtype)).tolist() == expected
    assert conflicting_rows(np.zeros((0, 3), dtype)).tolist() == []
    assert conflicting_rows(np.full((2, 0), -1, dtype)).tolist() == [False, False]
