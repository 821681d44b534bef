"""Loading a task's data files into DataFrames with ``id``, ``text`` and ``label``.

The configured text, id and label columns are renamed to ``text``, ``id`` and
``label`` so LFs read ``x.text`` whatever the file calls it; the text column is also
kept under its own name (``x.content`` in LFs written for the file), and every other
column is kept for LFs and prompts to use. Gold labels may be names (``"spam"``) or class
indices; they become indices. A file is read exactly or not at all (the rules are in
docs/data.md): parse errors name the file and line, value errors the file, the row
(1-based, header excluded) and the column.

The readers are in :mod:`labeling.data.readers`; ``leakage_report``
(:mod:`labeling.data.leakage`) compares the splits: ids or texts a later split shares
with an earlier one. Both are importable from here.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pandas as pd

from labeling.config import TaskConfig
from labeling.data.leakage import (LEAKAGE_EXAMPLES, LEAKAGE_PAIRS, leakage_key,  # noqa: F401
                                   leakage_report, leakage_warnings)
from labeling.data.readers import (DATA_ENCODING_HINT, UTF8_HINT, _is_missing,  # noqa: F401
                                   _kind, column_list, columns_note, decode_text,
                                   near_column, read_table)
from labeling.errors import DataError

SPLITS = ("train", "dev", "test")
EMPTY_ROW = "(the row is empty: delete it in the spreadsheet)"  # a ",," row between rows


def empty_rows(df: pd.DataFrame) -> frozenset[int]:
    """Rows (1-based) whose every field is empty: a ``,,`` row between rows is kept as a
    row (row-number ids count it), so its missing id or label says it is empty."""
    blank = (df.isna() | df.astype(str).eq("")).all(axis=1).to_numpy()
    return frozenset(int(i) + 1 for i in blank.nonzero()[0]) if len(df.columns) else frozenset()


def label_indices(values: pd.Series, labels: list[str], path: Path,
                  column: str = "label", empty: frozenset[int] = frozenset()) -> pd.Series:
    """Map gold values (names or indices) to class indices, or name the bad row.

    When a label's name is itself an integer (star ratings ``["1", "2", "3"]``), values
    are names only: "1" would otherwise be both label "1" and class index 1."""
    by_name = {label_form(name): i for i, name in enumerate(labels)}
    if not any(_is_integer(name) for name in labels):
        by_name.update({str(i): i for i in range(len(labels))})
    out, bad = [], []
    for row, value in enumerate(values, start=1):
        key = label_form(str(value).strip()) if value is not None else ""
        if key not in by_name and key.endswith(".0"):  # integer labels read as floats
            key = key[:-2]
        if key not in by_name:
            bad.append((row, value, key))
            continue
        out.append(by_name[key])
    if bad:  # the first, and how many more: a partly labeled dev file has many
        (row, value, key), more = bad[0], f"; {len(bad)} rows in all" if len(bad) > 1 else ""
        shown = ((EMPTY_ROW if row in empty else "(empty)") if key in ("", "nan", "None")
                 else repr(value))
        raise DataError(f"{path}: row {row}, column '{column}': unknown label {shown} "
                        f"(labels: {', '.join(labels)}){more}")
    return pd.Series(out, index=values.index, dtype="int64")


def label_form(name: str) -> str:
    """The form label names compare in, NFC: "Ärger" with a combined or a separate
    accent is one label (gold files, ``labeling init``)."""
    return name if name.isascii() else unicodedata.normalize("NFC", name)


def _is_integer(name: str) -> bool:
    try:
        int(name)
    except ValueError:
        return False
    return True


LABEL_SET_SEPARATOR = ";"


def label_sets(values: pd.Series, labels: list[str], path: Path,
               column: str = "label", empty: frozenset[int] = frozenset()) -> pd.Series:
    """Multi-label gold: each cell names its labels joined by ";" ("joy;surprise") and
    becomes a sorted tuple of class indices; an unknown or missing name names its row."""
    out, index = [], {label_form(label): i for i, label in enumerate(labels)}
    for row, value in enumerate(values, start=1):
        names = [] if _is_missing(value) else str(value).split(LABEL_SET_SEPARATOR)
        names = [label_form(n.strip()) for n in names if n.strip()]
        if not names:
            hint = EMPTY_ROW if row in empty else f"(name at least one of: {', '.join(labels)})"
            raise DataError(f"{path}: row {row}, column '{column}': empty label set {hint}")
        unknown = [n for n in names if n not in index]
        if unknown:
            raise DataError(f"{path}: row {row}, column '{column}': unknown label "
                            f"{unknown[0]!r} (labels: {', '.join(labels)})")
        out.append(tuple(sorted({index[n] for n in names})))
    return pd.Series(out, index=values.index, dtype=object)


def check_texts(values: pd.Series, path: Path, column: str) -> None:
    """Texts are strings (missing ones become ""): a number or a list would be silently
    stringified into a text that is not in the file."""
    if isinstance(values.dtype, pd.StringDtype):
        return  # strings or missing, by dtype
    for row, value in enumerate(values.tolist(), start=1):
        if not (isinstance(value, str) or _is_missing(value)):
            raise DataError(f"{path}: row {row}, column '{column}': expected a string, got "
                            f"{_kind(value)} {str(value)[:40]!r}")


def check_some_text(values: pd.Series, path: Path, column: str, hint: str) -> None:
    """Not every text is empty: an empty text column is the wrong column (LFs would all
    abstain and the end model fail on an empty vocabulary)."""
    if not values.map(lambda v: isinstance(v, str) and not v.isspace() and v != "").any():
        raise DataError(f"{path}: column '{column}' is empty in all {len(values)} rows: is it "
                        f"the column holding the texts? {hint}")


def check_ids(values: pd.Series, path: Path, column: str,
              empty: frozenset[int] = frozenset()) -> None:
    """Ids are non-empty strings or integers: a missing id would become "nan", an integer
    column with a gap reads as floats ("3.0")."""
    for row, value in enumerate(values.tolist(), start=1):
        if _is_missing(value) or (isinstance(value, str) and not value):
            raise DataError(f"{path}: row {row}, column '{column}': missing id"
                            + (f" {EMPTY_ROW}" if row in empty else ""))
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise DataError(f"{path}: row {row}, column '{column}': expected a string or "
                            f"integer id, got {_kind(value)} {str(value)[:40]!r}")


def check_unique_ids(ids: pd.Series, path: Path, column: str | None) -> None:
    """Ids (as strings) are unique within a file: the first repeated one names its rows."""
    ids = ids.astype(str).reset_index(drop=True)
    if ids.duplicated().any():
        first = ids[ids.duplicated()].iloc[0]
        rows = (ids.index[ids == first] + 1).tolist()
        excel = ("; a number in scientific notation, as a spreadsheet saves a long number "
                 "it shows so: format the id column as Number with 0 decimals (over 15 "
                 "digits: import it as Text) and save again"
                 if re.fullmatch(r"[+-]?\d(?:[.,]\d+)?E[+-]?\d+", first, re.I) else "")
        raise DataError(f"{path}: id '{first}' appears more than once in column "
                        f"'{column}' (rows {rows[0]} and {rows[1]}){excel}")


def load_split(config: TaskConfig, split: str) -> pd.DataFrame | None:
    """The split's DataFrame, or None when the config names no file for it."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}")
    rel = getattr(config.data, split)
    if rel is None:
        return None
    path = config.resolve(rel)
    cols = config.data
    df = read_table(path, cols.encoding, DATA_ENCODING_HINT)
    if df.empty:
        raise DataError(f"{path}: no rows (data.{split} must hold at least one example)")
    empty = empty_rows(df)
    needed = {cols.text_column: "text"}
    if split != "train":
        needed[cols.label_column] = "label"
    if cols.id_column:
        needed[cols.id_column] = "id"
    for column, role in needed.items():
        if column not in df.columns:
            raise DataError(f"{path}: no {role} column '{column}' "
                            f"{columns_note(df.columns, column)}; set data.{role}_column")
    check_texts(df[cols.text_column], path, cols.text_column)
    check_some_text(df[cols.text_column], path, cols.text_column, "(data.text_column)")
    if cols.id_column:
        check_ids(df[cols.id_column], path, cols.id_column, empty)
    if split == "train" and cols.label_column in df.columns:
        df = df.drop(columns=cols.label_column)  # train gold is never used
    for role, column in (("text", cols.text_column), ("id", cols.id_column or ""),
                         ("label", cols.label_column if split != "train" else "label")):
        if role in df.columns and column != role:  # it would be read in place of `column`
            raise DataError(f"{path}: a column '{role}' besides data.{role}_column = "
                            f"'{column}', which is read as '{role}': rename one of them"
                            if column else f"{path}: a column 'id', but data.id_column is "
                            "empty (row-number ids): set it to \"id\", or rename the column")
    df = df.rename(columns={v: k for k, v in {"text": cols.text_column,
                                               "id": cols.id_column}.items() if v})
    if split != "train":
        df = df.rename(columns={cols.label_column: "label"})
        to_gold = label_sets if config.multi_label else label_indices
        df["label"] = to_gold(df["label"], config.labels, path, cols.label_column, empty)
    if "id" not in df.columns:
        df.insert(0, "id", [f"{split}-{i}" for i in range(len(df))])
    df["id"] = df["id"].astype(str)
    check_unique_ids(df["id"], path, cols.id_column)
    df["text"] = df["text"].fillna("").astype(str)
    if cols.text_column not in ("text", "id", "label"):
        # also under its own name: LFs written for the file (snorkel code reading
        # x.content) keep working unchanged
        df[cols.text_column] = df["text"]
    return df.reset_index(drop=True)
