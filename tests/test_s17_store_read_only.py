"""A store this user cannot write is still read: a run in a read-only checkout reads its gold.

Before: reading a store written by older code (no ``text_sha`` column) that could not be
brought up to date failed with "SQLite error (no such column: text_sha)" (the reads ask
for it); and any store in WAL mode -- every store this code writes -- in a folder the user
cannot write failed with "read-only: ..." on its first read, since SQLite creates the -shm
file it reads through. Now an old table is read through a TEMP view with today's columns,
and a WAL store with no -wal file (nothing not yet in the file) is read as it is.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from contextlib import closing
from pathlib import Path

import pytest

from labeling.gold import AnnotationStore, valid_gold
from labeling.gold_io import open_to_read

ROOT = Path(__file__).resolve().parents[1]
# annotations tables as older code wrote them: keyed by split without text digests; and
# before the split was part of the key (only some rows recorded one)
NO_DIGEST = """CREATE TABLE annotations (task TEXT NOT NULL, split TEXT NOT NULL,
    example_id TEXT NOT NULL, label INTEGER NOT NULL, label_name TEXT, annotator TEXT,
    updated_at REAL NOT NULL, PRIMARY KEY (task, split, example_id))"""
UNSPLIT = """CREATE TABLE annotations (task TEXT NOT NULL, example_id TEXT NOT NULL,
    label INTEGER NOT NULL, label_name TEXT, annotator TEXT, updated_at REAL NOT NULL,
    split TEXT, PRIMARY KEY (task, example_id))"""


def _read_only(monkeypatch):
    """Every connection read-only, as for a user who may not write the file."""
    monkeypatch.setattr(AnnotationStore, "_connect", lambda self: sqlite3.connect(
        f"file:{self.path}?mode=ro", uri=True, isolation_level=None))


def _old_read_only_store(path, monkeypatch, schema, *rows) -> AnnotationStore:
    """A store written by older code (``schema``, ``rows``), opened read-only."""
    with closing_db(path) as db:
        db.execute(schema)
        for row in rows:
            db.execute(f"INSERT INTO annotations VALUES ({', '.join('?' * len(row))})", row)
    _read_only(monkeypatch)
    return AnnotationStore(path)


def test_a_read_only_store_without_text_digests(tmp_path, monkeypatch):
    path = tmp_path / "old.sqlite"
    store = _old_read_only_store(path, monkeypatch, NO_DIGEST,
                                 ("t", "dev", "d1", 1, "spam", "bob", 1.0),
                                 ("t", "train", "x1", 0, "ham", None, 2.0))
    assert store.gold_for("t", "dev", ["d1"], ["ham", "spam"]) == {"d1": 1}
    assert valid_gold(store, "t", ["ham", "spam"])[0] == {"train": {"x1": 0}, "dev": {"d1": 1}}
    assert store.record("t", "dev", "d1")["text_sha"] is None
    assert list(store.table("t")["example_id"]) == ["x1", "d1"]
    with sqlite3.connect(path) as db:  # nothing written: still the old table
        assert "text_sha" not in [r[1] for r in db.execute("PRAGMA table_info(annotations)")]


def test_a_read_only_store_not_keyed_by_split(tmp_path, monkeypatch):
    """As the migration reads it: a row without its split is never gold, one with it is."""
    store = _old_read_only_store(tmp_path / "old.sqlite", monkeypatch, UNSPLIT,
                                 ("t", "d1", 1, "spam", "bob", 1.0, "dev"),
                                 ("t", "x1", 0, "ham", "bob", 1.0, None))
    gold, skipped = valid_gold(store, "t", ["ham", "spam"])
    assert gold == {"train": {}, "dev": {"d1": 1}} and skipped["ignored"] == 1


READER = """
import sys
from labeling.gold import AnnotationStore, valid_gold
from labeling.gold_io import open_to_read
print(valid_gold(AnnotationStore(sys.argv[1]), "t", ["ham", "spam"])[0])
"""


def _as_another_user(folder: Path) -> list[str]:
    """The command prefix that runs as a user who cannot write ``folder`` (made read-only)."""
    folder.chmod(0o555)
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("root ignores a read-only folder and setpriv is missing")
    return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


@pytest.mark.parametrize("made_by", ["this code", "older code"])
def test_a_store_in_a_read_only_folder(made_by):
    folder = Path(tempfile.mkdtemp(prefix="labeling-ro-"))  # not under tmp_path: 0700
    try:
        folder.chmod(0o755)
        path = folder / "annotations.sqlite"
        if made_by == "this code":  # WAL mode, -wal and -shm gone when it was closed
            AnnotationStore(path).set("t", "d1", 1, split="dev", label_name="spam")
        else:
            with closing_db(path) as db:
                db.execute(NO_DIGEST)
                db.execute("INSERT INTO annotations VALUES ('t', 'dev', 'd1', 1, 'spam',"
                           " NULL, 1.0)")
        assert sorted(p.name for p in folder.iterdir()) == ["annotations.sqlite"]
        done = subprocess.run(
            [*_as_another_user(folder), sys.executable, "-c", READER, str(path)],
            capture_output=True, text=True, cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1"})
        assert done.returncode == 0, done.stderr.strip().splitlines()[-1:]
        assert done.stdout.strip() == "{'train': {}, 'dev': {'d1': 1}}"
        assert sorted(p.name for p in folder.iterdir()) == ["annotations.sqlite"]
    finally:
        folder.chmod(0o755)
        shutil.rmtree(folder)


def test_a_wal_holding_labels_is_not_skipped(tmp_path):
    """Read as it is only with no -wal file (or an empty one): labels written but not yet
    in the file would be lost, so the read-only error stands."""
    path = tmp_path / "a.sqlite"
    AnnotationStore(path).set("t", "d1", 1, split="dev", label_name="spam")
    error = sqlite3.OperationalError("attempt to write a readonly database")
    error.sqlite_errorcode = sqlite3.SQLITE_READONLY_DIRECTORY  # as SQLite says it there
    wal = Path(f"{path}-wal")
    wal.write_bytes(b"\0" * 64)  # as a writer that has not checkpointed leaves it
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        open_to_read(lambda: _Refusing(error), path)
    wal.write_bytes(b"")
    with closing(open_to_read(lambda: _Refusing(error), path)) as db:
        assert db.execute("SELECT example_id FROM annotations").fetchall() == [("d1",)]


class _Refusing:
    """A connection whose every statement fails with ``error`` (SQLite in a read-only folder)."""

    def __init__(self, error):
        self.error = error

    def execute(self, *args):
        raise self.error

    def close(self):
        pass


def closing_db(path):
    return closing(sqlite3.connect(path, isolation_level=None))
