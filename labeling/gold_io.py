"""The annotation store's SQLite layer (:mod:`labeling.gold`): its schema and the
migrations of files written before (or, for a store this user cannot write, a view of it
as it is), the one upsert every write uses (a single annotation or a whole import,
:meth:`AnnotationStore.set_many`), the record of cleared labels, the stored form of a
label (``label``, ``label_name``) and how it is read back, the text digest an annotation
records, and what an SQLite error says about the store's file."""

from __future__ import annotations

import hashlib
import sqlite3
import time
from pathlib import Path

from labeling.data import LABEL_SET_SEPARATOR
from labeling.errors import DataError

SCHEMA = """
CREATE TABLE IF NOT EXISTS annotations (
    task TEXT NOT NULL,
    split TEXT NOT NULL,        -- where the example lives (train, dev, test): ids are per split
    example_id TEXT NOT NULL,
    label INTEGER NOT NULL,     -- class index in the task's labels (multi-label: bit mask)
    label_name TEXT,            -- the label's name when it was given (a check on reorderings;
                                -- multi-label: the set's names joined by ";", what is read)
    annotator TEXT,
    updated_at REAL NOT NULL,   -- unix time of the latest change
    text_sha TEXT,              -- text_digest() of the example's text when it was given:
                                -- a check on data files edited since (row-number ids)
    PRIMARY KEY (task, split, example_id)
)
"""
# Examples whose label was cleared (the latest change: a label given since deletes the
# row), so that an import of a file made before the clear does not put the label back.
# Created by the first write of this version (a store of older code is read as it is).
CLEARED = """
CREATE TABLE IF NOT EXISTS cleared (
    task TEXT NOT NULL,
    split TEXT NOT NULL,
    example_id TEXT NOT NULL,
    annotator TEXT,             -- who cleared it (None: not known)
    cleared_at REAL NOT NULL,   -- unix time of the clear
    PRIMARY KEY (task, split, example_id)
)
"""
UNCLEAR = "DELETE FROM cleared WHERE task = ? AND split = ? AND example_id = ?"
COLUMNS = ["task", "example_id", "split", "label", "label_name", "annotator", "updated_at"]
ALL_COLUMNS = ("task", "split", "example_id", "label", "label_name", "annotator", "updated_at",
               "text_sha")  # SCHEMA's, in its order
ANY = object()  # AnnotationStore.set(expect=ANY): write whatever is stored
UPSERT = ("INSERT INTO annotations (task, split, example_id, label, label_name, annotator,"
          " updated_at, text_sha) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (task, split,"
          " example_id) DO UPDATE SET label = excluded.label, label_name = excluded.label_name,"
          " annotator = excluded.annotator, updated_at = excluded.updated_at, text_sha ="
          " excluded.text_sha")


def label_set_record(indices, labels: list[str]) -> tuple[int, str]:
    """``(label, label_name)`` stored for a multi-label annotation: the bit mask of the
    classes and their names joined by ";" in the task's label order. An empty set is an
    error, as an empty gold cell is in the data files (name a label such as neutral)."""
    chosen = sorted({int(i) for i in indices})
    if not chosen:
        raise DataError("a label set needs at least one label (as in the data files; "
                        "use an explicit label such as neutral for none)")
    if chosen[0] < 0 or chosen[-1] >= len(labels):
        raise DataError(f"label index out of range 0..{len(labels) - 1}: {chosen}")
    return sum(1 << i for i in chosen), LABEL_SET_SEPARATOR.join(labels[i] for i in chosen)


def parse_label_set(name: str | None, labels: list[str]) -> tuple[int, ...] | None:
    """The sorted class indices a stored ``label_name`` names; None when it names no label
    or one the task no longer has (such an annotation is skipped, not guessed)."""
    names = [n.strip() for n in (name or "").split(LABEL_SET_SEPARATOR) if n.strip()]
    if not names or any(n not in labels for n in names):
        return None
    return tuple(sorted({labels.index(n) for n in names}))


def single_label_index(k: int, name: str | None, labels: list[str]) -> int | None:
    """The class index a single-label annotation means for ``labels``: where its recorded
    label name is now (the labels may have been reordered since it was given), or for a
    row stored without a name the index itself; None for a name the task no longer has,
    a label set of several names, or an index out of range."""
    if name is not None:
        return labels.index(name) if name in labels else None
    return int(k) if 0 <= int(k) < len(labels) else None


def upsert_values(task: str, example_id: str, label: int, split: str,
                  label_name: str | None = None, annotator: str | None = None,
                  text: str | None = None) -> tuple:
    """The ``UPSERT`` parameters of one annotation (stamped now)."""
    return (task, split, str(example_id), int(label), label_name, annotator, time.time(),
            text_digest(text) if text is not None else None)


def stored_record(db: sqlite3.Connection, task: str, split: str,
                  example_id: str) -> dict | None:
    """The example's row (label_name, annotator, updated_at, text_sha); None: none."""
    row = db.execute("SELECT label_name, annotator, updated_at, text_sha FROM annotations"
                     " WHERE task = ? AND split = ? AND example_id = ?",
                     (task, split, str(example_id))).fetchone()
    return None if row is None else dict(zip(("label_name", "annotator", "updated_at",
                                              "text_sha"), row))


def record_clear(db: sqlite3.Connection, task: str, split: str, example_id: str,
                 annotator: str | None) -> None:
    """Record that the example's label was cleared now, by ``annotator``."""
    db.execute("INSERT OR REPLACE INTO cleared (task, split, example_id, annotator, cleared_at)"
               " VALUES (?, ?, ?, ?, ?)", (task, split, str(example_id), annotator, time.time()))


def stored_clear(db: sqlite3.Connection, task: str, split: str,
                 example_id: str) -> dict | None:
    """The example's clear as a record (label_name None, who cleared it, ``updated_at``:
    when, ``cleared`` True); None: none recorded."""
    row = db.execute("SELECT annotator, cleared_at FROM cleared WHERE task = ? AND split = ?"
                     " AND example_id = ?", (task, split, str(example_id))).fetchone()
    return None if row is None else {"label_name": None, "annotator": row[0],
                                     "updated_at": row[1], "text_sha": None, "cleared": True}


def store_problem(exc: sqlite3.Error, busy_seconds: float, writing: bool) -> str | None:
    """What an SQLite error says about the store's file, for a one-line message (after
    its path), ending "nothing was saved" for a write; None for one that is not about
    the file (a bug, raised as it is). Only a lock held by another connection is busy."""
    code = getattr(exc, "sqlite_errorcode", None)
    primary = -1 if code is None else code & 0xFF  # an extended code's primary one
    if primary in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) or (
            code is None and "database is locked" in str(exc)):
        why = (f"busy: another program kept it locked for over {busy_seconds:g} s (a long "
               "import, an open sqlite3 shell)")
    elif (why := _file_problem(exc, primary)) is None:
        return None
    again = primary in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_FULL)
    end = ("; nothing was saved" if writing else "") + (
        (", try again" if writing else "; try again") if again else "")
    return why + end


def _file_problem(exc: sqlite3.Error, primary: int) -> str | None:
    said = " ".join(str(exc).split())
    why = {sqlite3.SQLITE_READONLY: "read-only: this user cannot write it, or create its "
                                    "-wal and -shm files in its folder",
           sqlite3.SQLITE_PERM: "not permitted",
           sqlite3.SQLITE_FULL: "the disk is full",
           sqlite3.SQLITE_IOERR: "a disk I/O error",
           sqlite3.SQLITE_CANTOPEN: "cannot be opened: its folder is missing or this user "
                                    "cannot open it",
           sqlite3.SQLITE_CORRUPT: "damaged (not a readable SQLite database): restore it "
                                   "from a backup, or move it away to start an empty store",
           sqlite3.SQLITE_NOTADB: "not an SQLite database (another file under its name?): "
                                  "move it away to start an empty store"}.get(primary)
    if why is not None:
        return f"{why} ({said})"
    return f"SQLite error ({said})" if isinstance(exc, sqlite3.OperationalError) else None


def text_digest(text: str) -> str:
    """What an annotation records of its example's text (sha256, 16 hex digits)."""
    return hashlib.sha256(str(text).encode("utf-8")).hexdigest()[:16]


def prepare(db: sqlite3.Connection) -> None:
    """Make the file a store of this version (WAL, the table, the migrations of files
    written before); a store this user cannot write is read as it is."""
    try:
        db.execute("PRAGMA journal_mode=WAL")
        migrate_unsplit_table(db)
        db.execute(SCHEMA)
        add_text_digest_column(db)
    except sqlite3.OperationalError as exc:
        if exc.sqlite_errorcode & 0xFF != sqlite3.SQLITE_READONLY:
            raise


def open_to_read(connect, path: Path) -> sqlite3.Connection:
    """``connect()``, ready for the reads (:func:`read_as_is`). A store in WAL mode in a
    folder this user cannot write (a read-only checkout) cannot be opened so: SQLite must
    create its -shm file to read it. With no -wal file (nothing written that is not yet
    in the file: the last writer closed it) it is read as it is, unlocked (``immutable``);
    a -wal file holding labels is not skipped (the read-only error stands)."""
    db = connect()
    try:
        read_as_is(db)
        return db
    except sqlite3.OperationalError as exc:
        db.close()
        wal = Path(f"{path}-wal")
        if (getattr(exc, "sqlite_errorcode", 0) & 0xFF not in (sqlite3.SQLITE_READONLY,
                                                               sqlite3.SQLITE_CANTOPEN)
                or wal.is_file() and wal.stat().st_size):
            raise
    db = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro&immutable=1", uri=True,
                         isolation_level=None)
    try:
        read_as_is(db)
    except BaseException:
        db.close()
        raise
    return db


def read_as_is(db: sqlite3.Connection) -> None:
    """Make a store that :func:`prepare` could not bring up to date (this user cannot
    write it) readable without writing it: a TEMP view ``annotations`` (read before the
    file's table) with this version's columns, NULL for a text digest it never recorded,
    split '' where it recorded none (never used as gold, as the migration does)."""
    keyed = {row[1]: row[5] for row in db.execute("PRAGMA main.table_info(annotations)")}
    if not keyed:  # an empty file: no annotations
        db.execute(SCHEMA.replace("CREATE TABLE", "CREATE TEMP TABLE"))
    elif "text_sha" not in keyed or not keyed.get("split"):
        made = {"split": "COALESCE(split, '')" if "split" in keyed else "''"}
        db.execute("CREATE TEMP VIEW annotations AS SELECT " + ", ".join(
            f"{made.get(c, c if c in keyed else 'NULL')} AS {c}" for c in ALL_COLUMNS)
            + " FROM main.annotations")


def add_text_digest_column(db: sqlite3.Connection) -> None:
    """Files written before annotations recorded their text: their rows get NULL (not
    checked), new ones the digest."""
    def missing() -> bool:
        return "text_sha" not in [row[1] for row in db.execute("PRAGMA table_info(annotations)")]

    if missing():
        db.execute("BEGIN IMMEDIATE")
        if missing():  # else added by another process while this one waited for the lock
            db.execute("ALTER TABLE annotations ADD COLUMN text_sha TEXT")
        db.execute("COMMIT")


def _unsplit(db: sqlite3.Connection) -> bool:
    """Whether the annotations table is one of before the split was part of its key."""
    keyed = {row[1]: row[5] for row in db.execute("PRAGMA table_info(annotations)")}
    return bool(keyed) and not keyed.get("split")


def migrate_unsplit_table(db: sqlite3.Connection) -> None:
    """Files written before annotations were keyed by split: rows that recorded their
    split keep it; rows that did not get split '' and are never used as gold (which
    split they meant cannot be known)."""
    if not _unsplit(db):
        return
    db.execute("BEGIN IMMEDIATE")
    if not _unsplit(db):  # another process migrated it while this one waited for the lock
        db.execute("COMMIT")
        return
    db.execute("ALTER TABLE annotations RENAME TO annotations_unsplit")
    db.execute(SCHEMA)
    db.execute("INSERT INTO annotations (task, split, example_id, label, label_name, annotator,"
               " updated_at) SELECT task, COALESCE(split, ''), example_id, label, label_name,"
               " annotator, updated_at FROM annotations_unsplit")
    db.execute("DROP TABLE annotations_unsplit")
    db.execute("COMMIT")
