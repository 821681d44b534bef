"""What the next run does with each stored annotation, for the Annotate pages' table.

Why: the next run skips some annotations -- a label the task no longer has (renamed or
removed in labeling.toml), an example whose text changed since it was labeled (a data
file edited), test rows (held out) -- and only counted them in ``metrics.json`` after
the run. The table listed them like any other, so a team relabeling after a rename could
not tell which of their labels had stopped counting. Now each row says it, as
:func:`labeling.gold.valid_gold` decides it.
"""

from __future__ import annotations

import pandas as pd

from labeling.data import LABEL_SET_SEPARATOR
from labeling.gold import next_run_verdicts

VERDICTS = {
    "used": "used",
    "ignored": "not used: names a label the task no longer has",
    "text_changed": "not used: the example's text changed since",
    "test_not_used": "not used: test rows stay held out",
}


def file_splits(data) -> dict[str, pd.DataFrame]:
    """The train and dev rows (id, text) as the data files hold them, from the run ``data``
    (single- or multi-label): the run's dev without the train rows it moved there, and
    those rows back in train under their own ids."""
    dev = data.frames.get("dev")
    train = data.frames.get("train")
    out = {}
    if dev is not None:
        moved = dev["id"].isin(list(data.moved))
        out["dev"] = dev.loc[~moved, ["id", "text"]]
        back = dev.loc[moved, ["id", "text"]].assign(id=lambda f: f["id"].map(data.moved))
        train = back if train is None else pd.concat([train[["id", "text"]], back])
    if train is not None:
        out["train"] = train
    return out


def with_next_run(table: pd.DataFrame, store, data, multi_label: bool = False) -> pd.DataFrame:
    """``table`` (rows of :meth:`AnnotationStore.table`) with a ``next_run`` column."""
    verdicts = next_run_verdicts(store, data.config.name, data.labels, multi_label,
                                 file_splits(data))
    column = [VERDICTS[verdicts.get((s, str(i)), "ignored")]
              for s, i in zip(table["split"], table["example_id"])]
    return table.assign(next_run=column)


def unknown_label_names(names, labels: list[str]) -> list[str]:
    """The label names in ``names`` (stored ``label_name`` values; a set's names joined
    by ";") that are not among the task's ``labels``: a label renamed or removed since."""
    found = {n.strip() for name in names for n in str(name or "").split(LABEL_SET_SEPARATOR)}
    return sorted(found - set(labels) - {""})
