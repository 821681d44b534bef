"""The overview view: dataset sizes, label distributions, scores, label-model confidence.

Why these: they answer "is this run any good, and where is the signal?" at a glance --
how much data each split has and how much of it the LFs cover, whether predicted
labels follow the gold distribution, how majority vote, the label model and the end
model compare, and how sure the label model is on the training set.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from labeling.analysis import coverage_stats

from labeling.train.gold_budget import curve_means, dev_cv_text, nested_end_cv
from labeling.train.learning_curve import FIRST_KEY, crossing

MODELS = (("majority_vote", "majority vote"), ("label_model", "label model"),
          ("end_model", "end model"), ("gold_only", "gold-only baseline"),
          ("gold_only_frozen", "gold-only, frozen family"))  # the latter: fit-once runs


def dataset_sizes(run) -> pd.DataFrame:
    """Per split: rows, gold labels available, LF coverage and conflict rate."""
    rows = []
    for split in run.splits:
        stats = coverage_stats(run.L[split])
        rows.append({"split": split, "rows": len(run.frames[split]),
                     "gold": "yes" if run.gold(split) is not None else "no",
                     "coverage": round(stats["coverage"], 3),
                     "conflict_rate": round(stats["conflict_rate"], 3)})
    return pd.DataFrame(rows)


def label_distribution(run, end_model_pred: dict[str, np.ndarray] | None = None) -> pd.DataFrame:
    """Long table split, source (gold / label model / majority vote / end model), label,
    count and share of the split; the label model counts every row (uncovered rows get
    the class prior's argmax, as in the scores)."""
    rows = []
    for split in run.splits:
        sources = {"label model": run.probs[split]["label_model_pred"].to_numpy(),
                   "majority vote": run.probs[split]["majority_vote_pred"].to_numpy()}
        if run.gold(split) is not None:
            sources = {"gold": run.gold(split), **sources}
        if end_model_pred and split in end_model_pred:
            sources["end model"] = end_model_pred[split]
        for source, values in sources.items():
            counts = np.bincount(np.asarray(values)[np.asarray(values) >= 0],
                                 minlength=len(run.labels))
            for k, name in enumerate(run.labels):
                rows.append({"split": split, "source": source, "label": name,
                             "count": int(counts[k]), "share": round(counts[k] / len(values), 3)})
    return pd.DataFrame(rows)


def score_table(metrics: dict) -> pd.DataFrame:
    """Rows model x split (dev, test) with accuracy, F1 of the positive class (a column
    only when a score has one) and macro F1, rounded to 3 digits, read from metrics.json
    (the numbers the CLI printed); the end model's dev row is marked in-sample when dev
    rows trained it, and the gold-only baseline has a test row only."""
    rows = []
    for key, name in MODELS:
        section = metrics.get(key) or {}
        for split in ("dev", "test"):
            scores = section.get(split)
            if isinstance(scores, dict) and "accuracy" in scores:
                rows.append({"model": name + (f" ({section['chosen']})" if section.get("chosen")
                                              else "") + (" (stale)" if section.get("stale")
                                                          else "")
                             + (" (in-sample)" if scores.get("in_sample") else ""),
                             "split": split, "n": scores.get("n"),
                             "accuracy": round(scores["accuracy"], 3),
                             "f1": round(scores["f1"], 3) if "f1" in scores else None,
                             "macro_f1": round(scores["macro_f1"], 3)})
    table = pd.DataFrame(rows, columns=["model", "split", "n", "accuracy", "f1", "macro_f1"])
    # a k-class task without positive_label has no F1 of one class: no column of None
    return table.drop(columns="f1") if len(table) and table["f1"].isna().all() else table


def confidence_histogram(run, split: str = "train", bins: int = 10) -> pd.DataFrame:
    """Histogram of the label model's top probability on ``split`` (covered rows and all),
    bins from 1/k to 1; columns bin (lower edge, rounded), covered, uncovered."""
    top = run.proba(split).max(axis=1)
    covered = run.probs[split]["covered"].to_numpy().astype(bool)
    edges = np.linspace(1.0 / len(run.labels), 1.0, bins + 1)
    cov, _ = np.histogram(np.clip(top[covered], edges[0], 1.0), bins=edges)
    unc, _ = np.histogram(np.clip(top[~covered], edges[0], 1.0), bins=edges)
    return pd.DataFrame({"bin": [f"{lo:.2f}–{hi:.2f}" for lo, hi in zip(edges[:-1], edges[1:])],
                         "covered": cov, "uncovered": unc})


def gold_budget(metrics: dict) -> dict:
    """What the overview says about the dev gold: the end model's and the gold-only
    baseline's dev CV (and ``cv_text``, the line saying them), the verdict (``loud`` when
    the baseline wins or is the model), what the LFs are worth in labels, and the
    learning curve as a long table (labels, model, mean, min, max) for a line chart; ``{}``
    before a train with dev gold."""
    gold, end = metrics.get("gold_only") or {}, metrics.get("end_model") or {}
    if not ("cv" in gold or gold.get("text")) or not end or end.get("stale"):
        return {}  # a fit-once model's twin or a skipped baseline: its text, no CV
    curve = (metrics.get("learning_curve") or {}).get("curve")
    cv_text = None if gold.get("cv") is None else dev_cv_text(
        gold.get("metric"), end.get("cv"), gold["cv"], gold.get("n_dev"),
        nested_end_cv(end)) + "."  # the nested score the verdict states, as `labeling run`
    return {"end_model_cv": end.get("cv"), "gold_only_cv": gold.get("cv"), "cv_text": cv_text,
            "metric": gold.get("metric"), "n_dev": gold.get("n_dev"),
            "text": gold.get("text"), "loud": bool(gold.get("loud")),
            "worth": worth_text(metrics.get("learning_curve") or {}),
            "curve": pd.DataFrame(curve_means(curve)) if curve else None}


def worth_text(learning_curve: dict) -> str | None:
    """The learning curve's line on what the LFs are worth in hand labels, said plainly
    when they are worth nothing: gold-only as good or better, on the same labels, in
    every subsample (its own line there reads "worth about 0 hand labels (0 to 0 in 3
    of 3 subsamples; ...)")."""
    worth, curve = learning_curve.get("worth") or {}, learning_curve.get("curve") or {}
    n = len(curve.get("gold_only") or [])
    if worth.get("labels") != 0 or not n:
        return worth.get("text")
    sizes = curve["sizes"]
    firsts = curve.get(FIRST_KEY) or [pipe[:1] for pipe in curve["pipeline"]]
    level = sum(crossing(sizes, gold, first if len(first) == len(sizes) else first[0])
                == sizes[0] for first, gold in zip(firsts, curve["gold_only"]))
    if level < n:
        return worth.get("text")
    return (f"on these subsamples of {sizes[0]} dev labels, your LFs and prompts added "
            f"nothing over the dev labels alone (they are worth no hand labels): a model "
            f"trained on those labels only was as good or better in {level} of {n}")
