"""Batch prediction with an exported model: texts in, (label, probability) out.

The hot path (``write_batches``) predicts a batch at once, on the exact fast TF-IDF path
for the sklearn runtime (labeling.export.fast_tfidf), and formats the batch as one
string: no dict per row unless the output is JSONL.

Line inputs (stdin, .txt files) are streamed (``line_batches``): at most
``STREAM_BATCH`` lines are held at a time, so memory stays flat however long the input,
and a batch is predicted as soon as the input pauses, so a pipe gets its answers while
it is still open.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import os
import select
import sys
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator, TextIO

import numpy as np

from labeling.data import (UTF8_HINT, check_ids, check_texts, columns_note, near_column,
                           read_table)
from labeling.data.spreadsheet import BOM, formula_safe
from labeling.errors import DataError
from labeling.export import ExportedModel
from labeling.export.multilabel_io import multilabel_thresholds

BATCH = 4096  # texts per predict_proba call
STREAM_BATCH = 1024  # lines of a streamed input held at once
CHUNK_BYTES = 1 << 16  # one read of a streamed input
_BOM = b"\xef\xbb\xbf"


def _chunks(stream: BinaryIO) -> Iterator[tuple[bytes, bool]]:
    """(bytes, paused) reads of ``stream`` until EOF; ``paused``: nothing more can be read
    right now. A file descriptor is read directly (a buffered read would wait for a full
    buffer, and its buffer would hide from ``select`` what is already there)."""
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):  # io.BytesIO, a test runner's stdin
        fd = None
    while True:
        if fd is None:
            data, paused = stream.read(CHUNK_BYTES), False
        else:
            data = os.read(fd, CHUNK_BYTES)
            paused = not select.select([fd], [], [], 0)[0]
        if not data:
            return
        yield data, paused


class _LineDecoder:
    """UTF-8 bytes in any cuts -> the non-blank lines they complete, as ``str.splitlines``
    of the whole input would give them; errors name the byte and line in the whole input."""

    def __init__(self, source):
        self.source, self.pending, self.offset, self.line, self.first = source, b"", 0, 1, True
        self.error = None  # a line that is not UTF-8: raised once the lines before it are out

    def feed(self, data: bytes, final: bool = False) -> list[str]:
        if self.error is not None:
            raise self.error
        self.pending += data
        if self.first and (len(self.pending) >= len(_BOM) or final):
            if self.pending.startswith(_BOM):
                self.pending, self.offset = self.pending[len(_BOM):], len(_BOM)
            self.first = False
        elif self.first:
            return []  # not enough bytes yet to tell a BOM
        # "\n" never occurs inside a multi-byte UTF-8 character: up to it is whole text
        end = len(self.pending) if final else self.pending.rfind(b"\n") + 1
        if end <= 0:
            return []
        done, self.pending = self.pending[:end], self.pending[end:]
        try:
            text = done.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = self.line + done.count(b"\n", 0, exc.start)
            self.error = DataError(f"{self.source}: not valid UTF-8 (byte "
                                   f"{self.offset + exc.start}, line {line}); {UTF8_HINT}")
            # the whole lines before the bad one are good: they are answered first
            text = done[:done.rfind(b"\n", 0, exc.start) + 1].decode("utf-8")
        self.offset += end
        self.line += done.count(b"\n")
        return [line for line in text.splitlines() if line.strip()]


def line_batches(stream: BinaryIO, source, size: int | None = None) -> Iterator[list[str]]:
    """The non-blank lines of a binary ``stream`` in batches of at most ``size``
    (``STREAM_BATCH``), each yielded when full or when the input pauses."""
    size = size or STREAM_BATCH
    decoder, batch = _LineDecoder(source), []
    for data, paused in _chunks(stream):
        batch += decoder.feed(data)
        if decoder.error is not None:  # the lines before a non-UTF-8 one, then the error
            yield from (batch[start:start + size] for start in range(0, len(batch), size))
            raise decoder.error
        while len(batch) >= size:
            yield batch[:size]
            batch = batch[size:]
        if paused and batch:
            yield batch
            batch = []
    batch += decoder.feed(b"", final=True)
    for start in range(0, len(batch), size):
        yield batch[start:start + size]
    if decoder.error is not None:
        raise decoder.error


class TextBatch(list):
    """Texts with the input's ids (``ids``: one per text), so the output carries them."""

    def __init__(self, texts, ids):
        super().__init__(texts)
        self.ids = ids


def text_batches(source: str, text_column: str = "text", id_column: str | None = "id",
                 encoding: str = "utf-8", id_required: bool = False,
                 trained_on: str | None = None, trained_ids: str | None = None
                 ) -> Iterator[list[str]]:
    """Texts from a CSV/TSV/JSONL/Parquet file (its ``text_column``, else ``trained_on``,
    the model's task's text column, when the file has that one and not the other; read
    whole, in ``encoding``; a :class:`TextBatch` with the ``id_column`` values when the table has
    that column, an error naming the columns when it has not and ``id_required``: a
    --id-column asked for; not asked for, ``trained_ids``, the model's task's id column,
    when the table has it), a .txt file (one text per line) or ``-`` (stdin, one text
    per line), in batches; the line inputs are UTF-8 and streamed (``line_batches``)."""
    line_input = source == "-" or Path(source).suffix.lower() in (".txt", "")
    if line_input and codecs.lookup(encoding).name != "utf-8":
        raise DataError(f"{source}: --encoding {encoding} applies to CSV/TSV/JSONL inputs; "
                        "lines from stdin or a .txt file are read as UTF-8")
    if line_input and id_required and id_column:  # asked for ids the output would not have
        raise DataError(f"{'stdin' if source == '-' else source}: --id-column {id_column} "
                        "applies to CSV/TSV/JSONL/Parquet inputs; lines from stdin or a .txt "
                        "file have no ids")
    if source == "-":
        yield from line_batches(sys.stdin.buffer, "stdin")
        return
    path = Path(source)
    if line_input:
        if not path.is_file():
            raise DataError(f"{path}: input file not found")
        with open(path, "rb") as stream:
            yield from line_batches(stream, path)
        return
    table = read_table(path, encoding, 'pass --encoding (e.g. "latin-1") or re-save it as '
                                       "UTF-8")
    if len(table.columns) == 0:  # a 0-byte file: no rows, as a header-only one or an
        return  # empty .txt (the caller notes a file with no texts)
    if text_column not in table.columns and trained_on in table.columns:
        text_column = trained_on  # the test file of the task the model was trained on
    if text_column not in table.columns:
        also = (f" (nor '{trained_on}', the text column of the model's task)"
                if trained_on and trained_on != text_column else "")
        raise DataError(f"{path}: no text column '{text_column}'{also} "
                        f"{columns_note(table.columns, text_column)}; pass --text-column")
    if id_column and id_required and id_column not in table.columns:
        raise DataError(f"{path}: no id column '{id_column}' "
                        f"{columns_note(table.columns, id_column)}; pass --id-column, or "
                        '--id-column "" for none')
    if not id_required and trained_ids and trained_ids in table.columns:  # none asked for
        id_column = trained_ids  # the id column of the model's task, in its test file
    if id_column and not id_required and id_column not in table.columns:
        id_column = near_column(id_column, table.columns)  # the default `id` as "ID"
    check_texts(table[text_column], path, text_column)  # a number is not a text ("5.0")
    texts = table[text_column].fillna("").astype(str).tolist()
    if id_column and id_column in table.columns:
        check_ids(table[id_column], path, id_column)
        yield TextBatch(texts, table[id_column].astype(str).tolist())
    else:
        yield texts


def read_texts(source: str, text_column: str = "text") -> list[str]:
    """All the texts of ``source`` (see ``text_batches``) as one list."""
    return [text for batch in text_batches(source, text_column) for text in batch]


def _row(text: str, labels: list[str], rounded: list[float], k: int, p: float,
         id_=None) -> dict:
    row = {} if id_ is None else {"id": id_}
    return row | {"text": text, "label": labels[k], "probability": p,
                  "probabilities": dict(zip(labels, rounded))}


# every control character (a tab, the line breaks: "\r" alone ends a line for Python's
# and spreadsheets' readers; an escape, which a terminal would run: the texts come from
# anywhere) and the other characters str.splitlines breaks at: one line per input text
_CONTROLS = [chr(c) for c in (*range(0x20), *range(0x7f, 0xa0))]
_ONE_LINE = str.maketrans(dict.fromkeys([*_CONTROLS, "\u2028", "\u2029"], " "))


def _one_line(text: str) -> str:
    return text.translate(_ONE_LINE)


# json.dumps escapes the C0 controls but leaves DEL, the C1 controls (U+0085, a line break,
# U+009B, a terminal's escape) and U+2028/9 raw with ensure_ascii=False; str.splitlines
# (and so many JSONL readers) would split a record at the breaks
_JSON_BREAKS = str.maketrans({c: f"\\u{ord(c):04x}" for c in
                              [*_CONTROLS[0x20:], "\u2028", "\u2029"]})


def _json_line(record: dict) -> str:
    """One JSONL record: UTF-8 text as is, but no character any reader breaks a line at."""
    return json.dumps(record, ensure_ascii=False).translate(_JSON_BREAKS)


def _cell(value: str) -> str:
    """A CSV cell a spreadsheet shows as written: one line, never a formula."""
    return formula_safe(_one_line(value))


def _csv_rows(rows: list[list[str]]) -> str:
    """RFC 4180 rows, CRLF as spreadsheets write them."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


def csv_header(labels: list[str], ids: bool, multi_label: bool = False) -> str:
    """The csv output's first line, after a UTF-8 byte-order mark (without it, Excel
    reads a CSV in the machine's code page: "café" as "cafÃ©")."""
    names = ["labels"] if multi_label else ["label", "probability"]
    header = ["id"] * ids + names + [f"p_{label}" for label in labels] + ["text"]
    return BOM + _csv_rows([[_cell(name) for name in header]])


def _csv_batch(texts: list[str], proba: np.ndarray, labels: list[str],
               ids: list[str] | None, chosen: np.ndarray | None = None) -> str:
    """csv rows: the id, the top label and its probability (a multi-label model: the
    ``chosen`` labels joined by ";"), every label's probability (6 decimals) and the
    text, each a :func:`_cell`."""
    rows = []
    for k, (text, row) in enumerate(zip(texts, proba.tolist())):
        if chosen is None:
            best = int(np.argmax(row))
            names = [labels[best], f"{row[best]:.6f}"]
        else:
            names = [";".join(labels[c] for c in np.flatnonzero(chosen[k]))]
        rows.append([_cell(v) for v in ([] if ids is None else [ids[k]]) + names]
                    + [f"{p:.6f}" for p in row] + [_cell(text)])
    return _csv_rows(rows)


def format_batch(texts: list[str], proba: np.ndarray, labels: list[str], fmt: str,
                 ids: list[str] | None = None) -> str:
    """The output lines of a batch, each ending in a newline: ``label<TAB>probability<TAB>text``
    (tsv; tabs and line breaks, a lone "\\r" too, in a text or id become spaces) or one
    JSON object per line (jsonl: text, label, its probability and every label's, all
    rounded to 6 decimals), or csv rows (:func:`_csv_batch`; :func:`csv_header` is the
    first line). With ``ids`` (the input's id column), each line starts with its id
    (jsonl: an ``id`` key)."""
    if not texts:
        return ""
    if fmt == "csv":
        return _csv_batch(texts, proba, labels, ids)
    best = proba.argmax(axis=1)
    if fmt == "jsonl":  # probability rounded as probabilities: it is one of them
        rounded = np.round(proba, 6)
        lines = [_json_line(_row(t, labels, r, k, r[k], i))
                 for t, r, k, i in zip(texts, rounded.tolist(), best.tolist(),
                                       ids or [None] * len(texts))]
    else:
        names = [labels[k] for k in best.tolist()]
        top = proba[np.arange(len(texts)), best].tolist()
        lines = [f"{name}\t{p:.4f}\t{_one_line(t)}" for name, p, t in zip(names, top, texts)]
        if ids is not None:
            lines = [f"{_one_line(i)}\t{line}" for i, line in zip(ids, lines)]
    return "\n".join(lines) + "\n"


def format_label_sets(texts: list[str], proba: np.ndarray, labels: list[str],
                      thresholds: np.ndarray, fmt: str, ids: list[str] | None = None) -> str:
    """A multi-label model's lines: each text's label set, every label whose probability
    reaches its threshold (possibly none). tsv: ``labels<TAB>probabilities<TAB>text``, the
    labels joined by ``;`` and their probabilities likewise (both empty for an empty set);
    jsonl: text, ``labels`` (a list) and every label's probability. ``ids`` as in
    :func:`format_batch`."""
    if not texts:
        return ""
    chosen = proba >= thresholds
    if fmt == "csv":
        return _csv_batch(texts, proba, labels, ids, chosen)
    ids = ids or [None] * len(texts)
    if fmt == "jsonl":
        return "".join(_json_line(({} if i is None else {"id": i}) | {
            "text": t, "labels": [labels[c] for c in np.flatnonzero(row)],
            "probabilities": dict(zip(labels, p))}) + "\n"
            for t, row, p, i in zip(texts, chosen, np.round(proba, 6).tolist(), ids))
    lines = []
    for t, row, p, i in zip(texts, chosen, proba, ids):
        on = np.flatnonzero(row)
        line = (";".join(labels[c] for c in on) + "\t" + ";".join(f"{p[c]:.4f}" for c in on)
                + "\t" + _one_line(t))
        lines.append(line if i is None else f"{_one_line(i)}\t{line}")
    return "\n".join(lines) + "\n"


def write_batches(exported: ExportedModel, batches: Iterable[list[str]], out: TextIO,
                  fmt: str = "tsv") -> int:
    """Predict each batch (in slices of ``BATCH``) and write one line per text to ``out``,
    flushed after each batch so a reader sees it at once; returns the number of texts.
    A multi-label model (its card's ``multi_label``) prints label sets."""
    written = 0
    thresholds = multilabel_thresholds(exported)
    for texts in batches:
        ids = getattr(texts, "ids", None)
        if fmt == "csv" and not written and texts:
            _write(out, csv_header(exported.labels, ids is not None, thresholds is not None))
        for start in range(0, len(texts), BATCH):
            batch = texts[start:start + BATCH]
            batch_ids = None if ids is None else ids[start:start + BATCH]
            proba = exported.predict_proba(batch)
            _write(out, format_batch(batch, proba, exported.labels, fmt, batch_ids)
                   if thresholds is None else
                   format_label_sets(batch, proba, exported.labels, thresholds, fmt,
                                     batch_ids))
        _write(out, None)
        written += len(texts)
    return written


def _write(out: TextIO, text: str | None) -> None:
    """``out.write(text)`` (None: ``out.flush()``); a failed write (a full disk, a quota)
    is a one-line error, not a traceback. A reader that went away (``| head``) is left
    to the caller, as before."""
    try:
        out.write(text) if text is not None else out.flush()
    except BrokenPipeError:
        raise
    except OSError as exc:
        where = getattr(out, "name", None) or "the output"
        raise DataError(f"cannot write the predictions to {where}: {exc.strerror or exc}; "
                        "the output is incomplete") from None


def write_predictions(exported: ExportedModel, texts: list[str], out: TextIO,
                      fmt: str = "tsv") -> int:
    """Predict ``texts`` batch by batch and write one line per text to ``out``."""
    return write_batches(exported, [texts], out, fmt)
