"""Hand labels made elsewhere, imported on the Annotate page (labeling.review.import_labels).

Before: the page downloaded annotations as CSV, but nothing read such a file back; labels
from a spreadsheet or another machine had to be clicked in again one by one.
"""

from __future__ import annotations

import json

import pytest

from labeling import pipeline
from labeling.errors import DataError
from labeling.gold import AnnotationStore
from labeling.review.import_labels import export, import_labels
from labeling.review.project import load_run


@pytest.fixture
def run(tiny_app_project):
    return load_run(tiny_app_project)


def test_the_download_imports_back_and_the_next_run_uses_it(tiny_app_project, run, tmp_path):
    store = AnnotationStore(tmp_path / "exported.sqlite")
    train, dev = run.frames["train"], run.frames["dev"]
    store.set("tiny", train["id"][0], 1, split="train", label_name="spam", annotator="ann")
    store.set("tiny", dev["id"][1], 0, split="dev", label_name="ham", annotator="ann")
    store.set("tiny", "te0", 1, split="test", label_name="spam")
    exported = export(store, run)  # as the Annotate page downloads it

    target = AnnotationStore(tiny_app_project.parent / "annotations.sqlite")
    assert import_labels(target, run, "tiny-annotations.csv", exported, annotator="bob") == 3
    rows = target.table("tiny").set_index("example_id")
    assert rows.loc[train["id"][0], ["split", "label_name", "annotator"]].tolist() == [
        "train", "spam", "ann"]
    assert rows.loc["te0", "annotator"] == "bob"  # a row without a name: the importer's
    task = pipeline.load_task(tiny_app_project)
    report = task.annotation_report
    assert (report["moved_from_train"], report["test_not_used"], report["text_changed"]) == (
        1, 1, 0)  # text digests recorded: checked, and they match


def test_jsonl_label_sets_import_into_a_label_set_task(run, tmp_path):
    store = AnnotationStore(tmp_path / "a.sqlite")
    line = {"example_id": run.frames["dev"]["id"][0], "split": "dev", "label_name": "spam;ham"}
    content = (json.dumps(line) + "\n").encode()
    assert import_labels(store, run, "sets.jsonl", content, multi_label=True) == 1
    assert store.label_sets_for("tiny", "dev", [line["example_id"]], run.labels) == {
        line["example_id"]: (0, 1)}


@pytest.mark.parametrize("body, message", [
    ("example_id,split,label_name\ntr0,train,ham\nnope,train,ham\n",
     "labels.csv row 3, column example_id: train has no example 'nope'"),
    ("example_id,split,label_name\ntr0,valid,ham\n",
     "labels.csv row 2, column split: 'valid' is not a split of the task"),
    ("example_id,split,label_name\ntr0,train,junk\n",
     "labels.csv row 2, column label_name: 'junk' is not one of the task's labels (ham, spam)"),
    ("example_id,split,label_name\ntr0,train,ham;spam\n",
     "labels.csv row 2, column label_name: 'ham;spam' is not one of the task's labels"),
    ("example_id,split,label_name\ntr0,train,ham\ntr0,train,spam\n",
     "labels.csv row 3: train example 'tr0' is labeled on row 2 too"),
    ("id,label\ntr0,ham\n", "labels.csv: no column example_id, split, label_name"),
])
def test_a_bad_row_is_one_line_naming_it_and_nothing_is_stored(run, tmp_path, body, message):
    store = AnnotationStore(tmp_path / "a.sqlite")
    with pytest.raises(DataError) as error:
        import_labels(store, run, "labels.csv", body.encode())
    assert message in str(error.value) and "\n" not in str(error.value)
    assert store.table("tiny").empty  # all or nothing


def test_a_file_of_another_kind_is_named(run, tmp_path):
    store = AnnotationStore(tmp_path / "a.sqlite")
    with pytest.raises(DataError, match=r"labels\.xlsx: hand labels are read from \.csv or "):
        import_labels(store, run, "labels.xlsx", b"PK\x03\x04")
    with pytest.raises(DataError, match=r"labels\.jsonl: cannot be read as jsonl"):
        import_labels(store, run, "labels.jsonl", b"{not json\n")


def test_the_download_has_each_example_text_and_jsonl_reads_back(run, tmp_path):
    """Before: only CSV, with ids but no texts: a file given to a colleague or a
    spreadsheet could not be read without the data files next to it."""
    from labeling.review.import_labels import export

    store = AnnotationStore(tmp_path / "a.sqlite")
    dev = run.frames["dev"]
    store.set("tiny", dev["id"][0], 1, split="dev", label_name="spam", annotator="ann")
    store.set("tiny", "te1", 0, split="test", label_name="ham", annotator="ann")
    rows = [json.loads(line) for line in export(store, run, "jsonl").decode().splitlines()]
    texts = {r["example_id"]: r["text"] for r in rows}
    test_text = run.frames["test"].set_index("id").at["te1", "text"]
    assert texts == {dev["id"][0]: dev["text"][0], "te1": test_text}
    assert all(r["updated_at"].endswith("+00:00") for r in rows)
    csv = export(store, run, "csv").decode()
    assert csv.splitlines()[0].split(",")[-1] == "text" and dev["text"][0] in csv

    again = AnnotationStore(tmp_path / "b.sqlite")
    assert import_labels(again, run, "a.jsonl", export(store, run, "jsonl")) == 2
    columns = ["example_id", "split", "label_name", "annotator"]
    assert sorted(again.table("tiny")[columns].values.tolist()) == sorted(
        store.table("tiny")[columns].values.tolist())
