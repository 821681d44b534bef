"""The numbers of the app's multi-label pages: scores, per-label coverage and conflicts,
LF pairs on a label, and examples with their label sets.

Why these: in a multi-label task every label is its own binary problem with its own LFs,
label model and thresholds, so "is this run any good" is asked per label -- how much of
the data its LFs cover, how often they contradict each other (one says the label
applies, another that it does not), how its label model and end model score -- and an
example is read as sets side by side: gold, what the LFs said, what each model decided.
Scores come from ``metrics.json`` (the numbers the CLI printed); coverage and conflicts
are computed from ``L.parquet`` with the same definitions as ``lf_analysis.csv``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from labeling.review.ml_project import ABSTAIN, APPLIES, DOES_NOT_APPLY, MultiLabelRun

EMPTY = "∅"  # an empty label set, shown (a row may be predicted to carry no label)
VOTE_NAMES = {APPLIES: "applies", DOES_NOT_APPLY: "does not apply", ABSTAIN: "abstain"}
SLICES = {
    "all": "every example",
    "uncovered": "no LF voted on any label",
    "conflicting": "on some label one LF says applies and another does not",
    "no_label_predicted": "the label model decided no label applies",
    "label_model_wrong": "label model's set != gold (needs gold)",
    "end_model_wrong": "end model's set != gold (needs gold)",
}


def model_names(metrics: dict) -> dict[str, str]:
    """Key in ``metrics.json``'s ``multi_label.scores`` -> name shown."""
    section = metrics.get("multi_label", {})
    chosen = section.get("label_model", {}).get("name", "?")
    end = section.get("end_model", {})
    names = {f"label_model_{chosen}": f"label model ({chosen})",
             "end_model": f"end model ({end.get('name', '?')})"
             + (" (stale)" if end.get("stale") else ""), "gold_only": "gold-only baseline"}
    names["label_model_mv"] = "majority vote" + (" (the label model)" if chosen == "mv" else "")
    return {k: names.get(k, k) for k in section.get("scores", {})}


def score_table(metrics: dict) -> pd.DataFrame:
    """Rows model x split with n, macro and micro F1 (3 digits) as ``metrics.json`` has
    them; dev rows of the label and end models are in-sample (dev gold fit them)."""
    names = model_names(metrics)
    rows = []
    for key, by_split in metrics.get("multi_label", {}).get("scores", {}).items():
        for split in ("dev", "test"):
            if split in by_split:
                s = by_split[split]
                rows.append({"model": names[key] + (" (in-sample)" if split == "dev" else ""),
                             "split": split, "n": s.get("n"),
                             "macro_f1": round(s["macro_f1"], 3),
                             "micro_f1": round(s["micro_f1"], 3)})
    return pd.DataFrame(rows, columns=["model", "split", "n", "macro_f1", "micro_f1"])


def per_label_scores(metrics: dict, split: str = "test", measure: str = "f1") -> pd.DataFrame:
    """Label x model ``measure`` (f1, precision or recall) on ``split``, plus support."""
    names = model_names(metrics)
    scores = metrics.get("multi_label", {}).get("scores", {})
    labels = metrics.get("multi_label", {}).get("labels", [])
    table = pd.DataFrame({"label": labels})
    for key, by_split in scores.items():
        per = by_split.get(split, {}).get("per_label")
        if per:
            table["support"] = [per[n]["support"] for n in labels]
            table[names[key]] = [round(per[n][measure], 3) for n in labels]
    return table


def dataset_sizes(run: MultiLabelRun) -> pd.DataFrame:
    """Per split: rows, whether it has gold, LF coverage (a vote on some label), and the
    mean number of labels per row in gold and in each model's sets."""
    rows = []
    for split in run.splits:
        gold, end = run.gold(split), run.end_sets(split)
        rows.append({"split": split, "rows": len(run.frames[split]),
                     "gold": "yes" if gold is not None else "no",
                     "coverage": round(float((run.L[split] != ABSTAIN).any(axis=1).mean()), 3),
                     "gold_labels_per_row": round(float(gold.sum(axis=1).mean()), 3)
                     if gold is not None else None,
                     "label_model_labels_per_row": round(float(
                         run.label_model_sets(split).sum(axis=1).mean()), 3),
                     "end_model_labels_per_row": round(float(end.sum(axis=1).mean()), 3)
                     if end is not None else None})
    return pd.DataFrame(rows)


def label_stats(run: MultiLabelRun, split: str = "train") -> pd.DataFrame:
    """Per label on ``split``: its LFs, coverage (a row with a vote on the label), the
    share voted "applies" / "does not apply", conflict (both on one row), and the share of
    rows gold, the label model, majority vote and the end model give the label."""
    n = len(run.frames[split])
    gold, lm, mv, end = (run.gold(split), run.label_model_sets(split),
                         run.majority_vote_sets(split), run.end_sets(split))
    lm_t = run.label_model_thresholds
    chosen = run.section.get("label_model", {}).get("chosen_per_label", {})
    rows = []
    for c, name in enumerate(run.labels):
        votes = run.votes(split, c)
        says = (votes == APPLIES).any(axis=1)
        denies = (votes == DOES_NOT_APPLY).any(axis=1)
        row = {"label": name, "lfs": int(votes.shape[1]),
               "coverage": (votes != ABSTAIN).any(axis=1).mean() if n else 0.0,
               "votes_applies": says.mean() if n else 0.0,
               "votes_not": denies.mean() if n else 0.0,
               "conflict": (says & denies).mean() if n else 0.0}
        if gold is not None:
            row["gold_share"] = gold[:, c].mean()
        row |= {"label_model_share": lm[:, c].mean(), "majority_vote_share": mv[:, c].mean()}
        if end is not None:
            row["end_model_share"] = end[:, c].mean()
        row["label_model"] = chosen.get(name, "")
        row["threshold"] = lm_t[c] if lm_t is not None else np.nan
        rows.append(row)
    return pd.DataFrame(rows).round(4)


def lf_table(run: MultiLabelRun, label: str | None = None) -> pd.DataFrame:
    """``lf_analysis.csv`` (train coverage, overlaps, conflicts; dev precision/recall of
    "applies"), optionally for one label's LFs."""
    table = run.analysis
    return table if label is None else table[table["label"] == label].reset_index(drop=True)


def pair_conflicts(run: MultiLabelRun, label: str, split: str = "train") -> pd.DataFrame:
    """LF x LF on ``label``: share of ``split``'s rows where one says it applies and the
    other that it does not (symmetric; zero diagonal)."""
    c = run.labels.index(label)
    names = [n for n, t in zip(run.lf_names, run.targets) if t == c]
    votes = run.votes(split, c)
    n = max(len(votes), 1)
    out = np.zeros((len(names), len(names)))
    for a in range(len(names)):
        for b in range(len(names)):
            if a != b:
                out[a, b] = (((votes[:, a] == APPLIES) & (votes[:, b] == DOES_NOT_APPLY))
                             | ((votes[:, a] == DOES_NOT_APPLY) & (votes[:, b] == APPLIES))
                             ).sum() / n
    return pd.DataFrame(out.round(4), index=names, columns=names)


def conflict_pairs(run: MultiLabelRun, split: str = "train") -> pd.DataFrame:
    """Every pair of LFs on the same label that contradict each other on ``split``, most
    conflicts first: label, lf_a, lf_b, rows."""
    rows = []
    for label in run.labels:
        m = pair_conflicts(run, label, split)
        n = len(run.frames[split])
        for a in range(len(m)):
            for b in range(a + 1, len(m)):
                count = int(round(m.iloc[a, b] * n))
                if count:
                    rows.append({"label": label, "lf_a": m.index[a], "lf_b": m.index[b],
                                 "rows": count})
    return (pd.DataFrame(rows, columns=["label", "lf_a", "lf_b", "rows"])
            .sort_values("rows", ascending=False, kind="stable").reset_index(drop=True))


def disagreement_mask(run: MultiLabelRun, split: str, lf_a: str, lf_b: str) -> np.ndarray:
    """Rows where two LFs (on the same label) vote 1 and 0."""
    a, b = run.L[split][:, run.lf_names.index(lf_a)], run.L[split][:, run.lf_names.index(lf_b)]
    return (a != ABSTAIN) & (b != ABSTAIN) & (a != b)


def set_names(indices, labels: list[str]) -> str:
    """``joy; surprise`` for a tuple of label indices; ``∅`` when empty."""
    return "; ".join(labels[int(c)] for c in indices) or EMPTY


def row_names(row, labels: list[str]) -> str:
    """:func:`set_names` of a 0/1 row (one entry per label)."""
    return set_names(np.flatnonzero(np.asarray(row)), labels)


def _vote_summary(run: MultiLabelRun, split: str) -> list[str]:
    """Per row: ``+joy -neutral`` -- the labels voted applies (+) and does not apply (-)."""
    out = []
    for row in run.L[split]:
        parts = []
        for c, name in enumerate(run.labels):
            votes = row[run.targets == c]
            if (votes == APPLIES).any():
                parts.append(f"+{name}")
            if (votes == DOES_NOT_APPLY).any():
                parts.append(f"-{name}")
        out.append(" ".join(parts))
    return out


def example_table(run: MultiLabelRun, split: str,
                  annotations: dict[str, tuple] | None = None) -> pd.DataFrame:
    """One row per example: id, text, gold set, your annotation, LF votes (``+joy
    -neutral``), the label model's, majority vote's and end model's sets, and the label
    model's probability per label (``p_<label>``)."""
    df, labels = run.frames[split], run.labels
    table = pd.DataFrame({"id": df["id"].to_numpy(), "text": df["text"].to_numpy()})
    gold = run.gold(split)
    if gold is not None:
        table["gold"] = [row_names(r, labels) for r in gold]
    if annotations is not None:
        table["annotation"] = [set_names(annotations[i], labels) if i in annotations else ""
                               for i in df["id"]]
    table["lf_votes"] = _vote_summary(run, split)
    table["label_model"] = [row_names(r, labels) for r in run.label_model_sets(split)]
    table["majority_vote"] = [row_names(r, labels) for r in run.majority_vote_sets(split)]
    end = run.end_sets(split)
    if end is not None:
        table["end_model"] = [row_names(r, labels) for r in end]
    proba = run.label_model_proba(split)
    for c, name in enumerate(labels):
        table[f"p_{name}"] = proba[:, c].round(3)
    return table


def slice_mask(run: MultiLabelRun, split: str, name: str, label: str | None = None,
               query: str = "") -> np.ndarray:
    """Rows of ``split`` in slice ``name`` (:data:`SLICES`), optionally only rows where
    ``label`` is in gold, the LFs' "applies" votes or a model's set, and whose text
    contains ``query`` (case-insensitive)."""
    n = len(run.frames[split])
    gold, lm, end = run.gold(split), run.label_model_sets(split), run.end_sets(split)
    L = run.L[split]
    if name == "all":
        mask = np.ones(n, dtype=bool)
    elif name == "uncovered":
        mask = (L == ABSTAIN).all(axis=1)
    elif name == "conflicting":
        mask = np.zeros(n, dtype=bool)
        for c in range(len(run.labels)):
            votes = run.votes(split, c)
            mask |= (votes == APPLIES).any(axis=1) & (votes == DOES_NOT_APPLY).any(axis=1)
    elif name == "no_label_predicted":
        mask = lm.sum(axis=1) == 0
    elif name in ("label_model_wrong", "end_model_wrong"):
        pred = lm if name == "label_model_wrong" else end
        mask = np.zeros(n, dtype=bool) if gold is None or pred is None else \
            (gold != pred).any(axis=1)
    else:
        raise KeyError(f"unknown slice {name!r}; slices: {', '.join(SLICES)}")
    if label is not None:
        c = run.labels.index(label)
        mentioned = lm[:, c].astype(bool) | run.lf_applies(split)[:, c].astype(bool)
        mentioned |= run.majority_vote_sets(split)[:, c].astype(bool)
        if gold is not None:
            mentioned |= gold[:, c].astype(bool)
        if end is not None:
            mentioned |= end[:, c].astype(bool)
        mask &= mentioned
    if query:
        mask &= run.frames[split]["text"].str.contains(query, case=False, regex=False).to_numpy()
    return mask


def slice_ids(run: MultiLabelRun, split: str, name: str, label: str | None = None) -> list[str]:
    return list(run.frames[split]["id"][slice_mask(run, split, name, label)])
