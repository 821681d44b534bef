"""Scores shared by label models and end models, so both are measured one way."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support


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


def per_class_scores(y_true, y_pred, cardinality: int) -> list[dict]:
    """Per class index 0..k-1: precision, recall, F1 (0 where undefined) and support."""
    p, r, f, n = precision_recall_fscore_support(np.asarray(y_true), np.asarray(y_pred),
                                                 labels=list(range(cardinality)),
                                                 zero_division=0)
    return [{"precision": float(p[c]), "recall": float(r[c]), "f1": float(f[c]),
             "support": int(n[c])} for c in range(cardinality)]


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
