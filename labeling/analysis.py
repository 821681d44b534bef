"""LF analysis shared by the CLI and the app: snorkel's LFAnalysis plus dev accuracy.

For each LF, on the training matrix: polarity, coverage, overlaps, conflicts (as
snorkel defines them); on dev gold: coverage, correct/incorrect counts, empirical
accuracy with a 95% Wilson interval; and the label model's learned accuracy where
the model has one.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from snorkel.labeling import LFAnalysis


def wilson_interval(correct: int, total: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval for a proportion; (nan, nan) when total is 0.

    >>> [round(v, 3) for v in wilson_interval(9, 10)]
    [0.596, 0.982]
    """
    if total == 0:
        return (math.nan, math.nan)
    p = correct / total
    denom = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denom
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denom
    return (centre - half, centre + half)


def lf_summary(L_train: np.ndarray, lf_names: list[str], label_names: list[str],
               L_dev: np.ndarray | None = None, y_dev: np.ndarray | None = None,
               learned_accuracy: np.ndarray | None = None,
               fault_counts: dict[str, int] | None = None) -> pd.DataFrame:
    """One row per LF; the columns are documented in the module docstring."""
    L_train = np.asarray(L_train, dtype=np.int64)
    summary = pd.DataFrame(index=pd.Index(lf_names, name="lf"))
    if len(L_train):
        snorkel = LFAnalysis(L_train).lf_summary()
        summary["polarity"] = [", ".join(label_names[int(c)] for c in pol)
                               for pol in snorkel["Polarity"]]
        summary["coverage"] = snorkel["Coverage"].to_numpy()
        summary["overlaps"] = snorkel["Overlaps"].to_numpy()
        summary["conflicts"] = snorkel["Conflicts"].to_numpy()
    if L_dev is not None and y_dev is not None and len(y_dev):
        L_dev = np.asarray(L_dev)
        voted = L_dev != -1
        correct = ((L_dev == np.asarray(y_dev)[:, None]) & voted).sum(axis=0)
        total = voted.sum(axis=0)
        summary["dev_coverage"] = voted.mean(axis=0)
        summary["dev_correct"] = correct
        summary["dev_incorrect"] = total - correct
        with np.errstate(invalid="ignore", divide="ignore"):
            summary["dev_accuracy"] = np.where(total > 0, correct / np.maximum(total, 1), np.nan)
        bounds = [wilson_interval(int(c), int(t)) for c, t in zip(correct, total)]
        summary["dev_accuracy_low"] = [b[0] for b in bounds]
        summary["dev_accuracy_high"] = [b[1] for b in bounds]
    if learned_accuracy is not None:
        summary["learned_accuracy"] = np.asarray(learned_accuracy)
    if fault_counts is not None:
        summary["faults"] = [int(fault_counts.get(n, 0)) for n in lf_names]
    return summary


def coverage_stats(L: np.ndarray) -> dict:
    """Share of rows with at least one vote, and with conflicting votes."""
    L = np.asarray(L)
    if L.size == 0:
        return {"coverage": 0.0, "conflict_rate": 0.0}
    voted = L != -1
    masked = np.where(voted, L, np.iinfo(np.int16).max)
    lowest = masked.min(axis=1)
    highest = np.where(voted, L, -1).max(axis=1)
    conflict = voted.any(axis=1) & (lowest != highest)
    return {"coverage": float(voted.any(axis=1).mean()), "conflict_rate": float(conflict.mean())}
