"""The LF table: the run's ``lf_summary.csv`` plus LLM cost, kind, warnings and a total row.

Why read lf_summary.csv instead of recomputing: it is what the pipeline computed with
:func:`labeling.analysis.lf_summary` (including the label model's learned accuracies,
which exist only while the model is in memory), so the app shows the run's numbers.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from labeling.analysis import conflicting_rows, wilson_interval

COLUMN_HELP = {
    "lf": "Labeling function name.",
    "kind": "prompt: answered by an LLM (or the local zero-shot backend); rule: Python code.",
    "polarity": "Labels the LF ever votes on the training split.",
    "coverage": "Share of training examples the LF votes on (does not abstain).",
    "overlaps": "Share of training examples where this LF and at least one other LF vote.",
    "conflicts": "Share of training examples where this LF and at least one other LF vote "
                 "different labels.",
    "dev_coverage": "Share of dev examples the LF votes on.",
    "dev_correct": "Dev examples where the LF's vote equals the gold label.",
    "dev_incorrect": "Dev examples where the LF votes a label other than the gold one.",
    "dev_accuracy": "Empirical accuracy on dev gold: correct / votes (abstains excluded).",
    "dev_accuracy_ci": "95% Wilson score interval of the dev accuracy.",
    "learned_accuracy": "Accuracy the label model learned for the LF without gold "
                        "(its weight); empty when the chosen model learns none (e.g. mv).",
    "llm_cost": "USD spent on this prompt LF's requests in the run (0 for the local backend "
                "and for cache hits); empty for rule LFs.",
    "faults": "Rows where the LF raised and abstained (fault-tolerant apply).",
    "warnings": "Problems found by the run (labeling.analysis.lf_warnings).",
}
_NAMED = re.compile(r"LF '([^']+)'")


def split_warnings(warnings: list[str], lf_names: list[str]) -> tuple[dict[str, list[str]], list[str]]:
    """(warnings per LF named first in the sentence, warnings about no single LF).

    >>> split_warnings(["LF 'a' is bad", "all one class"], ["a", "b"])
    ({'a': ["LF 'a' is bad"]}, ['all one class'])
    """
    per_lf: dict[str, list[str]] = {}
    general = []
    for text in warnings:
        match = _NAMED.search(text)
        if match and match.group(1) in lf_names:
            per_lf.setdefault(match.group(1), []).append(text)
        else:
            general.append(text)
    return per_lf, general


def _interval(low, high) -> str:
    return "" if pd.isna(low) else f"{low:.2f}–{high:.2f}"


def lf_table(run) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """(one row per LF, a one-row total, warnings about no single LF).

    Shares are rounded to 3 digits, costs to 4. The total row: coverage/overlaps/
    conflicts of the whole matrix (rows with any vote, with two or more votes, with
    disagreeing votes), dev accuracy pooled over every LF vote on dev, summed cost.
    """
    summary = run.summary
    llm_lfs = run.metrics.get("llm", {}).get("lfs", {})
    per_lf, general = split_warnings(run.metrics.get("lfs", {}).get("warnings", []),
                                     run.lf_names)
    table = pd.DataFrame({"lf": run.lf_names})
    table["kind"] = ["prompt" if n in llm_lfs else "rule" for n in run.lf_names]
    for column in ("polarity", "coverage", "overlaps", "conflicts", "dev_coverage",
                   "dev_correct", "dev_incorrect", "dev_accuracy", "learned_accuracy", "faults"):
        if column in summary:
            table[column] = summary[column].reindex(run.lf_names).to_numpy()
    if "dev_accuracy_low" in summary:
        table.insert(table.columns.get_loc("dev_accuracy") + 1, "dev_accuracy_ci",
                     [_interval(lo, hi) for lo, hi in
                      zip(summary["dev_accuracy_low"].reindex(run.lf_names),
                          summary["dev_accuracy_high"].reindex(run.lf_names))])
    table["llm_cost"] = [llm_lfs[n].get("cost") if n in llm_lfs else None for n in run.lf_names]
    table["warnings"] = ["; ".join(per_lf.get(n, [])) for n in run.lf_names]
    table["polarity"] = table.get("polarity", pd.Series([""] * len(table))).fillna("")
    table = table.round({c: 3 for c in ("coverage", "overlaps", "conflicts", "dev_coverage",
                                        "dev_accuracy", "learned_accuracy")} | {"llm_cost": 4})
    return table, total_row(run, table), general


def total_row(run, table: pd.DataFrame) -> pd.DataFrame:
    L = run.L["train"]
    votes = (L != -1).sum(axis=1)
    row = {"lf": "TOTAL (all LFs)", "kind": f"{(table['kind'] == 'prompt').sum()} prompt",
           "polarity": ", ".join(run.labels),
           "coverage": float((votes >= 1).mean()) if len(L) else 0.0,
           "overlaps": float((votes >= 2).mean()) if len(L) else 0.0,
           "conflicts": float(conflicting_rows(L).mean()) if len(L) else 0.0}
    if "dev_correct" in table:
        correct, wrong = int(table["dev_correct"].sum()), int(table["dev_incorrect"].sum())
        L_dev = run.L.get("dev")
        row["dev_coverage"] = float((L_dev != -1).any(axis=1).mean()) if L_dev is not None else None
        row["dev_correct"], row["dev_incorrect"] = correct, wrong
        row["dev_accuracy"] = correct / (correct + wrong) if correct + wrong else np.nan
        row["dev_accuracy_ci"] = _interval(*wilson_interval(correct, correct + wrong))
    if "faults" in table:
        row["faults"] = int(table["faults"].sum())
    costs = [c for c in table["llm_cost"] if c is not None and not pd.isna(c)]
    row["llm_cost"] = float(sum(costs)) if costs else None
    row["warnings"] = f"{sum(bool(w) for w in table['warnings'])} LFs with warnings"
    total = pd.DataFrame([row], columns=table.columns)
    return total.round({c: 3 for c in ("coverage", "overlaps", "conflicts", "dev_coverage",
                                       "dev_accuracy")} | {"llm_cost": 4})
