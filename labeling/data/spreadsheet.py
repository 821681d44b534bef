"""CSV for spreadsheets: what the CSVs written for people (``labeling predict --format
csv``, the Annotate pages' download) share, and reading a CSV a spreadsheet saved back.

Excel runs a cell starting with ``=``, ``+``, ``-`` or ``@`` as a formula
(``=HYPERLINK(...)``, ``+cmd|' /C calc'!A0`` in a scraped comment: OWASP's "CSV
injection"; OWASP lists a leading tab or carriage return too, which some spreadsheets
strip before reading the rest); :func:`formula_safe` makes such a text a text (the one
guard of both CSVs: predict's turns control characters into spaces first), and
:func:`formula_unsafe` undoes it for a column read back (``reversible=True``). Excel
reads a CSV without a byte-order mark in the machine's code page, so those files start
with :data:`BOM`. :func:`sheet_times` reads the times of such a CSV back (ISO 8601, or the
day/month/year a spreadsheet re-saved them in, in the order the column shows or the
user says).
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from labeling.data.readers import _csv_dialect, _decodes, _read_delimited, decode_text
from labeling.errors import DataError

BOM = "\ufeff"
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")
_NUMBER = re.compile(r"[+-]?\d+(?:[.,]\d+)?")
# a date in numbers: 2026-12-07 (ISO 8601), 2026/12/07, 07.12.2026, 7/12/2026, 12-7-2026
_NUMERIC_DATE = re.compile(r"\s*(\d{1,4})([/.-])(\d{1,2})\2(\d{1,4})(?!\d)(.*)", re.S)
_CLOCK = re.compile(r"\d:\d\d(:\d\d([.,]\d)?)?")  # the first: a time, not a zone
_FIX = ("write the times year first, as 2026-12-07 08:01 (ISO 8601), or delete the column "
        "(each row then replaces the stored label)")
# the order a d/m or m/d column is read in when its dates do not show it (date_order)
DATE_ORDERS = {"day_first": "day first", "month_first": "month first"}
_CHOOSE = ('say which (the Import box\'s "Dates like 03/04/2026 are": day first or month '
           'first; import_labels(date_order="day_first" or "month_first"))')


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


def sheet_times(values, name: str, first: int, column: str,
                date_order: str | None = None) -> list[tuple[int, int] | None]:
    """A column of times as unix milliseconds and the precision each one's text has (ms:
    1 with a fraction of a second, 1000 with seconds, 60000 without, a day without a
    time); None for an empty cell. ``name``: the file, ``first``: the row number of the
    first value, ``column``: its name (for the errors).

    A time without a zone is UTC (the download writes UTC; a spreadsheet keeps the clock
    as written). Dates in numbers: year first is ISO 8601 (2026-12-07, 2026/12/07); with
    dots, day first (07.12.2026); with "/" or "-" and the year last, the column's order
    is the one its dates show (a day over 12: 13/02/2026 is day first, 02/13/2026 month
    first), as a spreadsheet writes a column in one format; a column that does not show
    it is read in ``date_order`` ("day_first" or "month_first", :data:`DATE_ORDERS`: the
    user's word for it, e.g. US Excel's re-save is month first). A DataError, one line
    naming the cell: a date whose column does not show its order and no ``date_order``
    (03/02/2026 alone: 3 February or 2 March), a column showing both orders or the other
    one than ``date_order``, a two-digit year, or no date and time. A year past 2262
    (9999-12-31, a "never") is read as written."""
    if date_order is not None and date_order not in DATE_ORDERS:
        raise ValueError(f"date_order is one of {', '.join(DATE_ORDERS)}, not {date_order!r}")
    chosen = DATE_ORDERS.get(date_order)
    values = ["" if v is None else str(v).strip() for v in values]

    def where(i: int) -> str:
        return f"{name} row {first + i}, column {column}"

    dates = [_NUMERIC_DATE.fullmatch(v) for v in values]
    shown = {}  # order -> first row showing it
    for i, date in enumerate(dates):
        if date and len(date[1]) < 4 and date[2] != "." and len(date[4]) == 4:
            a, b = int(date[1]), int(date[3])
            if (a > 12) != (b > 12):
                shown.setdefault("day first" if a > 12 else "month first", i)
    if len(shown) == 2:
        i, j = sorted(shown.values())
        raise DataError(f"{where(j)}: {values[j]!r} and row {first + i}'s {values[i]!r} "
                        f"write the day and the month in different orders: {_FIX}")
    if chosen and shown and chosen not in shown:
        (order, i), = shown.items()
        raise DataError(f"{where(i)}: {values[i]!r} writes the {order} (a day over 12), "
                        f"but the dates were said to be {chosen} (\"Dates like 03/04/2026 "
                        f"are\", date_order={date_order!r}): choose {order}, or nothing and "
                        "the column's dates decide")
    return [None if not value else _sheet_time(value, date, next(iter(shown), chosen), where(i))
            for i, (value, date) in enumerate(zip(values, dates))]


def _sheet_time(value: str, date, order: str | None, where: str) -> tuple[int, int]:
    """One value of :func:`sheet_times` (``date``: its _NUMERIC_DATE match, ``order``:
    the column's)."""
    text = value
    if date:
        a, sep, b, c, rest = date.groups()
        if len(a) == 4:
            year, month, day = a, b, c
        elif len(c) != 4:
            raise DataError(f"{where}: {value!r} has no four-digit year: {_FIX}")
        elif sep == "." or order == "day first" or int(a) > 12:
            year, month, day = c, b, a
        elif order == "month first" or int(b) > 12:
            year, month, day = c, a, b
        else:
            raise DataError(
                f"{where}: {value!r} could be day/month or month/day, and no date of the "
                f"column has a day over 12 to tell: {_CHOOSE}, or {_FIX}")
        text = f"{int(year):04d}-{int(month):02d}-{int(day):02d}{rest}"
    stamp = pd.to_datetime(text, utc=True, errors="coerce")
    if stamp is None or pd.isna(stamp):
        raise DataError(f"{where}: {value!r} is not a date and time: {_FIX}")
    clock = _CLOCK.search(value)
    unit = (86_400_000 if clock is None else 60_000 if clock[1] is None
            else 1000 if clock[2] is None else 1)
    # in ms (floored, as the stored times are): a year past 2262 has no nanoseconds
    return int(stamp.as_unit("ms").asm8.astype("int64")), unit
