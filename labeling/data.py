"""Loading a task's data files into DataFrames with ``id``, ``text`` and ``label``.

The configured text, id and label columns are renamed to ``text``, ``id`` and
``label`` so LFs read ``x.text`` whatever the file calls it; every other column is
kept for LFs and prompts to use. Gold labels may be names (``"spam"``) or class
indices; they become indices. Errors name the file, the row (1-based, header
excluded) and the column.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd

from labeling.config import TaskConfig
from labeling.errors import DataError

SPLITS = ("train", "dev", "test")


def decode_utf8(data: bytes, source) -> str:
    """``data`` as text (a BOM is dropped), or a DataError naming ``source`` and the line."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DataError(f"{source}: not valid UTF-8 (byte {exc.start}, line {line}); "
                        "re-save it as UTF-8") from None


def _read_utf8(path: Path) -> str:
    return decode_utf8(path.read_bytes(), path)


def read_table(path: Path) -> pd.DataFrame:
    """Read a CSV, JSONL or Parquet file, with one-line errors naming the file."""
    if not path.is_file():
        raise DataError(f"{path}: data file not found")
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            return pd.read_parquet(path)
        text = _read_utf8(path)
        if suffix in (".jsonl", ".ndjson"):
            rows = []
            for number, line in enumerate(text.splitlines(), start=1):
                if line.strip():
                    try:
                        rows.append(json.loads(line))
                    except json.JSONDecodeError as exc:
                        raise DataError(f"{path}: line {number}: not valid JSON: {exc.msg}") from None
            return pd.DataFrame(rows)
        if suffix in (".csv", ".tsv"):
            sep = "\t" if suffix == ".tsv" else ","
            return pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False)
    except DataError:
        raise
    except Exception as exc:  # parser errors from pandas/pyarrow
        raise DataError(f"{path}: cannot parse: {exc}") from None
    raise DataError(f"{path}: unsupported file type {suffix!r} (use .csv, .tsv, .jsonl or .parquet)")


def label_indices(values: pd.Series, labels: list[str], path: Path,
                  column: str = "label") -> pd.Series:
    """Map gold values (names or indices) to class indices, or name the bad row."""
    by_name = {name: i for i, name in enumerate(labels)}
    by_name.update({str(i): i for i in range(len(labels))})
    out = []
    for row, value in enumerate(values, start=1):
        key = str(value).strip() if value is not None else ""
        if key.endswith(".0"):  # integer labels read as floats
            key = key[:-2]
        if key not in by_name:
            shown = "(empty)" if key in ("", "nan", "None") else repr(value)
            raise DataError(f"{path}: row {row}, column '{column}': unknown label {shown} "
                            f"(labels: {', '.join(labels)})")
        out.append(by_name[key])
    return pd.Series(out, index=values.index, dtype="int64")


def load_split(config: TaskConfig, split: str) -> pd.DataFrame | None:
    """The split's DataFrame, or None when the config names no file for it."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}")
    rel = getattr(config.data, split)
    if rel is None:
        return None
    path = config.resolve(rel)
    df = read_table(path)
    if df.empty:
        raise DataError(f"{path}: no rows (data.{split} must hold at least one example)")
    cols = config.data
    needed = {cols.text_column: "text"}
    if split != "train":
        needed[cols.label_column] = "label"
    if cols.id_column:
        needed[cols.id_column] = "id"
    for column, role in needed.items():
        if column not in df.columns:
            raise DataError(f"{path}: no {role} column '{column}' (columns: "
                            f"{', '.join(map(str, df.columns))}); set data.{role}_column")
    if split == "train" and cols.label_column in df.columns:
        df = df.drop(columns=cols.label_column)  # train gold is never used
    df = df.rename(columns={v: k for k, v in {"text": cols.text_column,
                                               "id": cols.id_column}.items() if v})
    if split != "train":
        df = df.rename(columns={cols.label_column: "label"})
        df["label"] = label_indices(df["label"], config.labels, path, cols.label_column)
    if "id" not in df.columns:
        df.insert(0, "id", [f"{split}-{i}" for i in range(len(df))])
    df["id"] = df["id"].astype(str)
    repeated = df["id"][df["id"].duplicated()]
    if len(repeated):
        raise DataError(f"{path}: id '{repeated.iloc[0]}' appears more than once in column "
                        f"'{cols.id_column}'")
    df["text"] = df["text"].fillna("").astype(str)
    return df.reset_index(drop=True)
