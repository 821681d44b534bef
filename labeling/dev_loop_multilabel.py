"""``labeling dev`` on a multi-label task (``multi_label = true``; docs/multilabel.md).

The same loop as :mod:`labeling.dev_loop` (edit an LF, save, read what changed), with
what a multi-label LF is: it votes on one label, 1 (applies), 0 (does not apply) or -1,
so its table row shows its label, its train coverage and the dev precision of its
"applies" votes against that label's gold, with a 95% Wilson interval, and their change
since the last save. Below it, per label: the label model's and majority vote's dev F1
and the change; then each model's dev macro and micro F1 (and the label model's
out-of-fold macro F1, the figure ``auto`` chooses by), and how many dev rows the label
model now gives another label set. Test is never shown.

Each save runs the multi-label apply (through the LF column cache when ``[apply] cache``
is on, so only edited LFs recompute) and fit, exactly as ``labeling apply`` and
``labeling fit`` do, and writes the same artifacts.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table
from rich.text import Text

from labeling import multilabel_steps
from labeling.analysis import wilson_interval


def number(value, digits: int = 3) -> str:
    """``0.123``; ``-`` for None or NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}f}"


def change(new, old) -> str:
    """``+0.012`` when it moved (``+4.0e-04`` by less than 0.0005), ``new`` when there
    was nothing before, else empty."""
    if old is None or new is None or any(isinstance(v, float) and math.isnan(v)
                                         for v in (new, old)):
        return "new" if old is None else ""
    moved = new - old
    if abs(moved) >= 0.0005:
        return f"{moved:+.3f}"
    # a few votes of 50k rows: a change all the same, which +0.000 or nothing would hide
    return f"{moved:+.1e}" if abs(moved) > 1e-12 else ""


MANY_LFS = 40  # past this many LFs, a save's table shows only the LFs it changed


def changed_lfs(lfs: pd.DataFrame, before: pd.DataFrame, columns) -> pd.Series:
    """Which LFs are new or have other ``columns`` (those both tables have) than
    ``before``, exactly: on 50k rows a few votes move coverage by less than the 0.001
    shown; NaN (no dev vote) equals NaN."""
    columns = [c for c in columns if c in lfs.columns and c in before.columns]
    old, new = before.reindex(lfs.index)[columns], lfs[columns]
    differs = (old != new) & ~(old.isna() & new.isna())
    return old.isna().all(axis=1) | differs.any(axis=1)


def lfs_to_show(lfs: pd.DataFrame, before: pd.DataFrame | None, columns) -> pd.DataFrame:
    """The rows of a save's LF table: every LF in the first table or with up to
    ``MANY_LFS`` LFs; past that (generated LFs) only those this save changed
    (:func:`changed_lfs`)."""
    if before is None or len(lfs) <= MANY_LFS:
        return lfs
    return lfs[changed_lfs(lfs, before, columns)]


def print_not_shown(shown: pd.DataFrame, lfs: pd.DataFrame, console: Console) -> None:
    """The line after a table that left unchanged LFs out (:func:`lfs_to_show`)."""
    if len(shown) < len(lfs):
        console.print(f"{len(lfs) - len(shown)} of {len(lfs)} LFs unchanged since the last "
                      "save, not shown (every LF: the first table, lf_summary.csv in the run "
                      "folder)", markup=False)


def as_written(name, style: str = "") -> Text:
    """An LF or label name as written: ``kw[billing]`` is not a rich style tag."""
    return Text(str(name), style=style)


@dataclass
class MultiLabelSnapshot:
    """What one save produced: per LF and per label tables, model scores, dev sets."""

    lfs: pd.DataFrame     # index lf: label, coverage, dev_applies, dev_precision, low, high
    labels: pd.DataFrame  # index label: lfs, dev_support, label_model_f1, mv_f1, chosen
    scores: dict          # label_model / majority_vote: name, macro_f1, micro_f1, ...
    dev_sets: pd.Series = field(default_factory=pd.Series)  # id -> the label model's set


def lf_table(L: dict, Y_dev: np.ndarray, targets: np.ndarray, names: list[str],
             labels: list[str]) -> pd.DataFrame:
    """Per LF: its label, train coverage, and on dev how many rows it says its label
    applies, what share of them gold agrees with, and that share's 95% interval."""
    rows = []
    for j, name in enumerate(names):
        says = L["dev"][:, j] == 1
        right = int((says & (Y_dev[:, targets[j]] == 1)).sum())
        n = int(says.sum())
        low, high = wilson_interval(right, n)
        rows.append({"lf": name, "label": labels[targets[j]],
                     "coverage": float((L["train"][:, j] != -1).mean()),
                     "dev_applies": n, "dev_precision": right / n if n else math.nan,
                     "low": low, "high": high})
    return pd.DataFrame(rows).set_index("lf")


def take_snapshot(task) -> MultiLabelSnapshot:
    """Apply and fit (the CLI's multi-label steps) and read what the table shows."""
    labels = task.config.labels
    L = multilabel_steps.step_apply(task, progress=False)
    section = multilabel_steps.step_fit(task)["multi_label"]
    targets = multilabel_steps.lf_targets(task.lfs, labels)
    Y_dev = multilabel_steps.gold(task)["dev"]
    lfs = lf_table(L, Y_dev, targets, [lf.name for lf in task.lfs], labels)

    lm = section["label_model"]
    lm_dev = section["scores"][f"label_model_{lm['name']}"]["dev"]
    mv_dev = section["scores"]["label_model_mv"]["dev"]
    oof = lm.get("dev_oof_f1") or {}
    per_label = pd.DataFrame({
        "lfs": [int((targets == c).sum()) for c in range(len(labels))],
        "dev_support": [lm_dev["per_label"][n]["support"] for n in labels],
        "label_model_f1": [lm_dev["per_label"][n]["f1"] for n in labels],
        "mv_f1": [mv_dev["per_label"][n]["f1"] for n in labels],
        "chosen": [lm["chosen_per_label"][n] for n in labels]}, index=pd.Index(labels,
                                                                           name="label"))
    scores = {"label_model": {"name": lm["name"], "macro_f1": lm_dev["macro_f1"],
                              "micro_f1": lm_dev["micro_f1"]},
              "majority_vote": {"name": "mv", "macro_f1": mv_dev["macro_f1"],
                                "micro_f1": mv_dev["micro_f1"]}}
    if oof:
        scores["label_model"]["oof_macro_f1"] = float(np.mean([oof[n] for n in labels]))
    sets = multilabel_steps.read_probs(task, "dev", "pred_")
    dev_sets = pd.Series([";".join(n for n, on in zip(labels, row) if on) for row in sets],
                         index=task.splits["dev"]["id"].to_numpy())
    return MultiLabelSnapshot(lfs, per_label, scores, dev_sets)


def _row(before: pd.DataFrame | None, name: str):
    return None if before is None or name not in before.index else before.loc[name]


ML_COMPARED = ("label", "coverage", "dev_applies", "dev_precision")  # what changed_lfs reads


def _lf_table(current: MultiLabelSnapshot, previous: MultiLabelSnapshot | None,
              shown: pd.DataFrame) -> Table:
    table = Table(title="LFs (coverage on train; precision of 'applies' votes on dev gold)",
                  title_justify="left")
    for name, justify in (("lf", "left"), ("label", "left"), ("cov", "right"),
                          ("Δcov", "right"), ("dev applies", "right"), ("dev prec", "right"),
                          ("95% CI", "right"), ("Δprec", "right")):
        table.add_column(name, justify=justify, no_wrap=True)
    before = previous.lfs if previous is not None else None
    for name, row in shown.iterrows():
        old = _row(before, name)
        moved = previous is not None
        table.add_row(
            as_written(name), as_written(row["label"]), number(row["coverage"]),
            change(row["coverage"], None if old is None else old["coverage"]) if moved else "",
            str(row["dev_applies"]), number(row["dev_precision"]),
            f"{number(row['low'], 2)}-{number(row['high'], 2)}" if row["dev_applies"] else "",
            change(row["dev_precision"], None if old is None else old["dev_precision"])
            if moved else "")
    if before is not None:
        for name in before.index.difference(current.lfs.index):
            table.add_row(as_written(name, "dim"), as_written(before.loc[name, "label"]), "",
                          "removed", "", "", "", "")
    return table


def _label_table(current: MultiLabelSnapshot, previous: MultiLabelSnapshot | None) -> Table:
    auto = current.scores["label_model"]["name"] == "auto"
    table = Table(title="per label on dev (F1 in-sample: dev gold tuned the thresholds)",
                  title_justify="left")
    columns = [("label", "left"), ("LFs", "right"), ("gold rows", "right"),
               ("label model F1", "right"), ("ΔF1", "right"), ("MV F1", "right"),
               ("ΔMV", "right")] + ([("auto chose", "left")] if auto else [])
    for name, justify in columns:
        table.add_column(name, justify=justify, no_wrap=True)
    before = previous.labels if previous is not None else None
    for name, row in current.labels.iterrows():
        old = _row(before, name)
        moved = previous is not None
        cells = [as_written(name), str(row["lfs"]), str(row["dev_support"]),
                 number(row["label_model_f1"]),
                 change(row["label_model_f1"], None if old is None else old["label_model_f1"])
                 if moved else "", number(row["mv_f1"]),
                 change(row["mv_f1"], None if old is None else old["mv_f1"]) if moved else ""]
        if auto:
            was = "" if old is None or old["chosen"] == row["chosen"] else f" (was {old['chosen']})"
            cells.append(f"{row['chosen']}{was}")
        table.add_row(*cells)
    return table


def _score_line(key: str, current: MultiLabelSnapshot,
                previous: MultiLabelSnapshot | None) -> str:
    score = current.scores[key]
    old = previous.scores.get(key, {}) if previous is not None else {}
    parts = [f"macro-F1 {number(score['macro_f1'])}*", f"micro-F1 {number(score['micro_f1'])}*"]
    if "oof_macro_f1" in score:
        parts.append(f"out-of-fold macro-F1 {number(score['oof_macro_f1'])}")
    titles = {"macro_f1": "macro-F1", "micro_f1": "micro-F1",
              "oof_macro_f1": "out-of-fold macro-F1"}
    changes = [f"{title} {change(score[m], old.get(m))}" for m, title in titles.items()
               if m in score and m in old and change(score[m], old.get(m))]
    name = score["name"]
    if name == "auto":
        counts = Counter(current.labels["chosen"])
        name += ": chose " + ", ".join(f"{m} for {n}" for m, n in counts.most_common())
    title = "label model" if key == "label_model" else "majority vote"
    return (f"{title} ({name}) on dev: " + ", ".join(parts)
            + (f"  [{'; '.join(changes)}]" if changes else ""))


def render(current: MultiLabelSnapshot, previous: MultiLabelSnapshot | None,
           console: Console) -> None:
    """Print the LF and label tables and the score lines, marking what changed."""
    if not isinstance(previous, MultiLabelSnapshot):
        previous = None  # the task was single-label at the last save
    shown = lfs_to_show(current.lfs, None if previous is None else previous.lfs, ML_COMPARED)
    console.print(_lf_table(current, previous, shown))
    print_not_shown(shown, current.lfs, console)
    console.print(_label_table(current, previous))
    for key in ("label_model", "majority_vote"):
        # markup=False: "[macro-F1 +0.012]" is not a style tag
        console.print(_score_line(key, current, previous), markup=False)
    console.print("* in-sample: dev gold fit the label model and tuned every threshold",
                  markup=False)
    if previous is not None and len(previous.dev_sets):
        common = current.dev_sets.index.intersection(previous.dev_sets.index)
        changed = int((current.dev_sets[common] != previous.dev_sets[common]).sum())
        console.print(f"dev rows whose label-model label set changed: {changed}")
