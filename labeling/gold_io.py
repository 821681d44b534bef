"""The annotation store's SQLite layer (:mod:`labeling.gold`): its schema and the
migrations of files written before, the one upsert every write uses (a single
annotation or a whole import, :meth:`AnnotationStore.set_many`), and the text digest an
annotation records."""

from __future__ import annotations

import hashlib
import sqlite3
import time

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
COLUMNS = ["task", "example_id", "split", "label", "label_name", "annotator", "updated_at"]
ANY = object()  # AnnotationStore.set(expect=ANY): write whatever is stored
UPSERT = ("INSERT INTO annotations (task, split, example_id, label, label_name, annotator,"
          " updated_at, text_sha) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (task, split,"
          " example_id) DO UPDATE SET label = excluded.label, label_name = excluded.label_name,"
          " annotator = excluded.annotator, updated_at = excluded.updated_at, text_sha ="
          " excluded.text_sha")


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


def text_digest(text: str) -> str:
    """What an annotation records of its example's text (sha256, 16 hex digits)."""
    return hashlib.sha256(str(text).encode("utf-8")).hexdigest()[:16]


def add_text_digest_column(db: sqlite3.Connection) -> None:
    """Files written before annotations recorded their text: their rows get NULL (not
    checked), new ones the digest."""
    if "text_sha" not in [row[1] for row in db.execute("PRAGMA table_info(annotations)")]:
        db.execute("ALTER TABLE annotations ADD COLUMN text_sha TEXT")


def migrate_unsplit_table(db: sqlite3.Connection) -> None:
    """Files written before annotations were keyed by split: rows that recorded their
    split keep it; rows that did not get split '' and are never used as gold (which
    split they meant cannot be known)."""
    columns = [row[1] for row in db.execute("PRAGMA table_info(annotations)")]
    keyed = [row[1] for row in db.execute("PRAGMA table_info(annotations)") if row[5]]
    if not columns or "split" in keyed:
        return
    db.execute("BEGIN IMMEDIATE")
    db.execute("ALTER TABLE annotations RENAME TO annotations_unsplit")
    db.execute(SCHEMA)
    db.execute("INSERT INTO annotations (task, split, example_id, label, label_name, annotator,"
               " updated_at) SELECT task, COALESCE(split, ''), example_id, label, label_name,"
               " annotator, updated_at FROM annotations_unsplit")
    db.execute("DROP TABLE annotations_unsplit")
    db.execute("COMMIT")
