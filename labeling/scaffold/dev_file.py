"""The checks `labeling init DATA --dev FILE` runs on the dev file: it must have the
columns the config will name (the data file's), since the task's first step reads it
with them, and a gold label on its rows."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from labeling.data import check_ids, check_texts, check_unique_ids, columns_note
from labeling.errors import LabelingError


def _missing_column(frame: pd.DataFrame, dev: Path, column: str, flag: str) -> str:
    """The line for a dev file without ``column`` (``flag``'s): a label column may be
    named by its flag; the text and id columns are the data file's, so the dev file needs
    them (their flags would rename them in the data file too, which has them)."""
    if flag == "--id-column":
        advice = f"add a column {column!r} to {dev.name} (its examples' ids)"
    elif flag == "--label-column":
        advice = f"pass {flag} NAME for its gold labels"
    else:
        advice = (f"name its texts' column {column!r} in {dev.name}, as in the data file "
                  "(the config names one text column for every split)")
    return f"{dev}: no column {column!r} {columns_note(frame.columns, column)}; {advice}"


def dev_gold(frame: pd.DataFrame, dev: Path, text_column: str, label_column: str,
             id_column: str | None) -> pd.Series:
    """The gold labels of the ``--dev`` file, once it has the columns the config will
    name (the data file's): else the task's first step would stop on it."""
    for column, flag in ((text_column, "--text-column"), (label_column, "--label-column"),
                         (id_column, "--id-column")):
        if column and column not in frame.columns:
            raise LabelingError(_missing_column(frame, dev, column, flag))
    check_texts(frame[text_column], dev, text_column)
    if id_column:
        check_ids(frame[id_column], dev, id_column)
        check_unique_ids(frame[id_column], dev, id_column)
    gold = frame[label_column].dropna().astype(str).str.strip()
    gold = gold[gold != ""]
    if gold.empty:
        raise LabelingError(f"{dev}: column {label_column!r} holds no gold label: the --dev "
                            "file's rows need one each")
    return gold
