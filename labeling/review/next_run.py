"""What the next run does with each stored annotation, for the Annotate pages' table.

Why: the next run skips some annotations -- a label the task no longer has (renamed or
removed in labeling.toml), an example whose text changed since it was labeled (a data
file edited), test rows (held out) -- and only counted them in ``metrics.json`` after
the run. The table listed them like any other, so a team relabeling after a rename could
not tell which of their labels had stopped counting. Now each row says it, as
:func:`labeling.gold.valid_gold` decides it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from labeling.artifacts import ANNOTATIONS_USED_FILE
from labeling.data import LABEL_SET_SEPARATOR
from labeling.gold import next_run_verdicts, valid_gold

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


def since_run(store, data, multi_label: bool = False) -> str | None:
    """One line when the annotations the next run would use as dev gold are not the ones
    the run ``data`` used (its ``annotations_used.json``): labels given, changed or cleared
    since, which its scores do not count yet (``labeling evaluate`` refuses to reprint them
    then). None when they are the same, or the run kept no record to compare with."""
    try:
        used = json.loads((Path(data.run_dir) / ANNOTATIONS_USED_FILE).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(used, dict) or any(not isinstance(v, dict) for v in used.values()):
        return None
    gold, _ = valid_gold(store, data.config.name, data.labels, multi_label, file_splits(data))
    now = json.loads(json.dumps(gold))  # ids as JSON keys and sets as lists, as recorded
    counts = {"new": 0, "changed": 0, "cleared": 0}
    splits: dict[str, int] = {}
    for split in sorted(set(used) | set(now)):
        before, after = used.get(split) or {}, now.get(split) or {}
        for example_id in set(before) | set(after):
            kind = ("new" if example_id not in before else "cleared" if example_id not in after
                    else "changed" if before[example_id] != after[example_id] else None)
            if kind is not None:
                counts[kind] += 1
                splits[split] = splits.get(split, 0) + 1
    if not splits:
        return None
    what = ", ".join(f"{n} {kind}" for kind, n in counts.items() if n)
    where = ", ".join(f"{split} {n}" for split, n in splits.items())
    return (f"Annotations since this run ({what}; {where}) are not in these scores: they are "
            "the run's, against the gold it had. The next run uses them as dev gold (Run "
            "pipeline page).")
