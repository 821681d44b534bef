"""CSV for spreadsheets: what the CSVs written for people (``labeling predict --format
csv``, the Annotate pages' download) share, and reading a CSV a spreadsheet saved back.

Excel runs a cell starting with ``=``, ``+``, ``-`` or ``@`` as a formula
(``=HYPERLINK(...)``, ``+cmd|' /C calc'!A0`` in a scraped comment: OWASP's "CSV
injection"; OWASP lists a leading tab or carriage return too, which some spreadsheets
strip before reading the rest); :func:`formula_safe` makes such a text a text (the one
guard of both CSVs: predict's turns control characters into spaces first), and
:func:`formula_unsafe` undoes it for a column read back (``reversible=True``). Excel
reads a CSV without a byte-order mark in the machine's code page, so those files start
with :data:`BOM`.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from labeling.data.readers import _csv_dialect, _decodes, _read_delimited, decode_text

BOM = "\ufeff"
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")
_NUMBER = re.compile(r"[+-]?\d+(?:[.,]\d+)?")


def formula_safe(value: str, reversible: bool = False) -> str:
    """``value`` with a leading ``'`` when a spreadsheet would run it as a formula; a
    number (``-5``, ``+44``) stays one. ``reversible``: a value starting with ``'`` gets
    one too, so that :func:`formula_unsafe` gives back every value exactly."""
    if (value.startswith(_FORMULA_STARTS) and not _NUMBER.fullmatch(value)
            or reversible and value.startswith("'")):
        return "'" + value
    return value


def formula_unsafe(value: str) -> str:
    """A value written by ``formula_safe(value, reversible=True)``, as it was."""
    return value[1:] if value.startswith("'") else value


def read_sheet_csv(content: bytes, name: str) -> pd.DataFrame:
    """A CSV as a spreadsheet saves it, every value a string: UTF-8 (a BOM dropped), else
    cp1252 (Excel's "CSV (Comma delimited)"), ',' or ';'-separated, empty rows after the
    data skipped (docs/data.md's rules)."""
    encoding = "utf-8" if _decodes(content, "utf-8") else "cp1252"
    text = decode_text(content, name, encoding, "re-save it as CSV UTF-8")
    return _read_delimited(text, Path(name), _csv_dialect(text))
