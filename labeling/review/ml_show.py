"""``labeling show LF`` on a multi-label task: the rows one LF votes on, from the last fit.

Why apart from :func:`labeling.session.lf_examples`: a multi-label LF votes on one label
(its ``for_label`` target) with 1 (applies) or 0 (does not apply), and gold is a set of
labels per row, so "wrong" means its vote disagrees with whether the gold set holds its
label (it says joy applies and gold has no joy, or it says joy does not apply and gold
has joy), and "conflicts" can only be with LFs on the same label. Rows come from the
run the app reads (:func:`labeling.review.ml_project.load_multilabel_run`: the data with
the annotations that run merged into dev), so what is shown is what the run scored.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from rich.table import Table
from rich.text import Text

from labeling import report
from labeling.apply import applied
from labeling.artifacts import L_FILE, PROBS_FILE, check_step_order
from labeling.errors import LabelingError
from labeling.review.examples import refuse_test_split
from labeling.review.ml_project import ABSTAIN, APPLIES, MultiLabelRun, load_multilabel_run
from labeling.review.multilabel import row_names

KINDS = ("fires", "wrong", "conflicts", "abstains")
WHAT = {"fires": "fires on", "wrong": "is wrong on", "abstains": "abstains on"}


def _lf_index(run: MultiLabelRun, lf: str) -> int:
    if lf not in run.lf_names:
        raise LabelingError(f"no LF named {lf!r} in the last run ({run.run_dir}); its LFs: "
                            f"{', '.join(run.lf_names)} (a new LF needs `labeling apply` "
                            "and `labeling fit` first)")
    return run.lf_names.index(lf)


def lf_examples(run: MultiLabelRun, lf: str, kind: str = "fires", split: str = "dev",
                other: str | None = None) -> pd.DataFrame:
    """The ``split`` rows where ``lf`` ``fires`` (votes 1 or 0), ``abstains``, is
    ``wrong`` (its vote is not whether the gold set holds its label) or ``conflicts``
    (another LF on its label, or ``other``, votes the opposite). Columns: id, vote
    (``+joy`` applies, ``-joy`` does not apply, empty for an abstention), gold (the set,
    when the split has gold), label_model (its set), ``p_<label>`` (the label model's
    probability of the LF's label) and text."""
    if kind not in KINDS:
        raise LabelingError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    refuse_test_split(split)
    if split not in run.frames:
        raise LabelingError(f"the run has no {split} split (splits: {', '.join(run.splits)})")
    j = _lf_index(run, lf)
    target = int(run.targets[j])
    name = run.labels[target]
    L = run.L[split]
    votes = L[:, j]
    fires = votes != ABSTAIN
    gold = run.gold(split)
    if kind == "fires":
        mask = fires
    elif kind == "abstains":
        mask = ~fires
    elif kind == "wrong":
        if gold is None:
            raise LabelingError(f"the {split} split has no gold label sets: choose dev "
                                "for --wrong")
        mask = fires & (votes != gold[:, target])
    else:
        others = [i for i, t in enumerate(run.targets) if t == target and i != j]
        if other is not None:
            k = _lf_index(run, other)
            if k == j or run.targets[k] != target:
                raise LabelingError(f"LF {other} votes on {run.labels[run.targets[k]]}, LF "
                                    f"{lf} on {name}: LFs conflict only on the same label")
            others = [k]
        theirs = L[:, others]
        mask = fires & ((theirs != ABSTAIN) & (theirs != votes[:, None])).any(axis=1)
    df = run.frames[split]
    table = pd.DataFrame({"id": df["id"].to_numpy()})
    table["vote"] = np.where(votes == APPLIES, f"+{name}",
                             np.where(votes == ABSTAIN, "", f"-{name}"))
    if gold is not None:
        table["gold"] = [row_names(r, run.labels) for r in gold]
    table["label_model"] = [row_names(r, run.labels) for r in run.label_model_sets(split)]
    table[f"p_{name}"] = run.label_model_proba(split)[:, target].round(3)
    table["text"] = df["text"].to_numpy()
    return table[mask].reset_index(drop=True)


def print_examples(table: pd.DataFrame, lf: str, label: str, kind: str, split: str,
                   limit: int, other: str | None = None) -> None:
    """The rows as a table, every cell printed literally (never as markup)."""
    what = WHAT.get(kind) or f"disagrees with {other or f'another {label} LF'} on"
    report.console().print(
        f"{lf} (votes on {label}: +{label} applies, -{label} does not) {what} {len(table)} "
        f"{split} rows" + (f" (first {limit})" if len(table) > limit else ""), markup=False)
    if table.empty:  # the headline says 0 rows: no empty table under it
        return
    out = Table(show_lines=False)
    for column in table.columns:
        out.add_column(column, overflow="fold")
    for row in table.head(limit).itertuples(index=False):
        out.add_row(*[Text(str(v)) for v in row])
    report.console().print(out)


def command(task, lf: str, kind: str, split: str, limit: int,
            other: str | None = None) -> None:
    """``labeling show`` on a multi-label task (``other``: an LF name, or 'any'/None).
    As the single-label show: the rows of the LFs on disk now, not the votes of an LF as
    it was before an edit, nor a label model fit before the last apply."""
    run = load_multilabel_run(task.config.source, task.run_dir)
    check_step_order(task.run_dir, [(L_FILE, "apply"), (PROBS_FILE, "fit")], "show")
    applied.check(task, "show")
    other = None if other in (None, "any") else other
    table = lf_examples(run, lf, kind, split, other)
    label = run.labels[int(run.targets[run.lf_names.index(lf)])]
    print_examples(table, lf, label, kind, split, limit, other)
