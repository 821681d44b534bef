"""Loading a task's data files into DataFrames with ``id``, ``text`` and ``label``.

The configured text, id and label columns are renamed to ``text``, ``id`` and
``label`` so LFs read ``x.text`` whatever the file calls it; every other column is
kept for LFs and prompts to use. Gold labels may be names (``"spam"``) or class
indices; they become indices. A file is read exactly or not at all (the rules are in
docs/data.md): parse errors name the file and line, value errors the file, the row
(1-based, header excluded) and the column.

``leakage_report`` compares the splits: ids or texts a later split shares with an
earlier one.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import math
import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from labeling.config import TaskConfig
from labeling.errors import DataError

SPLITS = ("train", "dev", "test")

UTF8_HINT = "re-save it as UTF-8"
DATA_ENCODING_HINT = ('set [data] encoding to the file\'s encoding (e.g. "latin-1") or re-save '
                      "it as UTF-8")

# csv's default field limit (128 KiB) would reject long documents; raised once, never lowered.
csv.field_size_limit(max(csv.field_size_limit(), 2**31 - 1))
# CSV: RFC 4180 quoting; strict, so a quote followed by anything but a separator is an error.
CSV_DIALECT = {"delimiter": ",", "quotechar": '"', "doublequote": True, "strict": True}
# TSV: tabs separate fields and nothing is quoted: a '"' is a character like any other...
TSV_DIALECT = {"delimiter": "\t", "quoting": csv.QUOTE_NONE, "strict": True}
# ...unless the file is CSV-quoted, as pandas, csv.writer and spreadsheets write TSV.
TSV_QUOTED_DIALECT = {**CSV_DIALECT, "delimiter": "\t"}
_FIELD_OPENS_QUOTE = re.compile(r'(?:^|\t)"', re.MULTILINE)


def decode_text(data: bytes, source, encoding: str = "utf-8", hint: str = UTF8_HINT) -> str:
    """``data`` as text, or a DataError naming ``source``, the byte and the line.

    For UTF-8 a leading BOM is dropped."""
    codec = "utf-8-sig" if codecs.lookup(encoding).name == "utf-8" else encoding
    if codec != "utf-8-sig" and data.startswith(codecs.BOM_UTF8):  # else mojibake
        raise DataError(f"{source}: starts with a UTF-8 byte-order mark: it is UTF-8, not "
                        f"{encoding}; read it as UTF-8, or re-save it as {encoding}")
    try:
        return data.decode(codec)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].decode(codec, errors="replace").count("\n") + 1
        shown = "UTF-8" if codec == "utf-8-sig" else encoding
        if data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):  # Excel's "Unicode text"
            shown, hint = shown + "; it starts with a UTF-16 byte-order mark", hint.replace(
                '"latin-1"', '"utf-16"')
        raise DataError(f"{source}: not valid {shown} (byte {exc.start}, line {line}); "
                        f"{hint}") from None


def _kind(value) -> str:
    """The JSON-ish name of a value's type, for error messages."""
    if value is None or isinstance(value, (list, tuple, np.ndarray)):
        return "null" if value is None else "list"
    return type(value).__name__


def column_list(columns) -> str:
    """A file's column names for an error message; a name with spaces around it (or
    empty) is quoted, so ``'text '`` does not read as ``text``."""
    return ", ".join(repr(c) if c != c.strip() or not c else c for c in map(str, columns))


def _is_missing(value) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _separator_hint(header: list[str], dialect: dict) -> str:
    """The hint for a one-field header holding another separator (a spreadsheet's ';')."""
    for name, sep in (("';'", ";"), ("tab", "\t"), ("','", ","), ("'|'", "|")):
        if len(header) == 1 and sep != dialect["delimiter"] and sep in header[0]:
            return (f"; the header is one field holding {name}s: is the file "
                    f"{name}-separated? (.csv is read as ',', .tsv as tab-separated)")
    return ""


def _read_delimited(text: str, path: Path, dialect: dict) -> pd.DataFrame:
    """Rows of a CSV/TSV text: every row has the header's number of fields, blank lines
    are skipped, and every value stays the exact string in the file."""
    reader = csv.reader(io.StringIO(text, newline=""), **dialect)
    header, rows, start = None, [], 1
    try:
        for fields in reader:
            end = reader.line_num  # a quoted field may span lines: the row is start..end
            if not fields:
                pass
            elif header is None:
                repeated = sorted({f for f in fields if fields.count(f) > 1})
                if repeated:
                    empty = " (empty names: trailing separators?)" if not repeated[0] else ""
                    raise DataError(f"{path}: line {start}: column '{repeated[0]}' appears "
                                    f"more than once in the header{empty}")
                header = fields
            elif len(fields) != len(header):
                spans = (f"; this row spans lines {start}-{end}: is a '\"' unbalanced?"
                         if end > start else _separator_hint(header, dialect))
                raise DataError(f"{path}: line {start}: expected {len(header)} fields (as in "
                                f"the header), found {len(fields)}{spans}")
            else:
                rows.append(fields)
            start = end + 1
    except csv.Error as exc:
        if reader.line_num > start or "end of data" in str(exc):
            raise DataError(f"{path}: line {start}: a quote opened in this row is never closed "
                            f"properly ({exc} on line {reader.line_num}); an unbalanced '\"' "
                            "would merge the rows after it") from None
        raise DataError(f"{path}: line {start}: {exc}") from None
    if header is None:
        return pd.DataFrame()
    return pd.DataFrame(rows, columns=header, dtype=str)


def _csv_quoted(frame: pd.DataFrame) -> bool:
    """Whether a field read without quoting is a CSV writer's quoted field: wrapped in
    '"' with every '"' inside doubled, at least once (``"say ""hi"" now"``). A writer quotes
    a field for its quotes (a tab or a line break in it breaks the unquoted read)."""
    for values in (frame[column] for column in frame.columns):
        inner = values[values.str.match(r'^".*"$', flags=re.DOTALL)].str.slice(1, -1)
        inner = inner[inner.str.contains('""', regex=False)].str.replace('""', "", regex=False)
        if (~inner.str.contains('"', regex=False)).any():
            return True
    return False


def _read_tsv(text: str, path: Path) -> pd.DataFrame:
    """A TSV read without quoting, unless it shows a CSV writer's quoting (a field like
    ``"say ""hi"" now"``, or a failed unquoted read and a field opening with '"'): then
    with CSV quoting, if that reads it cleanly (docs/data.md)."""
    try:
        frame = _read_delimited(text, path, TSV_DIALECT)
    except DataError:
        if not _FIELD_OPENS_QUOTE.search(text):
            raise
        frame = None
    if frame is not None and not _csv_quoted(frame):
        return frame
    try:
        return _read_delimited(text, path, TSV_QUOTED_DIALECT)
    except DataError:
        if frame is not None:
            return frame
    return _read_delimited(text, path, TSV_DIALECT)  # raises the unquoted read's error


def _read_jsonl(text: str, path: Path) -> pd.DataFrame:
    """One JSON object per line; blank lines are skipped. Only '\\n' ends a line: other
    Unicode line breaks (U+2028, form feed...) are valid inside JSON strings."""
    rows = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}: line {number}: not valid JSON: {exc.msg}") from None
        if not isinstance(value, dict):
            raise DataError(f'{path}: line {number}: expected a JSON object ({{"text": ...}}), '
                            f"got {_kind(value)}")
        rows.append(value)
    # object: values stay as written; pandas would turn an integer column with a gap into
    # floats (id 3 -> "3.0", reported on the wrong row, and LFs would read 3.0)
    return pd.DataFrame(rows, dtype=object)


def read_table(path: Path, encoding: str = "utf-8", hint: str = UTF8_HINT) -> pd.DataFrame:
    """Read a CSV, TSV, JSONL or Parquet file, with one-line errors naming the file.

    ``encoding`` applies to CSV, TSV and JSONL; ``hint`` ends an encoding error."""
    if not path.is_file():
        raise DataError(f"{path}: data file not found")
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".tsv", ".jsonl", ".ndjson", ".parquet"):
        raise DataError(f"{path}: unsupported file type {suffix!r} "
                        "(use .csv, .tsv, .jsonl or .parquet)")
    if suffix == ".parquet":
        try:
            frame = pd.read_parquet(path)
        except Exception as exc:  # pyarrow's errors have no common base class
            raise DataError(f"{path}: cannot parse: {exc}") from None
        # a frame saved after set_index("id") keeps "id" as its index: a column here
        named = [n for n in frame.index.names if n is not None and n not in frame.columns]
        return frame.reset_index(level=named) if named else frame
    text = decode_text(path.read_bytes(), path, encoding, hint)
    if suffix in (".jsonl", ".ndjson"):
        return _read_jsonl(text, path)
    return _read_tsv(text, path) if suffix == ".tsv" else _read_delimited(text, path, CSV_DIALECT)


def label_indices(values: pd.Series, labels: list[str], path: Path,
                  column: str = "label") -> pd.Series:
    """Map gold values (names or indices) to class indices, or name the bad row.

    When a label's name is itself an integer (star ratings ``["1", "2", "3"]``), values
    are names only: "1" would otherwise be both label "1" and class index 1."""
    by_name = {name: i for i, name in enumerate(labels)}
    if not any(_is_integer(name) for name in labels):
        by_name.update({str(i): i for i in range(len(labels))})
    out, bad = [], []
    for row, value in enumerate(values, start=1):
        key = str(value).strip() if value is not None else ""
        if key not in by_name and key.endswith(".0"):  # integer labels read as floats
            key = key[:-2]
        if key not in by_name:
            bad.append((row, value, key))
            continue
        out.append(by_name[key])
    if bad:  # the first, and how many more: a partly labeled dev file has many
        (row, value, key), more = bad[0], f"; {len(bad)} rows in all" if len(bad) > 1 else ""
        shown = "(empty)" if key in ("", "nan", "None") else repr(value)
        raise DataError(f"{path}: row {row}, column '{column}': unknown label {shown} "
                        f"(labels: {', '.join(labels)}){more}")
    return pd.Series(out, index=values.index, dtype="int64")


def _is_integer(name: str) -> bool:
    try:
        int(name)
    except ValueError:
        return False
    return True


LABEL_SET_SEPARATOR = ";"


def label_sets(values: pd.Series, labels: list[str], path: Path,
               column: str = "label") -> pd.Series:
    """Multi-label gold: each cell names its labels joined by ";" ("joy;surprise") and
    becomes a sorted tuple of class indices; an unknown or missing name names its row."""
    out = []
    for row, value in enumerate(values, start=1):
        names = [] if _is_missing(value) else str(value).split(LABEL_SET_SEPARATOR)
        names = [n.strip() for n in names if n.strip()]
        if not names:
            raise DataError(f"{path}: row {row}, column '{column}': empty label set "
                            f"(name at least one of: {', '.join(labels)})")
        unknown = [n for n in names if n not in labels]
        if unknown:
            raise DataError(f"{path}: row {row}, column '{column}': unknown label "
                            f"{unknown[0]!r} (labels: {', '.join(labels)})")
        out.append(tuple(sorted({labels.index(n) for n in names})))
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


def check_ids(values: pd.Series, path: Path, column: str) -> None:
    """Ids are non-empty strings or integers: a missing id would become "nan", an integer
    column with a gap reads as floats ("3.0")."""
    for row, value in enumerate(values.tolist(), start=1):
        if _is_missing(value) or (isinstance(value, str) and not value):
            raise DataError(f"{path}: row {row}, column '{column}': missing id")
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise DataError(f"{path}: row {row}, column '{column}': expected a string or "
                            f"integer id, got {_kind(value)} {str(value)[:40]!r}")


def check_unique_ids(ids: pd.Series, path: Path, column: str | None) -> None:
    """Ids (as strings) are unique within a file: the first repeated one names its rows."""
    ids = ids.astype(str).reset_index(drop=True)
    if ids.duplicated().any():
        first = ids[ids.duplicated()].iloc[0]
        rows = (ids.index[ids == first] + 1).tolist()
        raise DataError(f"{path}: id '{first}' appears more than once in column "
                        f"'{column}' (rows {rows[0]} and {rows[1]})")


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
    needed = {cols.text_column: "text"}
    if split != "train":
        needed[cols.label_column] = "label"
    if cols.id_column:
        needed[cols.id_column] = "id"
    for column, role in needed.items():
        if column not in df.columns:
            raise DataError(f"{path}: no {role} column '{column}' (columns: "
                            f"{column_list(df.columns)}); set data.{role}_column")
    check_texts(df[cols.text_column], path, cols.text_column)
    if cols.id_column:
        check_ids(df[cols.id_column], path, cols.id_column)
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
        df["label"] = to_gold(df["label"], config.labels, path, cols.label_column)
    if "id" not in df.columns:
        df.insert(0, "id", [f"{split}-{i}" for i in range(len(df))])
    df["id"] = df["id"].astype(str)
    check_unique_ids(df["id"], path, cols.id_column)
    df["text"] = df["text"].fillna("").astype(str)
    return df.reset_index(drop=True)


# --- leakage between splits -------------------------------------------------------

LEAKAGE_PAIRS = (("train", "dev"), ("train", "test"), ("dev", "test"))
LEAKAGE_EXAMPLES = 5


def leakage_key(text: str) -> str:
    """What texts are compared by: runs of whitespace become one space, the ends are
    stripped; case and everything else are kept (exact duplicates up to spacing)."""
    return " ".join(text.split())


def leakage_report(splits: Mapping[str, pd.DataFrame | None]) -> dict[str, dict]:
    """Per split pair ``"first/second"`` (train/dev, train/test, dev/test; pairs with a
    missing split are left out): ``rows`` of the second split, ``shared_ids`` (ids in
    both) with up to 5 ``shared_id_examples``, and ``shared_texts`` (rows of the second
    split whose text, by :func:`leakage_key`, is also in the first; empty texts never
    count) with up to 5 ``shared_text_examples`` as ``[first_id, second_id]``. Examples
    follow the second split's row order. Splits need ``id`` and ``text`` columns."""
    report = {}
    for first, second in LEAKAGE_PAIRS:
        a, b = splits.get(first), splits.get(second)
        if a is None or b is None:
            continue
        a_ids, b_ids = a["id"].astype(str), b["id"].astype(str)
        shared_ids = b_ids[b_ids.isin(set(a_ids))]
        first_id_of = {}
        for text, id_ in zip(a["text"].fillna("").astype(str).map(leakage_key), a_ids):
            first_id_of.setdefault(text, id_)
        first_id_of.pop("", None)
        b_keys = b["text"].fillna("").astype(str).map(leakage_key)
        hits = b_keys.isin(set(first_id_of))
        examples = zip(b_keys[hits].head(LEAKAGE_EXAMPLES), b_ids[hits].head(LEAKAGE_EXAMPLES))
        report[f"{first}/{second}"] = {
            "rows": len(b),
            "shared_ids": len(shared_ids),
            "shared_id_examples": shared_ids.head(LEAKAGE_EXAMPLES).tolist(),
            "shared_texts": int(hits.sum()),
            "shared_text_examples": [[first_id_of[key], id_] for key, id_ in examples],
        }
    return report


def leakage_warnings(report: dict[str, dict]) -> list[str]:
    """One line per leak found in a :func:`leakage_report` (none when the splits are clean)."""
    lines = []
    for pair, found in report.items():
        first, second = pair.split("/")
        rows = found["rows"]
        if found["shared_ids"]:
            n = found["shared_ids"]
            lines.append(f"leakage: {n} of {rows} {second} ids ({n / rows:.1%}) are also "
                         f"{first} ids (e.g. {', '.join(found['shared_id_examples'])}): the "
                         "same examples in both, or ids unique only within a file")
        if found["shared_texts"]:
            n = found["shared_texts"]
            pairs = ", ".join(f"{s} = {f}" for f, s in found["shared_text_examples"])
            lines.append(f"leakage: {n} of {rows} {second} rows ({n / rows:.1%}) have a text "
                         f"also in {first} (e.g. {second} id = {first} id: {pairs})")
    return lines
