"""Two processes opening a store of older code at once (the app and `labeling run` after
an upgrade) both find it not keyed by split; one migrates it while the other waits for
the write lock.

Before: the one that waited migrated the migrated table again, from what it had read
before the lock: copied without its ``text_sha`` column, every annotation written in
between lost the digest of its text (the check on data files edited since). Now the
table is looked at again once the lock is held. Likewise for the ``text_sha`` column: the
second to add it failed ("duplicate column name"), so that process could not open the
store at all.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing

from labeling.gold import AnnotationStore
from labeling.gold_io import add_text_digest_column, migrate_unsplit_table

UNSPLIT = """CREATE TABLE annotations (task TEXT NOT NULL, example_id TEXT NOT NULL,
    label INTEGER NOT NULL, label_name TEXT, annotator TEXT, updated_at REAL NOT NULL,
    split TEXT, PRIMARY KEY (task, example_id))"""
NO_DIGEST = """CREATE TABLE annotations (task TEXT NOT NULL, split TEXT NOT NULL,
    example_id TEXT NOT NULL, label INTEGER NOT NULL, label_name TEXT, annotator TEXT,
    updated_at REAL NOT NULL, PRIMARY KEY (task, split, example_id))"""


class _ReadBeforeTheLock:
    """A connection that, until it holds the write lock, sees the table as it was before
    the other process migrated it (what this process read then)."""

    def __init__(self, db, schema=UNSPLIT):
        self.db, self.locked = db, False
        with closing(sqlite3.connect(":memory:")) as old:
            old.execute(schema)
            self.stale = old.execute("PRAGMA table_info(annotations)").fetchall()

    def execute(self, sql, *args):
        if sql.startswith("BEGIN"):
            self.locked = True
        if sql.startswith("PRAGMA table_info") and not self.locked:
            return iter(self.stale)
        return self.db.execute(sql, *args)


def test_a_store_migrated_meanwhile_is_not_migrated_again(tmp_path):
    store = AnnotationStore(tmp_path / "a.sqlite")  # migrated by the other process
    store.set("t", "x1", 1, split="train", label_name="spam", text="a text")
    digest = store.record("t", "train", "x1")["text_sha"]
    assert digest is not None
    with closing(sqlite3.connect(store.path, isolation_level=None)) as db:
        migrate_unsplit_table(_ReadBeforeTheLock(db))
    assert store.record("t", "train", "x1")["text_sha"] == digest
    assert store.gold_for("t", "train", ["x1"], ["ham", "spam"], {"x1": "another"}) == {}


def test_a_text_digest_column_added_meanwhile_is_not_added_again(tmp_path):
    """Before: "SQLite error (duplicate column name: text_sha)": the store did not open."""
    store = AnnotationStore(tmp_path / "a.sqlite")  # brought up to date by the other
    with closing(sqlite3.connect(store.path, isolation_level=None)) as db:
        add_text_digest_column(_ReadBeforeTheLock(db, schema=NO_DIGEST))
    store.set("t", "x1", 1, split="train", label_name="spam", text="a text")
    assert store.record("t", "train", "x1")["text_sha"] is not None
