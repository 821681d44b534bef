"""benchmarks/knn_targets_dev.py's kNN-smoothed weak targets (docs/gold_budget.md):
leak-free in the end model's dev CV, uncovered rows get targets, deterministic, and the
neighbours are what the docs say (k nearest by cosine, self excluded, covered train
rows and the visible dev gold only). Synthetic vectors and a TF-IDF end model: no
MiniLM, no data files.

The benchmark is taken from the tree of the ``labeling`` package imported, so running
this file against an old checkout checks that checkout's benchmark.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from labeling.train.cross_validation import candidate_key, oof_probabilities

sys.path.insert(0, str(Path(__file__).parent))
from conftest import load_benchmark  # noqa: E402

K_CLASSES = 3


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("knn_targets_dev")


def _unit(rng, n, d=8):
    X = rng.normal(size=(n, d))
    return X / np.linalg.norm(X, axis=1, keepdims=True)


def _task(seed=0, n_train=120, n_dev=30):
    rng = np.random.default_rng(seed)
    X, X_dev = _unit(rng, n_train), _unit(rng, n_dev)
    covered = rng.random(n_train) > 0.3
    P = rng.dirichlet(np.ones(K_CLASSES), size=n_train)
    y_dev = np.arange(n_dev) % K_CLASSES
    return X, X_dev, covered, P, y_dev


def test_a_fold_never_sees_the_held_out_gold(bench):
    X, X_dev, covered, P, y_dev = _task()
    seen = []

    def label_probs(rows):  # records which dev rows' gold the label model was fit with
        seen.append(tuple(rows))
        return P

    visible = np.arange(20)
    other = y_dev.copy()
    other[20:] = (other[20:] + 1) % K_CLASSES  # only the hidden rows' gold differs
    a = bench.KnnTargets(X, X_dev, covered, y_dev, K_CLASSES, label_probs).probs(visible)
    b = bench.KnnTargets(X, X_dev, covered, other, K_CLASSES, lambda rows: P).probs(visible)
    assert np.array_equal(a, b)
    assert seen == [tuple(visible)]
    full_a = bench.KnnTargets(X, X_dev, covered, y_dev, K_CLASSES, lambda rows: P).full
    full_b = bench.KnnTargets(X, X_dev, covered, other, K_CLASSES, lambda rows: P).full
    assert not np.array_equal(full_a, full_b)  # the hidden gold does count once visible


def test_in_the_cv_a_held_out_folds_gold_cannot_change_its_own_predictions(bench):
    rng = np.random.default_rng(1)
    words = ["alpha", "beta", "gamma", "delta", "eps", "zeta"]
    texts = [" ".join(rng.choice(words, 4)) for _ in range(60)]
    dev_texts = [" ".join(rng.choice(words, 4)) for _ in range(18)]
    X, X_dev, covered, P, y_dev = _task(2, n_train=60, n_dev=18)
    fold_of = None

    def oof(y):
        smooth = bench.KnnTargets(X, X_dev, covered, y, K_CLASSES, lambda rows: P)
        out, splits = oof_probabilities(texts, smooth.full, np.ones(60, bool), dev_texts,
                                        y_dev, ["tfidf_logreg"], ["soft"], n_repeats=1,
                                        weak_weights=(1.0,), fold_probs=smooth)
        return out[candidate_key("tfidf_logreg", "soft", 1.0)][0], splits[0]

    base, fold_of = oof(y_dev)
    held = fold_of == 0
    changed = y_dev.copy()
    changed[held] = (changed[held] + 1) % K_CLASSES  # the gold its targets could leak
    # y_dev itself (the end model's gold rows) stays: only the kNN targets see `changed`
    after, _ = oof(changed)
    assert np.allclose(base[held], after[held])
    assert not np.allclose(base[~held], after[~held])  # other folds do see those rows


def test_uncovered_rows_get_their_neighbours_targets(bench):
    X, X_dev, covered, P, y_dev = _task()
    knn = bench.KnnTargets(X, X_dev, covered, y_dev, K_CLASSES, lambda rows: P).full
    only = bench.KnnTargets(X, X_dev, covered, y_dev, K_CLASSES, lambda rows: P,
                            uncovered_only=True).full
    assert np.allclose(knn.sum(axis=1), 1.0)
    assert not np.allclose(knn[~covered], P[~covered])  # not the label model's prior
    assert np.array_equal(only[covered], P[covered])
    assert np.array_equal(only[~covered], knn[~covered])
    # brute force: row i's 10 nearest among covered train rows (not itself) + dev gold
    pool = np.flatnonzero(covered)
    values = np.vstack([P[pool], np.eye(K_CLASSES)[y_dev]])
    for i in (int(pool[0]), int(np.flatnonzero(~covered)[0])):
        sims = np.concatenate([X[i] @ X[pool].T, X[i] @ X_dev.T])
        sims[np.flatnonzero(pool == i)] = -np.inf
        mean = values[np.argsort(-sims, kind="stable")[:10]].mean(axis=0)
        expect = 0.5 * P[i] + 0.5 * mean if covered[i] else mean
        assert np.allclose(knn[i], expect, atol=1e-6)


def test_the_targets_are_deterministic(bench):
    X, X_dev, covered, P, y_dev = _task()
    runs = [bench.KnnTargets(X, X_dev, covered, y_dev, K_CLASSES, lambda rows: P).full
            for _ in range(2)]
    assert np.array_equal(*runs)
