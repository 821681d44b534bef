"""Scores shared by label models and end models, so both are measured one way."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import accuracy_score, f1_score


def score_predictions(y_true, y_pred, metric: str = "accuracy", pos_label: int = 1) -> float:
    """``accuracy``, ``f1`` (of ``pos_label``) or ``macro_f1``; a -1 prediction counts as wrong."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if metric == "accuracy":
        return float(accuracy_score(y_true, y_pred))
    if metric == "f1":
        return float(f1_score(y_true == pos_label, y_pred == pos_label, zero_division=0))
    if metric == "macro_f1":
        labels = np.unique(y_true)
        return float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0))
    raise ValueError(f"unknown metric {metric!r}; use accuracy, f1 or macro_f1")


def classification_scores(y_true, y_pred, cardinality: int, pos_label: int | None) -> dict:
    """The scores a run reports for one split: accuracy, macro F1, and F1 of the positive class."""
    scores = {
        "n": int(len(y_true)),
        "accuracy": score_predictions(y_true, y_pred, "accuracy"),
        "macro_f1": score_predictions(y_true, y_pred, "macro_f1"),
    }
    if pos_label is not None:
        scores["f1"] = score_predictions(y_true, y_pred, "f1", pos_label)
    return scores
