"""Audit of "your LFs are worth N hand labels" (labeling.train.learning_curve.labels_worth).

Two measurement defects, found by the statistician's audit:
- the pipeline's score at the smallest budget (on that budget's rest of dev) was
  compared with gold-only points scored on other, smaller rest-of-dev sets, so the
  crossing compared scores on different rows (unpaired);
- seeds where gold-only never caught up were dropped from the median, pulling the
  printed figure down (0, 15 and "never" gave "about 8", the median of 0 and 15).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from labeling.metrics import score_predictions
from labeling.train.end_model import predict_proba_full, train_end_model
from labeling.train.learning_curve import (FIRST_KEY, crossing, labels_worth,
                                           learning_curve, nested_subsamples)

sys.path.insert(0, str(Path(__file__).parent))
from conftest import WEAK_DEV, WEAK_HAM, WEAK_SPAM, WEAK_Y_DEV  # noqa: E402


def test_worth_compares_pipeline_and_gold_only_on_the_same_rows():
    # The later rest-of-dev sets happen to be easy: the pipeline fit on 50 labels scores
    # 0.90 and 0.95 on them, so gold-only's 0.78 and 0.85 there never catch it up. The
    # unpaired reading compared 0.80 (on the first rest) with them: "about 64".
    curve = {"sizes": [50, 100, 150], "pipeline": [[0.80, 0.91, 0.96]],
             "gold_only": [[0.70, 0.78, 0.85]], FIRST_KEY: [[0.80, 0.90, 0.95]]}
    worth = labels_worth(curve)
    assert worth["labels"] is None and worth["more_than"] == 100
    # and the other way: hard later rows, gold-only catches up on them at 75 labels
    curve[FIRST_KEY] = [[0.80, 0.68, 0.84]]
    assert labels_worth(curve)["labels"] == 25
    assert crossing([50, 100, 150], [0.70, 0.78, 0.85], [0.80, 0.68, 0.84]) == pytest.approx(75)


def test_worth_median_counts_seeds_where_gold_only_never_caught_up():
    curve = {"sizes": [66, 132, 198], "pipeline": [[0.90, 0, 0], [0.95, 0, 0], [0.99, 0, 0]],
             "gold_only": [[0.91, 0.92, 0.93], [0.90, 0.95, 0.96], [0.90, 0.94, 0.96]]}
    worth = labels_worth(curve)  # per seed: 0, 66, never: the median is 66, not 33
    assert (worth["labels"], worth["low"], worth["high"]) == (66, 0, 66)
    # half the seeds never crossing: a lower bound, not the finite seeds' median
    half = labels_worth({"sizes": [50, 100], "pipeline": [[0.65, 0], [0.9, 0]],
                         "gold_only": [[0.6, 0.7], [0.6, 0.7]]})
    assert half["labels"] is None and half["more_than"] == 38  # median of 25 and > 50


def test_learning_curve_scores_the_first_budget_on_every_rest_of_dev():
    texts = WEAK_SPAM + WEAK_HAM
    probs, covered = np.array([[0.2, 0.8]] * 6 + [[0.9, 0.1]] * 6), np.ones(12, bool)
    dev_texts, y_dev = WEAK_DEV * 2, np.array(WEAK_Y_DEV * 2)
    pipe = {"name": "tfidf_logreg", "label_mode": "soft", "weak_weight": 1.0,
            "dev_weight": 3.0}
    curve = learning_curve(texts, probs, covered, dev_texts, y_dev, pipe,
                           {"name": "tfidf_logreg"}, n_seeds=2, fractions=(0.25, 0.5, 0.75))
    sizes = curve["sizes"]
    assert len(curve[FIRST_KEY]) == 2
    for s, subsamples in enumerate(nested_subsamples(y_dev, sizes, 2)):
        first = curve[FIRST_KEY][s]
        assert len(first) == len(sizes) and first[0] == curve["pipeline"][s][0]
        model = train_end_model(texts, probs, covered, "tfidf_logreg", 0, "soft",
                                np.asarray(dev_texts, object)[subsamples[0]],
                                y_dev[subsamples[0]], 3.0, weak_weight=1.0)
        for j, idx in enumerate(subsamples):
            rest = np.setdiff1d(np.arange(len(y_dev)), idx)
            pred = predict_proba_full(model, np.asarray(dev_texts, object)[rest], 2)
            assert first[j] == round(score_predictions(y_dev[rest], pred.argmax(axis=1),
                                                       "accuracy"), 4)
