"""A team on one store: a download edited in a spreadsheet, imported while others annotate.

Before: importing the Annotate page's download replaced every example's label with the
file's. Bob relabeled an example after Dana downloaded the file; her import an hour later
put the old label back, still under Bob's name (the file's annotator column) and stamped
now, and said only "3 labels imported". A label Dana changed in the file was recorded as
given by whoever the download named for the label it replaced, and rows the file left as
they were got a new time, so "who labeled what and when" was lost for all of them.
"""

from __future__ import annotations

import csv
import io
import sqlite3

import pytest

from labeling.gold import AnnotationStore
from labeling.review.import_labels import export, import_labels
from labeling.review.project import load_run

T0 = 1796630400.25  # 2026-12-07 08:00:00 UTC


@pytest.fixture
def run(tiny_app_project):
    return load_run(tiny_app_project)


def _store(tmp_path, run) -> tuple[AnnotationStore, list[str]]:
    """Three train rows labeled ham by bob at T0, T0 + 1 s, T0 + 2 s."""
    store = AnnotationStore(tmp_path / "team.sqlite")
    train = run.frames["train"]
    ids = list(train["id"][:3])
    for n, (example_id, text) in enumerate(zip(ids, train["text"][:3])):
        store.set("tiny", example_id, 0, split="train", label_name="ham", annotator="bob",
                  text=text)
        _stamp(store, example_id, T0 + n)
    return store, ids


def _stamp(store: AnnotationStore, example_id: str, when: float) -> None:
    with sqlite3.connect(store.path) as db:
        db.execute("UPDATE annotations SET updated_at = ? WHERE example_id = ?",
                   (when, example_id))


def _relabel(store, run, example_id, name, who, when):
    text = run.frames["train"].set_index("id").at[example_id, "text"]
    store.set("tiny", example_id, run.labels.index(name), split="train", label_name=name,
              annotator=who, text=text)
    _stamp(store, example_id, when)


def _edit(content: bytes, example_id: str, label_name: str) -> bytes:
    """The CSV download with one row's label changed, as a spreadsheet saves it back."""
    rows = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))
    for row in rows:
        if row["example_id"] == example_id:
            row["label_name"] = label_name
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


@pytest.mark.parametrize("kind", ["csv", "jsonl"])
def test_an_old_download_does_not_revert_a_label_given_since(run, tmp_path, kind):
    store, ids = _store(tmp_path, run)
    download = export(store, run, kind)  # Dana, at 08:00
    _relabel(store, run, ids[0], "spam", "bob", T0 + 600)  # Bob, at 08:10
    before = {i: store.record("tiny", "train", i) for i in ids}

    n = import_labels(store, run, f"dana.{kind}", download, annotator="dana")  # 09:00

    assert {i: store.record("tiny", "train", i) for i in ids} == before  # nothing changed
    assert n == 0 and n.unchanged == 2
    assert n.kept == (f"train {ids[0]} (spam by bob at 2026-12-07 08:10 UTC)",)


def test_a_label_edited_in_the_download_is_the_importers(run, tmp_path):
    store, ids = _store(tmp_path, run)
    download = _edit(export(store, run), ids[1], "spam")  # Dana changes bob's ham to spam

    n = import_labels(store, run, "dana.csv", download, annotator="dana")

    record = store.record("tiny", "train", ids[1])
    assert (record["label_name"], record["annotator"]) == ("spam", "dana")  # before: bob
    assert n == 1 and n.unchanged == 2 and n.kept == ()
    assert store.record("tiny", "train", ids[2])["updated_at"] == T0 + 2  # its time kept


def test_a_newer_label_from_another_store_replaces_an_older_one(run, tmp_path):
    """A colleague's download (another machine) whose label is newer than ours: imported,
    under the colleague's name."""
    store, ids = _store(tmp_path, run)
    theirs = AnnotationStore(tmp_path / "laptop.sqlite")
    _relabel(theirs, run, ids[0], "spam", "carol", T0 + 3600)
    n = import_labels(store, run, "carol.csv", export(theirs, run), annotator="dana")
    record = store.record("tiny", "train", ids[0])
    assert n == 1 and (record["label_name"], record["annotator"]) == ("spam", "carol")


def test_a_file_made_by_hand_still_replaces_labels(run, tmp_path):
    """Without updated_at (not a download) a row replaces the stored label, as before."""
    store, ids = _store(tmp_path, run)
    body = f"example_id,split,label_name\n{ids[0]},train,spam\n{ids[1]},train,ham\n"
    n = import_labels(store, run, "mine.csv", body.encode(), annotator="dana")
    record = store.record("tiny", "train", ids[0])
    assert (record["label_name"], record["annotator"]) == ("spam", "dana")
    assert n == 1 and n.unchanged == 1


def test_minutes_only_times_from_a_spreadsheet(run, tmp_path):
    """A spreadsheet that kept the time without its seconds: a label given in the same
    minute is not taken for a newer one; one given a minute later is."""
    store, ids = _store(tmp_path, run)
    body = (f"example_id,split,label_name,annotator,updated_at\n"
            f"{ids[1]},train,spam,bob,2026-12-07 08:00\n"
            f"{ids[2]},train,spam,bob,2026-12-07 07:59\n")
    n = import_labels(store, run, "sheet.csv", body.encode(), annotator="dana")
    assert store.record("tiny", "train", ids[1])["label_name"] == "spam"
    assert store.record("tiny", "train", ids[2])["label_name"] == "ham"
    assert n == 1 and len(n.kept) == 1 and ids[2] in n.kept[0]
