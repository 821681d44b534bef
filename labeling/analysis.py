"""LF analysis shared by the CLI and the app: snorkel's LFAnalysis figures plus dev accuracy.

For each LF: ``j``, its column in the label matrix; on the training matrix:
polarity, coverage, overlaps, conflicts (as snorkel defines them); on dev gold:
coverage, correct/incorrect counts, empirical accuracy with a 95% Wilson interval;
and the label model's learned accuracy where the model has one.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

from labeling.apply.votes import check_label_matrix

ABSTAIN_MARK = "·"  # an abstain, where votes are shown as label names (show, the app)


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


def shown_dev_accuracy(row) -> float:
    """A summary row's ``dev_accuracy`` as tables show it: NaN (printed ``-``) for an LF
    with no dev vote, whose stored 0 (snorkel's convention) reads as "always wrong".

    >>> shown_dev_accuracy({"dev_accuracy": 0.0, "dev_correct": 0, "dev_incorrect": 0})
    nan
    >>> shown_dev_accuracy({"dev_accuracy": 0.0, "dev_correct": 0, "dev_incorrect": 3})
    0.0
    """
    if row.get("dev_correct", 1) + row.get("dev_incorrect", 0) == 0:
        return float("nan")
    return row.get("dev_accuracy")


def lf_summary(L_train: np.ndarray, lf_names: list[str], label_names: list[str],
               L_dev: np.ndarray | None = None, y_dev: np.ndarray | None = None,
               learned_accuracy: np.ndarray | None = None,
               fault_counts: dict[str, int] | None = None) -> pd.DataFrame:
    """One row per LF; the columns are documented in the module docstring.

    As in snorkel's ``LFAnalysis(L, lfs).lf_summary(Y)``: ``j`` is the LF's column in
    ``L``, and ``dev_accuracy`` is 0 for an LF that never votes on dev (snorkel's
    ``Emp. Acc.``); its Wilson interval is NaN then, since nothing was measured.
    """
    k = len(label_names)
    L_train = check_label_matrix(L_train, k)
    if L_train.shape[1] != len(lf_names):
        raise ValueError(f"{len(lf_names)} LF names for a label matrix with "
                         f"{L_train.shape[1]} columns")
    summary = pd.DataFrame({"j": np.arange(len(lf_names))},
                           index=pd.Index(lf_names, name="lf"))
    if len(L_train):
        # snorkel's LFAnalysis definitions, counted in NumPy: its polarities slice a
        # sparse column per LF (5.5 s for 340 LFs on 50k rows, against 0.17 s here)
        voted, n = L_train != -1, len(L_train)
        present = [(L_train == c).any(axis=0) for c in range(k)]
        summary["polarity"] = [", ".join(label_names[c] for c in range(k) if present[c][j])
                               for j in range(len(lf_names))]
        summary["coverage"] = np.count_nonzero(voted, axis=0) / n
        # overlaps: its rows where another LF votes too; conflicts: its rows where two
        # LFs (any two, as snorkel counts) vote different classes
        summary["overlaps"] = np.count_nonzero(voted[voted.sum(axis=1) > 1], axis=0) / n
        summary["conflicts"] = np.count_nonzero(voted[conflicting_rows(L_train)], axis=0) / n
    if L_dev is not None and y_dev is not None and len(y_dev):
        L_dev, y_dev = check_label_matrix(L_dev, k), np.asarray(y_dev)
        if L_dev.shape[1] != len(lf_names):
            raise ValueError(f"dev label matrix has {L_dev.shape[1]} columns, "
                             f"expected {len(lf_names)} (one per LF)")
        if len(L_dev) != len(y_dev):
            raise ValueError(f"dev label matrix has {len(L_dev)} rows but {len(y_dev)} "
                             "gold labels")
        voted = L_dev != -1
        correct = ((L_dev == y_dev[:, None]) & voted).sum(axis=0)
        total = voted.sum(axis=0)
        summary["dev_coverage"] = voted.mean(axis=0)
        summary["dev_correct"] = correct
        summary["dev_incorrect"] = total - correct
        summary["dev_accuracy"] = correct / np.maximum(total, 1)  # 0 without votes, as snorkel
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
    return {"coverage": float((L != -1).any(axis=1).mean()),
            "conflict_rate": float(conflicting_rows(L).mean())}


def pairwise_counts(L: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(overlaps, conflicts)``: m x m counts of rows where LFs i and j both vote, and
    where they both vote but disagree. The diagonal of ``overlaps`` is each LF's vote count.

    >>> o, c = pairwise_counts(np.array([[0, 0, -1], [1, 0, 1], [-1, 1, 1]]))
    >>> o.tolist(), c.tolist()
    ([[2, 2, 1], [2, 3, 2], [1, 2, 2]], [[0, 1, 0], [1, 0, 1], [0, 1, 0]])
    """
    L = np.asarray(L)
    voted = (L != -1).astype(np.int32)
    overlaps = voted.T @ voted
    agree = np.zeros_like(overlaps)
    for c in np.unique(L[L != -1]):
        is_c = (L == c).astype(np.int32)
        agree += is_c.T @ is_c
    conflicts = overlaps - agree
    np.fill_diagonal(conflicts, 0)
    return overlaps, conflicts


def conflicting_rows(L: np.ndarray) -> np.ndarray:
    """Boolean mask of rows where at least two LFs vote different classes."""
    L = np.asarray(L)
    if L.dtype.kind != "i":
        L = L.astype(np.int64)
    if not L.size:
        return np.zeros(len(L), dtype=bool)
    # votes are -1 (abstain) or >= 0: the highest entry is the highest vote, and seen as
    # unsigned (-1 is then the largest number) the lowest entry is the lowest vote
    highest = L.max(axis=1).astype(np.int64)
    lowest = L.view(L.dtype.str.replace("i", "u")).min(axis=1).astype(np.int64)
    return (highest >= 0) & (lowest != highest)


def slices(L: np.ndarray, proba: np.ndarray | None = None, y: np.ndarray | None = None,
           unsure_margin: float = 0.2) -> dict[str, np.ndarray]:
    """Boolean row masks a reviewer looks at: ``uncovered`` (every LF abstains),
    ``conflicting``, ``unsure`` (top two label-model probabilities closer than
    ``unsure_margin``) and ``label_model_wrong`` (label model's argmax != gold)."""
    L = np.asarray(L)
    masks = {"uncovered": ~(L != -1).any(axis=1), "conflicting": conflicting_rows(L)}
    if proba is not None:
        top2 = np.sort(np.asarray(proba), axis=1)[:, -2:]
        masks["unsure"] = (top2[:, 1] - top2[:, 0]) < unsure_margin
        if y is not None:
            masks["label_model_wrong"] = np.asarray(proba).argmax(axis=1) != np.asarray(y)
    return masks


def lf_warnings(L_train: np.ndarray, lf_names: list[str], cardinality: int,
                L_dev: np.ndarray | None = None, y_dev: np.ndarray | None = None,
                min_dev_votes: int = 10, labels: list[str] | None = None) -> list[str]:
    """Problems a practitioner should fix, one sentence each: LFs with zero coverage,
    LFs worse than chance on dev (with at least ``min_dev_votes`` votes and the Wilson
    upper bound below chance), LFs identical to another, all LFs voting one class (named
    by ``labels[c]`` when given, else by its index)."""
    L_train = np.asarray(L_train)
    out = []
    coverage = (L_train != -1).mean(axis=0) if len(L_train) else np.zeros(len(lf_names))
    out += [ZERO_COVERAGE.format(name=n) for n, c in zip(lf_names, coverage) if c == 0]
    if L_dev is not None and y_dev is not None and len(y_dev):
        chance = 1.0 / cardinality
        voted = np.asarray(L_dev) != -1
        correct = ((np.asarray(L_dev) == np.asarray(y_dev)[:, None]) & voted).sum(axis=0)
        for name, k, t in zip(lf_names, correct, voted.sum(axis=0)):
            if t >= min_dev_votes and wilson_interval(int(k), int(t))[1] < chance:
                out.append(WORSE.format(name=name, correct=k, total=t))
    seen: dict[bytes, str] = {}
    for j, name in enumerate(lf_names):
        key = np.ascontiguousarray(L_train[:, j]).tobytes()
        if key in seen and coverage[j] > 0:
            out.append(SAME_VOTES.format(name=name, first=seen[key]))
        seen.setdefault(key, name)
    classes = np.unique(L_train[L_train != -1])
    if len(classes) == 1:
        c = int(classes[0])
        named = f"'{labels[c]}'" if labels is not None and c < len(labels) else str(c)
        out.append(f"every LF votes class {named} or abstains: the label model "
                   "cannot tell the classes apart; add LFs for the other classes")
    return out


# lf_warnings' sentences about one LF each (the app shows them in the LF's row)
ZERO_COVERAGE = "LF '{name}' votes on no training example (zero coverage)"
SAME_VOTES = "LF '{name}' gives the same votes as '{first}' on every training example"
WORSE = "LF '{name}' is worse than chance on dev ({correct}/{total} correct)"
_WORSE_RE = re.compile(r"LF '(.+)' is worse than chance on dev \((\d+/\d+) correct\)")
_ZERO_RE = re.compile(r"LF '(.+)' votes on no training example \(zero coverage\)")
_SAME_RE = re.compile(r"LF '(.+)' gives the same votes as '(.+)' on every training example")


def unvoted_classes(L_train: np.ndarray, labels: list[str]) -> list[str]:
    """The labels no LF votes on train, from the label matrix (a label may hold ", ", so
    not from the summary's joined polarity cells); none when fewer than two labels get
    votes (``lf_warnings`` already says every LF votes one class)."""
    L_train = np.asarray(L_train)
    voted = set(np.unique(L_train[L_train != -1]).tolist())
    return [name for c, name in enumerate(labels) if c not in voted] if len(voted) >= 2 else []


def grouped_warnings(warnings: list[str]) -> list[str]:
    """``lf_warnings`` for a terminal: the LFs with zero coverage on one line, those
    worse than chance on dev on one line, and the copies of one LF on one line, so 300
    generated LFs do not print 300 lines.

    >>> grouped_warnings([ZERO_COVERAGE.format(name="a"), ZERO_COVERAGE.format(name="b"),
    ...                   SAME_VOTES.format(name="c", first="x"),
    ...                   SAME_VOTES.format(name="d", first="x"), "other"])
    ['2 LFs vote on no training example (zero coverage): a, b', \
"2 LFs give the same votes as 'x' on every training example: c, d", 'other']
    """
    zero, worse, same, rest = [], [], {}, []
    for text in warnings:
        if (m := _ZERO_RE.fullmatch(text)):
            zero.append(m.group(1))
        elif (m := _WORSE_RE.fullmatch(text)):
            worse.append((text, f"{m.group(1)} ({m.group(2)})"))
        elif (m := _SAME_RE.fullmatch(text)):
            same.setdefault(m.group(2), []).append(m.group(1))
        else:
            rest.append(text)
    out = [ZERO_COVERAGE.format(name=zero[0]) if len(zero) == 1 else
           f"{len(zero)} LFs vote on no training example (zero coverage): {', '.join(zero)}"
           ] if zero else []
    if worse:
        out.append(worse[0][0] if len(worse) == 1 else f"{len(worse)} LFs are worse than "
                   f"chance on dev (correct of their dev votes): "
                   + ", ".join(part for _, part in worse))
    out += [SAME_VOTES.format(name=names[0], first=first) if len(names) == 1 else
            f"{len(names)} LFs give the same votes as '{first}' on every training example: "
            + ", ".join(names) for first, names in same.items()]
    return out + rest
