"""Hand labels made elsewhere, imported into the annotation store (the Annotate pages).

Why: the Annotate page downloads the annotations as CSV, but nothing read such a file
back: labels given in a spreadsheet, or by a colleague on another machine, had to be
clicked in again one by one. A file with the download's columns -- ``example_id``,
``split``, ``label_name`` (a label set's names joined by ";"), ``annotator`` optional --
as CSV or JSONL is checked whole before anything is written, then written in one
transaction (all or nothing: an error or a killed process part-way writes none): a row
naming a split, an example or a label the task does not have, or an example twice, is a
one-line error naming the file, its row and column. Labels are read by name (the
download's ``label`` index column is not read); each records its example's text now,
as a label given in the app does. A row naming the label the example already has is left
as it is (who gave it and when are kept), and a row of a download whose example was
relabeled, or its label cleared, in the app after that download (the stored label or
clear is newer than the row's ``updated_at``, compared to the precision the file writes
it: the download's milliseconds, a spreadsheet's seconds or minutes) is not imported: the
newer label (or none) is kept and the import says so, rather than a spreadsheet made an
hour ago reverting a teammate's label under their name; a label or clear it does
overwrite is named (``Imported.replaced``), with who gave it and when. The times are read
as :func:`labeling.data.spreadsheet.sheet_times` says (no zone: UTC; a day/month order the
column does not show is an error, not a guess, unless the user says it: ``date_order``).
A label edited in the downloaded file is recorded as the importer's, not as the name the
download had for the label it replaces. The CSV download's free-text cells never start a
formula in a spreadsheet: the ``'`` it adds to an id, a label name or an annotator's name
(``'@user``, and ``''x`` for ``'x``) is taken off again by the import.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import pandas as pd

from labeling.data import LABEL_SET_SEPARATOR
from labeling.data.spreadsheet import (BOM, formula_safe, formula_unsafe, read_sheet_csv,
                                       sheet_times)
from labeling.errors import DataError
from labeling.gold import label_set_record, parse_label_set, text_digest
from labeling.review.annotator import clean_name, when
from labeling.review.next_run import file_splits

COLUMNS = ("example_id", "split", "label_name")
# the CSV download's columns read back, each written by formula_safe(reversible=True)
READ_BACK = ("example_id", "label_name", "annotator")


def read_label_file(name: str, content: bytes) -> tuple[pd.DataFrame, int]:
    """The file's rows as strings, and the line number of its first row."""
    suffix = Path(name).suffix.lower()
    if suffix not in (".csv", ".jsonl", ".ndjson"):
        raise DataError(f"{name}: hand labels are read from .csv or .jsonl files")
    try:
        if suffix == ".csv":  # as Excel saves it: cp1252 or ';' too (the download, edited)
            frame, first = read_sheet_csv(content, name), 2
        else:
            frame, first = pd.read_json(io.BytesIO(content), lines=True, dtype=False), 1
    except (ValueError, UnicodeDecodeError) as exc:
        raise DataError(f"{name}: cannot be read as {suffix[1:]} "
                        f"({' '.join(str(exc).split())})") from None
    if missing := [c for c in COLUMNS if c not in frame.columns]:
        raise DataError(f"{name}: no column {', '.join(missing)} (a file of hand labels "
                        "has the download's columns example_id, split, label_name; "
                        "annotator is optional)")
    frame = frame.fillna("").astype(str)
    if suffix == ".csv":  # the "'" the download put before "@user", "-x", "'x"
        for column in READ_BACK:
            if column in frame.columns:
                frame[column] = frame[column].map(formula_unsafe)
    return frame, first


def check_labels(name: str, frame: pd.DataFrame, first: int, texts: dict, labels: list[str],
                 multi_label: bool, date_order: str | None = None) -> list[dict]:
    """One dict per row (split, example_id, indices, text, annotator); DataError at the
    first bad row. ``texts``: split -> {id: text} of the task's data files; ``date_order``:
    :func:`sheet_times`'s, for an ``updated_at`` column whose dates do not show it."""
    rows, seen = [], {}
    stamps = sheet_times(frame.get("updated_at", [None] * len(frame)), name, first,
                         "updated_at", date_order)
    for n, row in enumerate(frame.to_dict("records"), start=first):
        split, example_id = row["split"].strip(), row["example_id"].strip()
        where = f"{name} row {n}"
        if split not in texts:
            raise DataError(f"{where}, column split: {split!r} is not a split of the task "
                            f"({', '.join(texts)})")
        if example_id not in texts[split]:
            raise DataError(f"{where}, column example_id: {split} has no example "
                            f"{example_id!r}{_zeros_lost(example_id, texts[split])}")
        if (split, example_id) in seen:
            raise DataError(f"{where}: {split} example {example_id!r} is labeled on row "
                            f"{seen[split, example_id]} too")
        seen[split, example_id] = n
        indices = parse_label_set(row["label_name"], labels)
        if indices is None or (not multi_label and len(indices) != 1):
            raise DataError(f"{where}, column label_name: {row['label_name']!r} is not "
                            f"{'a set of ' if multi_label else 'one of '}the task's labels "
                            f"({', '.join(labels)})")
        rows.append({"split": split, "example_id": example_id, "indices": indices,
                     "text": texts[split][example_id],
                     "annotator": clean_name(row.get("annotator")),
                     "updated_at": stamps[n - first]})
    return rows


def _millis(seconds: float) -> int:
    """A stored ``updated_at`` in whole milliseconds, as :func:`export` writes it."""
    return math.floor(seconds * 1000)


class Imported(int):
    """How many rows an import wrote (an int), what it left: ``unchanged`` (the example
    already had that label) and ``kept`` (one line per example relabeled or cleared in the
    app after the file's ``updated_at``: the newer label, or none, stays), and what it
    overwrote: ``replaced`` (one line per example whose label, or clear, it replaced:
    which, by whom and when; :func:`replaced_note`)."""

    unchanged: int = 0
    kept: tuple[str, ...] = ()
    replaced: tuple[str, ...] = ()


def counted(n: int, noun: str) -> str:
    """``1 label``, ``2 labels``: ``n`` and ``noun`` in the plural unless ``n`` is 1."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def replaced_note(imported: Imported, name: str, shown: int = 5) -> str | None:
    """One line saying what the import of ``name`` overwrote, from whom; None: nothing."""
    if not imported.replaced:
        return None
    more = " ..." if len(imported.replaced) > shown else ""
    return (f"{counted(len(imported.replaced), 'label')} of {name} replaced a label (or a "
            f"clear) given in the app: " + "; ".join(imported.replaced[:shown]) + more)


def _stored(row: dict, stored: dict) -> str:
    """``train 7 (spam by bob at 2026-12-07 08:01 UTC)``: the example's stored label or
    clear, who gave it and when."""
    cleared = stored.get("cleared")
    who = stored["annotator"] or (None if cleared else "someone without a name")
    return (f"{row['split']} {row['example_id']} ("
            + ("cleared" if cleared else stored["label_name"])
            + (f" by {who}" if who else "") + f" at {when(stored)})")


def _merge(row: dict, stored: dict | None, importer: str | None, left: dict) -> dict | None:
    """The row to write over ``stored`` (the example's record now, read in the write's
    transaction), or None to leave it (counted in ``left``)."""
    seen = row.pop("seen")  # the row's updated_at in the file (sheet_times): a download's
    if stored is None:
        return row
    if _names(stored["label_name"]) == _names(row["label_name"]) and stored["text_sha"] in (
            None, text_digest(row["text"])):
        left["unchanged"] += 1
        return None
    if seen is not None:  # else a file made by hand: replaces the label
        millis, unit = seen
        then = _millis(stored["updated_at"]) // unit * unit  # to the file's precision
        if then > millis:
            left["kept"].append(_stored(row, stored))
            return None
        if then == millis and stored["annotator"] == row["annotator"]:
            row["annotator"] = importer  # edited in the file: not the download's annotator's
    left["replaced"].append(_stored(row, stored))
    return row


def _names(label_name: str | None) -> frozenset:
    """The names a stored ``label_name`` gives: a label set stored before the task's
    labels were reordered ("spam;ham") is the label the import writes as "ham;spam"."""
    return frozenset(n.strip() for n in (label_name or "").split(LABEL_SET_SEPARATOR)
                     if n.strip())


def _zeros_lost(example_id: str, ids) -> str:
    """A hint when ``example_id`` is one of ``ids`` without its leading zeros, as Excel
    saves an id it read as a number ("00042" -> "42")."""
    if example_id.isdigit():
        padded = [i for i in ids if i.isdigit() and i.lstrip("0") == example_id.lstrip("0")]
        if padded:
            return (f" ({padded[0]!r} without its leading zeros, as Excel saves an id it "
                    "read as a number: import the file into Excel with Data > From Text/CSV, "
                    "the example_id column as Text)")
    return ""


def import_labels(store, data, name: str, content: bytes, multi_label: bool = False,
                  annotator: str | None = None, date_order: str | None = None) -> int:
    """Check the file whole, then store its rows (replacing an example's label, except as
    :func:`_merge` says) in one transaction (:meth:`AnnotationStore.set_many`: all or
    none); the number stored, an :class:`Imported`. ``data``: the run (single- or
    multi-label); ``annotator``: recorded for rows without one of their own;
    ``date_order`` ("day_first", "month_first" or None): how to read an ``updated_at``
    column of d/m or m/d dates none of which has a day over 12 (a US Excel re-save:
    month first); a column whose dates show the order is read in it (the other one given
    is an error)."""
    frame, first = read_label_file(name, content)
    splits = file_splits(data)  # test is never changed by a run
    if "test" in data.frames:
        splits["test"] = data.frames["test"]
    texts = {s: dict(zip(df["id"].astype(str), df["text"].astype(str)))
             for s, df in splits.items()}
    rows = check_labels(name, frame, first, texts, data.labels, multi_label, date_order)
    records = []
    for row in rows:
        who = row["annotator"] or annotator
        if multi_label:
            k, label_name = label_set_record(row["indices"], data.labels)
        else:
            k = row["indices"][0]
            label_name = data.labels[k]
        records.append(dict(example_id=row["example_id"], label=k, split=row["split"],
                            label_name=label_name, annotator=who, text=row["text"],
                            seen=row["updated_at"]))
    left = {"unchanged": 0, "kept": [], "replaced": []}
    written = Imported(store.set_many(  # one transaction: all rows or none
        data.config.name, records, merge=lambda r, s: _merge(r, s, annotator, left)))
    written.unchanged, written.kept = left["unchanged"], tuple(left["kept"])
    written.replaced = tuple(left["replaced"])
    return written


def export(store, data, kind: str = "csv") -> bytes:
    """The task's annotations as the Annotate pages download them (``csv`` or ``jsonl``),
    latest first, each with its example's text (so the file reads on its own) and its
    time in UTC; :func:`import_labels` reads either back."""
    table = store.table(data.config.name).drop(columns=["task"])
    splits = file_splits(data)
    if "test" in data.frames:
        splits["test"] = data.frames["test"]
    texts = {s: dict(zip(df["id"].astype(str), df["text"].astype(str)))
             for s, df in splits.items()}
    table["text"] = [texts.get(s, {}).get(str(i)) for s, i in zip(table["split"],
                                                                   table["example_id"])]
    table["updated_at"] = pd.to_datetime(table["updated_at"].map(_millis), unit="ms",
                                         utc=True).map(
        lambda t: t.isoformat(timespec="milliseconds"))
    if kind == "jsonl":
        return table.to_json(orient="records", lines=True, force_ascii=False).encode("utf-8")
    # for Excel: a BOM (else UTF-8 reads as cp1252), no free text run as a formula (ids
    # come from the data, names are typed by anyone in the app); the texts are not read back
    for column in (*READ_BACK, "text"):
        reversible = column in READ_BACK
        table[column] = table[column].map(  # a missing name stays empty, not "nan"
            lambda v: formula_safe(str(v), reversible), na_action="ignore")
    return (BOM + table.to_csv(index=False)).encode("utf-8")
