"""Reading a data file exactly or not at all: CSV, TSV, JSONL and Parquet (docs/data.md).

Parse errors name the file and the line; :func:`read_table` is the entry point.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd

from labeling.errors import DataError

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
        text = data.decode(codec)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].decode(codec, errors="replace").count("\n") + 1
        shown = "UTF-8" if codec == "utf-8-sig" else encoding
        if data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):  # Excel's "Unicode text"
            shown, hint = shown + "; it starts with a UTF-16 byte-order mark", hint.replace(
                '"latin-1"', '"utf-16"')
        elif codec == "utf-8-sig" and '"latin-1"' in hint and _decodes(data, "cp1252"):
            # Excel's "CSV (Comma delimited)": cp1252, whose "€" latin-1 would refuse
            hint = ("it reads as cp1252, as Windows and Excel save \"CSV (Comma "
                    "delimited)\": " + hint.replace('"latin-1"', '"cp1252"'))
        raise DataError(f"{source}: not valid {shown} (byte {exc.start}, line {line}); "
                        f"{hint}") from None
    if codecs.lookup(codec).name == "iso8859-1":
        _check_latin1_text(data, text, source, encoding)
    return text


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def _check_latin1_text(data: bytes, text: str, source, encoding: str) -> None:
    """latin-1 reads any byte; its 0x80-0x9f are control characters no text holds: the
    file is another encoding, read wrongly without a word. Usually cp1252 (Windows, Excel:
    "€", "’", "…"; a price "50 €" would become "50 \x80"), or UTF-8 (whose accented letters
    hold such bytes: cp1252 would turn them into mojibake as silently), so the one that
    decodes the file is named."""
    found = re.search("[\x80-\x9f]", text)
    if not found:
        return
    byte = ord(found.group())
    where = (f"{source}: byte 0x{byte:02x} (byte {found.start()}, line "
             f"{text.count(chr(10), 0, found.start()) + 1}) is a control character in {encoding}")
    if _decodes(data, "utf-8"):
        raise DataError(f"{where}, and the whole file is valid UTF-8: it is UTF-8; read "
                        "it as \"utf-8\" (the default)")
    if _decodes(data, "cp1252"):
        shown = bytes([byte]).decode("cp1252")
        raise DataError(f"{where}, {shown!r} in cp1252 as Windows and Excel write it: read "
                        "the file as \"cp1252\"")
    raise DataError(f"{where}; it is neither UTF-8 nor cp1252: find the encoding that wrote it")


def _kind(value) -> str:
    """The JSON-ish name of a value's type, for error messages."""
    if value is None or isinstance(value, (list, tuple, np.ndarray)):
        return "null" if value is None else "list"
    return type(value).__name__


def column_list(columns) -> str:
    """A file's column names for an error message; a name with spaces around it (or
    empty) is quoted, so ``'text '`` does not read as ``text``."""
    return ", ".join(repr(c) if c != c.strip() or not c else c for c in map(str, columns))


def near_column(wanted: str, columns) -> str | None:
    """The one column named ``wanted`` but for case and surrounding spaces (Excel's
    ``Text`` or ``" label "`` for ``text``, ``label``), if any."""
    near = [c for c in map(str, columns)
            if c != wanted and c.strip().casefold() == wanted.strip().casefold()]
    return near[0] if len(near) == 1 else None


def columns_note(columns, wanted: str) -> str:
    """``(columns: ...)`` for an error on a missing column ``wanted``, with the column it
    was probably meant to be (:func:`near_column`)."""
    near = near_column(wanted, columns)
    return (f"(columns: {column_list(columns)}"
            + (f"; did you mean {near!r}?)" if near is not None else ")"))


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
    are skipped, so are rows of only empty fields after the last row with a value (a
    spreadsheet's formatted rows, ",,"), and every value stays the exact string in the
    file. A ",," row between rows is kept: row-number ids count it, as they always did."""
    reader = csv.reader(io.StringIO(text, newline=""), **dialect)
    header, rows, start, empty = None, [], 1, []
    try:
        for fields in reader:
            end = reader.line_num  # a quoted field may span lines: the row is start..end
            if not fields:  # a blank line
                pass
            elif not any(fields):  # ",,": kept only if a row with a value follows
                if header is not None:
                    empty.append((fields, start))
            elif header is None:
                repeated = sorted({f for f in fields if fields.count(f) > 1 and f})
                if repeated:
                    raise DataError(f"{path}: line {start}: column '{repeated[0]}' appears "
                                    "more than once in the header")
                header, header_line = fields, start
            elif len(fields) != len(header):
                spans = (f"; this row spans lines {start}-{end}: is a '\"' unbalanced?"
                         if end > start else _separator_hint(header, dialect))
                raise DataError(f"{path}: line {start}: expected {len(header)} fields (as in "
                                f"the header), found {len(fields)}{spans}")
            else:
                for kept, line in empty:  # a row between rows: checked as any row
                    if len(kept) != len(header):
                        raise DataError(f"{path}: line {line}: expected {len(header)} fields "
                                        f"(as in the header), found {len(kept)}")
                rows += [kept for kept, _ in empty] + [fields]
                empty = []
            start = end + 1
    except csv.Error as exc:
        if reader.line_num > start or "end of data" in str(exc):
            raise DataError(f"{path}: line {start}: a quote opened in this row is never closed "
                            f"properly ({exc} on line {reader.line_num}); an unbalanced '\"' "
                            "would merge the rows after it") from None
        raise DataError(f"{path}: line {start}: {exc}") from None
    if header is None:
        return pd.DataFrame()
    return _drop_empty_unnamed(pd.DataFrame(rows, columns=range(len(header)), dtype=str),
                               header, path, header_line)


def _drop_empty_unnamed(frame: pd.DataFrame, header: list[str], path: Path,
                        line: int) -> pd.DataFrame:
    """The columns with their names, less those unnamed and empty in every row (the
    trailing separators of columns a spreadsheet once formatted: "id,text,,")."""
    unnamed = [k for k, name in enumerate(header) if not name]
    empty = {k for k in unnamed if not frame[k].str.len().any()}
    if len(unnamed) - len(empty) > 1:
        raise DataError(f"{path}: line {line}: column '' appears more than once in the "
                        "header (empty names: trailing separators?)")
    keep = [k for k in range(len(header)) if k not in empty]
    frame = frame[keep] if empty else frame
    frame.columns = [header[k] for k in keep]
    return frame


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
        if _SURROGATE_ESCAPE.search(line):
            _check_surrogates(value, path, number)
        rows.append(value)
    # object: values stay as written; pandas would turn an integer column with a gap into
    # floats (id 3 -> "3.0", reported on the wrong row, and LFs would read 3.0)
    return pd.DataFrame(rows, dtype=object)


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _check_surrogates(row: dict, path: Path, number: int) -> None:
    """A JSON string may escape half of a UTF-16 pair alone ("\\ud83d", an emoji cut by a
    truncating writer): it is no character, and no UTF-8 file, Parquet or output can
    hold it; the error names the line and the key."""
    for key, value in row.items():
        for name, text in ((key, key), (key, value)):
            if isinstance(text, str) and not text.isascii():
                bad = re.search("[\ud800-\udfff]", text)
                if bad:
                    raise DataError(f"{path}: line {number}: key {name!r} holds a lone UTF-16 "
                                    f"surrogate ({ascii(bad.group())[1:-1]}, half of an emoji "
                                    "cut short?), which is not a character: remove it")


def read_table(path: Path, encoding: str = "utf-8", hint: str = UTF8_HINT) -> pd.DataFrame:
    """Read a CSV, TSV, JSONL or Parquet file, with one-line errors naming the file.

    ``encoding`` applies to CSV, TSV and JSONL; ``hint`` ends an encoding error."""
    if not path.is_file():
        raise DataError(f"{path}: data file not found")
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".tsv", ".jsonl", ".ndjson", ".parquet"):
        sheet = ("; in Excel, File > Save As > \"CSV UTF-8 (Comma delimited)\" saves the "
                 "sheet as one" if suffix in (".xlsx", ".xlsm", ".xls", ".ods") else "")
        raise DataError(f"{path}: unsupported file type {suffix!r} "
                        f"(use .csv, .tsv, .jsonl or .parquet){sheet}")
    if suffix == ".parquet":
        try:
            frame = pd.read_parquet(path)
        except Exception as exc:  # pyarrow's errors have no common base class
            raise DataError(f"{path}: cannot parse: {exc}") from None
        # a frame saved after set_index("id") keeps "id" as its index: a column here
        named = [n for n in frame.index.names if n is not None and n not in frame.columns]
        frame = frame.reset_index(level=named) if named else frame
        # a pandas 'category' column (dictionary-encoded strings) as its plain values: a
        # missing text could not become "" in it (it is no category)
        for column in frame.columns[frame.dtypes.map(lambda d: d == "category")]:
            frame[column] = frame[column].astype(object)
        return frame
    text = decode_text(path.read_bytes(), path, encoding, hint)
    if suffix in (".jsonl", ".ndjson"):
        return _read_jsonl(text, path)
    return _read_tsv(text, path) if suffix == ".tsv" else _read_delimited(text, path,
                                                                           _csv_dialect(text))


def _csv_dialect(text: str) -> dict:
    """CSV's dialect, ';'-separated when the header is: one field read with ',', several
    with ';' (spreadsheets save CSV so where ',' is the decimal mark)."""
    header = next((m[0] for m in re.finditer(r"[^\r\n]+", text) if m[0].strip()), "")
    if ";" not in header:
        return CSV_DIALECT
    semicolon = {**CSV_DIALECT, "delimiter": ";"}
    fields = {}
    for sep, dialect in ((",", CSV_DIALECT), (";", semicolon)):
        try:
            fields[sep] = len(next(csv.reader([header], **dialect)))
        except csv.Error:
            fields[sep] = 0
    return semicolon if fields[","] <= 1 < fields[";"] else CSV_DIALECT
