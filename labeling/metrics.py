"""Scores shared by label models and end models, so both are measured one way."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support


def score_predictions(y_true, y_pred, metric: str = "accuracy", pos_label: int = 1) -> float:
    """``accuracy``, ``f1`` (of ``pos_label``) or ``macro_f1``; a -1 prediction counts as wrong.
    ``macro_f1`` is the mean F1 of the classes that have a gold row in ``y_true`` (a class
    with none has no defined recall; it is left out, not counted as 0)."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if metric == "accuracy":
        return float(accuracy_score(y_true, y_pred))
    if metric == "f1":
        return float(f1_score(y_true == pos_label, y_pred == pos_label, zero_division=0))
    if metric == "macro_f1":
        labels = np.unique(y_true)
        return float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0))
    raise ValueError(f"unknown metric {metric!r}; use accuracy, f1 or macro_f1")


def per_class_scores(y_true, y_pred, cardinality: int) -> list[dict]:
    """Per class index 0..k-1: precision, recall, F1 (0 where undefined) and support."""
    p, r, f, n = precision_recall_fscore_support(np.asarray(y_true), np.asarray(y_pred),
                                                 labels=list(range(cardinality)),
                                                 zero_division=0)
    return [{"precision": float(p[c]), "recall": float(r[c]), "f1": float(f[c]),
             "support": int(n[c])} for c in range(cardinality)]


def per_class_cell(entry: dict) -> str:
    """One class's ``precision / recall / F1`` cell of a per-class table (``entry``: one
    item of :func:`per_class_scores`); ``-`` for a class with no gold row in the split:
    its recall and F1 are undefined (not 0), and ``macro_f1`` leaves it out."""
    if not entry.get("support"):
        return "-"
    return f"{entry['precision']:.2f} / {entry['recall']:.2f} / {entry['f1']:.2f}"


def classes_without_gold(per_class: list[dict]) -> list[int]:
    """Class indices with no gold row (``support`` 0) in a split's ``per_class``."""
    return [c for c, entry in enumerate(per_class) if not entry.get("support")]


def missing_class_error(y, pos_label: int, labels=None) -> str | None:
    """Why F1 of class ``pos_label`` cannot be measured on gold ``y`` (no row of it:
    every candidate scores 0, so a choice by it is arbitrary), or None when it can.
    ``labels``: the task's label names, to name classes by (else their indices)."""
    y = np.asarray(y)
    y = y[y >= 0]  # rows without a gold label
    if len(y) == 0 or (y == pos_label).any():
        return None

    def name(c):
        return repr(labels[c]) if labels is not None else str(c)

    held = ", ".join(name(c) for c in np.unique(y))
    return (f"F1 of class {name(pos_label)} cannot be measured: no dev gold row is of that "
            f"class (the dev gold holds {held})")


def classification_scores(y_true, y_pred, cardinality: int, pos_label: int | None) -> dict:
    """The scores a run reports for one split: accuracy, macro F1, F1 of the positive
    class when there is one, and, with more than two classes (where one F1 says little),
    ``per_class`` precision/recall/F1 by class index."""
    scores = {
        "n": int(len(y_true)),
        "accuracy": score_predictions(y_true, y_pred, "accuracy"),
        "macro_f1": score_predictions(y_true, y_pred, "macro_f1"),
    }
    if pos_label is not None:
        scores["f1"] = score_predictions(y_true, y_pred, "f1", pos_label)
    if cardinality > 2:
        scores["per_class"] = per_class_scores(y_true, y_pred, cardinality)
    return scores


def stratified_folds(y: np.ndarray, n_folds: int, seed: int = 0) -> np.ndarray:
    """Fold id per row, classes dealt round-robin after a seeded (local) shuffle."""
    rng = np.random.default_rng(seed)
    folds = np.empty(len(y), dtype=int)
    offset = 0
    for c in np.unique(y):
        rows = rng.permutation(np.flatnonzero(y == c))
        folds[rows] = (np.arange(len(rows)) + offset) % n_folds
        offset += len(rows)  # keep small classes from all landing in fold 0
    return folds


# log-odds shifts tried for the positive class: +-4 covers thresholds 0.018 .. 0.982
BIAS_GRID = np.round(np.arange(-4.0, 4.0001, 0.1), 1)


def shifted(proba: np.ndarray, bias) -> np.ndarray:
    """``proba * exp(bias)`` renormalised per row (a prior correction); zeros: unchanged."""
    bias = np.asarray(bias, float)
    if not np.any(bias):
        return proba
    weighted = np.asarray(proba, float) * np.exp(bias - bias.max())
    return weighted / weighted.sum(axis=1, keepdims=True)


def biased_predictions(proba: np.ndarray, bias) -> np.ndarray:
    """Class index per row of ``p * exp(bias)`` (``proba`` has one column per class)."""
    return (np.log(np.clip(proba, 1e-12, None)) + np.asarray(bias, float)).argmax(axis=1)


def fit_decision_bias(proba: np.ndarray, y, metric: str, pos_label: int = 1) -> np.ndarray:
    """The per-class log-weights maximising ``metric`` on (out-of-fold) ``proba`` for gold
    ``y``; ties go to the smallest shift, so no gain means no bias (all zeros).

    Only ``f1`` (of ``pos_label``) gets a bias: one threshold on a rare class's score is
    what F1 hinges on, and one number is what a few hundred dev rows can estimate.
    Accuracy is left at the argmax (on trec, dev and test class mixes differ)."""
    proba, y = np.asarray(proba, float), np.asarray(y, int)
    bias = np.zeros(proba.shape[1])
    if metric != "f1" or not 0 <= pos_label < proba.shape[1] or len(y) == 0:
        return bias
    best, best_shift = -1.0, 0.0
    # F1 counted here, not by score_predictions: the same number (sklearn's 2tp/(true+
    # predicted), 0 when both are 0) without sklearn's input checks, which made this
    # grid (81 shifts, per CV fold) most of a label-model `auto` fit (issue 14).
    truth = y == pos_label
    true_sum = int(np.count_nonzero(truth))
    for shift in sorted(BIAS_GRID, key=abs):  # smallest |shift| first: it wins ties
        bias[pos_label] = shift
        called = biased_predictions(proba, bias) == pos_label
        denom = float(true_sum + np.count_nonzero(called))
        score = 2.0 * np.count_nonzero(called & truth) / denom if denom else 0.0
        if score > best + 1e-12:
            best, best_shift = score, shift
    bias[pos_label] = best_shift
    return bias
