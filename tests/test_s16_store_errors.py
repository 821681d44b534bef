"""A store SQLite cannot use for another reason than a lock: its own one line.

Before: every write error but a lock was "cannot be written (<sqlite's words>); nothing
was saved, try again" (a read-only store, a full disk: trying again changes nothing), and
a damaged file, or one that is not a database, was a traceback (``sqlite3.DatabaseError``,
not caught) when opened, read or written -- in the app and in `labeling run`. Only a lock
held past the busy timeout is "busy" (tests/test_h112_store_busy.py).
"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from conftest import cli, one_error_line  # noqa: E402
from labeling.gold import AnnotationStore, AnnotationStoreError  # noqa: E402


def _one_line(error, path, start: str) -> str:
    message = str(error.value)
    assert message.startswith(f"{path}: {start}"), message
    assert "\n" not in message and "busy" not in message
    return message


def test_a_read_only_store(tmp_path, monkeypatch):
    store = AnnotationStore(tmp_path / "a.sqlite")
    store.set("t", "x1", 1, split="train", label_name="spam")
    monkeypatch.setattr(AnnotationStore, "_connect", lambda self: sqlite3.connect(
        f"file:{self.path}?mode=ro", uri=True, isolation_level=None))
    with pytest.raises(AnnotationStoreError) as error:
        store.set("t", "x2", 0, split="train", label_name="ham")
    message = _one_line(error, store.path, "read-only")
    assert message.endswith("nothing was saved")  # not "try again": it would fail again
    assert AnnotationStore(store.path).gold_for("t", "train", ["x1"], ["ham", "spam"]) == {
        "x1": 1}  # still read


def test_a_full_disk(tmp_path, monkeypatch):
    store = AnnotationStore(tmp_path / "a.sqlite")
    connect = AnnotationStore._connect

    def full(self):  # the file may not grow: as on a full disk
        db = connect(self)
        db.execute(f"PRAGMA max_page_count = {db.execute('PRAGMA page_count').fetchone()[0]}")
        return db

    monkeypatch.setattr(AnnotationStore, "_connect", full)
    rows = [dict(example_id=f"x{i}", label=0, split="train", label_name="ham" * 100)
            for i in range(200)]
    with pytest.raises(AnnotationStoreError) as error:
        store.set_many("t", rows)
    assert _one_line(error, store.path, "the disk is full").endswith(
        "nothing was saved, try again")
    monkeypatch.setattr(AnnotationStore, "_connect", connect)
    assert store.table("t").empty  # all or nothing


def test_a_file_that_is_not_a_database(tmp_path):
    path = tmp_path / "annotations.sqlite"
    path.write_text("example_id,label\n1,spam\n" * 200)  # a CSV saved under its name
    with pytest.raises(AnnotationStoreError) as error:
        AnnotationStore(path)
    _one_line(error, path, "not an SQLite database")


def test_a_damaged_store_when_read_and_written(tmp_path):
    store = AnnotationStore(tmp_path / "a.sqlite")
    store.set_many("t", [dict(example_id=f"x{i}", label=0, split="train",
                              label_name="ham" * 100) for i in range(200)])
    with sqlite3.connect(store.path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    content = bytearray(store.path.read_bytes())
    page = 4096
    content[page:page * 3] = b"\xff" * (page * 2)  # pages 2 and 3 overwritten
    store.path.write_bytes(bytes(content))
    with pytest.raises(AnnotationStoreError) as error:
        store.table("t")
    _one_line(error, store.path, "damaged")
    with pytest.raises(AnnotationStoreError) as error:
        store.set_many("t", [dict(example_id=f"x{i}", label=1, split="train",
                                  label_name="spam") for i in range(200)])
    assert _one_line(error, store.path, "damaged").endswith("nothing was saved")


def test_a_run_on_a_store_that_is_not_a_database_is_one_error_line(make_task):
    config = make_task()
    path = config.parent / "annotations.sqlite"
    path.write_text("not a database\n" * 200)
    one_error_line(cli("apply", config), str(path), "not an SQLite database")


def test_other_errors_are_raised_as_they_are(tmp_path):
    """An error that is not about the file (a bug) is not dressed as the store's."""
    from labeling.gold_io import store_problem
    assert store_problem(sqlite3.IntegrityError("UNIQUE constraint failed"), 10, True) is None
