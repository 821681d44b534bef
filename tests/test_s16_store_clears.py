"""A label cleared in the app, then a file downloaded before the clear imported.

Before: clearing deleted the example's row and kept no trace of it, so importing a download
made before the clear found no stored label to compare with and put the cleared label back
as if it were new (under the download's annotator). Now a clear is recorded (when, by
whom) and an import does not undo a clear newer than the file's row, as it does not
revert a label given since; a store written by older code (no such record) still opens.
"""

from __future__ import annotations

import sqlite3
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_h112_import_team import _relabel  # noqa: E402 (a label given at a time)

from labeling.gold import AnnotationStore  # noqa: E402
from labeling.review.import_labels import export, import_labels  # noqa: E402
from labeling.review.project import load_run  # noqa: E402

# the annotations table as the code before this change wrote it (gold_io.SCHEMA then)
OLD_SCHEMA = """CREATE TABLE annotations (task TEXT NOT NULL, split TEXT NOT NULL,
    example_id TEXT NOT NULL, label INTEGER NOT NULL, label_name TEXT, annotator TEXT,
    updated_at REAL NOT NULL, text_sha TEXT, PRIMARY KEY (task, split, example_id))"""


@pytest.fixture
def run(tiny_app_project):
    return load_run(tiny_app_project)


@pytest.mark.parametrize("kind", ["csv", "jsonl"])
def test_an_older_download_does_not_revive_a_cleared_label(run, tmp_path, kind):
    store = AnnotationStore(tmp_path / "team.sqlite")
    ids = list(run.frames["train"]["id"][:2])
    hour_ago = time.time() - 3600
    for example_id in ids:
        _relabel(store, run, example_id, "spam", "bob", hour_ago)
    download = export(store, run, kind)  # dana, an hour ago
    assert store.remove("tiny", "train", ids[0])  # bob clears it since

    n = import_labels(store, run, f"dana.{kind}", download, annotator="dana")

    assert store.record("tiny", "train", ids[0]) is None  # before: spam by bob, again
    assert n == 0 and n.unchanged == 1
    assert len(n.kept) == 1 and n.kept[0].startswith(f"train {ids[0]} (cleared")


def test_the_clear_names_who_cleared_it(run, tmp_path):
    store = AnnotationStore(tmp_path / "team.sqlite")
    example_id = run.frames["train"]["id"][0]
    _relabel(store, run, example_id, "spam", "bob", time.time() - 3600)
    download = export(store, run)
    store.remove("tiny", "train", example_id, annotator="carol")
    n = import_labels(store, run, "dana.csv", download, annotator="dana")
    assert n == 0 and "cleared by carol at " in n.kept[0]


def test_a_label_newer_than_the_clear_is_imported(run, tmp_path):
    """A colleague's label given after the clear (another store) is a new label."""
    store = AnnotationStore(tmp_path / "team.sqlite")
    example_id = run.frames["train"]["id"][0]
    _relabel(store, run, example_id, "spam", "bob", time.time() - 3600)
    store.remove("tiny", "train", example_id)
    theirs = AnnotationStore(tmp_path / "laptop.sqlite")
    _relabel(theirs, run, example_id, "ham", "carol", time.time() + 60)
    n = import_labels(store, run, "carol.csv", export(theirs, run), annotator="dana")
    record = store.record("tiny", "train", example_id)
    assert n == 1 and (record["label_name"], record["annotator"]) == ("ham", "carol")


def test_a_file_made_by_hand_labels_a_cleared_example(run, tmp_path):
    """Without updated_at nothing says the row is older than the clear: imported."""
    store = AnnotationStore(tmp_path / "team.sqlite")
    example_id = run.frames["train"]["id"][0]
    _relabel(store, run, example_id, "spam", "bob", time.time() - 3600)
    store.remove("tiny", "train", example_id)
    body = f"example_id,split,label_name\n{example_id},train,ham\n"
    assert import_labels(store, run, "mine.csv", body.encode(), annotator="dana") == 1
    assert store.record("tiny", "train", example_id)["label_name"] == "ham"


def test_a_label_given_again_after_the_clear_is_compared_as_a_label(run, tmp_path):
    store = AnnotationStore(tmp_path / "team.sqlite")
    example_id = run.frames["train"]["id"][0]
    _relabel(store, run, example_id, "spam", "bob", time.time() - 3600)
    download = export(store, run)
    store.remove("tiny", "train", example_id)
    _relabel(store, run, example_id, "ham", "bob", time.time() - 60)  # labeled again
    store.remove("tiny", "train", example_id)
    _relabel(store, run, example_id, "spam", "bob", time.time() - 30)
    n = import_labels(store, run, "dana.csv", download, annotator="dana")
    assert n == 0 and n.unchanged == 1 and n.kept == ()


def test_a_store_written_by_older_code_opens_and_records_clears(run, tmp_path):
    path = tmp_path / "old.sqlite"
    example_id = run.frames["train"]["id"][0]
    with sqlite3.connect(path) as db:
        db.execute(OLD_SCHEMA)
        db.execute("INSERT INTO annotations VALUES ('tiny', 'train', ?, 1, 'spam', 'bob', ?,"
                   " NULL)", (example_id, time.time() - 3600))
    store = AnnotationStore(path)
    assert store.gold_for("tiny", "train", [example_id], run.labels) == {example_id: 1}
    download = export(store, run)
    assert store.remove("tiny", "train", example_id)
    n = import_labels(store, run, "dana.csv", download, annotator="dana")
    assert n == 0 and store.record("tiny", "train", example_id) is None


def test_a_read_only_store_of_older_code_is_still_read(run, tmp_path, monkeypatch):
    """Reading never writes the store (a run in a read-only checkout reads its gold)."""
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:
        db.execute(OLD_SCHEMA)
        db.execute("INSERT INTO annotations VALUES ('tiny', 'dev', 'd1', 0, 'ham', NULL, 1.0,"
                   " NULL)")
    monkeypatch.setattr(AnnotationStore, "_connect", lambda self: sqlite3.connect(
        f"file:{self.path}?mode=ro", uri=True, isolation_level=None))
    store = AnnotationStore(path)
    assert store.gold_for("tiny", "dev", ["d1"], run.labels) == {"d1": 0}
