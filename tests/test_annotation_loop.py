"""Annotations made in the app become dev gold in the next run, and the app keeps
showing each run with exactly the gold that run used. Ids are unique only within a
split, so annotations are keyed by (split, id) and test annotations are never used."""

import json
import sqlite3
import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from conftest import annotate_first_row, cli, default_frames  # noqa: E402

from labeling import pipeline  # noqa: E402
from labeling.gold import AnnotationStore, apply_gold, valid_gold  # noqa: E402
from labeling.review.project import load_run  # noqa: E402


def test_annotations_become_dev_gold_and_the_app_matches_the_run(make_task):
    config_path = make_task(config={"label_model": {"name": "mv", "params": make_task.DELETE}})
    task = pipeline.load_task(config_path)
    train_id, dev_id = task.splits["train"]["id"][0], task.splits["dev"]["id"][0]
    old_dev_label = int(task.splits["dev"]["label"][0])
    store = AnnotationStore(task.config.annotations_path)
    store.set("tiny", train_id, 1, split="train", label_name="spam")
    store.set("tiny", dev_id, 1 - old_dev_label, split="dev",
              label_name=task.config.labels[1 - old_dev_label])
    store.set("tiny", "no-such-id", 0, split="dev", label_name="ham")
    store.set("tiny", task.splits["dev"]["id"][1], 1, split="dev",
              label_name="unsure")  # a label the task no longer has: ignored

    task = pipeline.load_task(config_path)
    metrics = pipeline.run(task, progress=False)
    assert metrics["data"]["dev"]["annotations"] == {
        "dev_overridden": 1, "moved_from_train": 1, "renamed_on_move": 0, "ignored": 1,
        "text_changed": 0, "test_not_used": 0}
    assert train_id not in set(task.splits["train"]["id"])
    dev = task.splits["dev"].set_index("id")["label"]
    assert dev[train_id] == 1 and dev[dev_id] == 1 - old_dev_label
    assert metrics["data"]["dev"]["n"] == len(task.splits["dev"])

    # Annotating after the run changes the next run, not how the app shows this one.
    store.set("tiny", task.splits["train"]["id"][0], 0, split="train", label_name="ham")
    run = load_run(config_path.parent)
    assert list(run.frames["dev"]["id"]) == list(task.splits["dev"]["id"])
    assert list(run.frames["train"]["id"]) == list(task.splits["train"]["id"])


def _row_number_ids(make_task):
    """A task whose ids are row numbers in every split (so ids repeat across splits)."""
    frames = make_task.frames()
    for frame in frames.values():
        frame["id"] = [str(i) for i in range(len(frame))]
    return make_task(train=frames["train"], dev=frames["dev"], test=frames["test"],
                     config={"label_model": {"name": "mv", "params": make_task.DELETE}}), frames


def test_a_test_annotation_never_reaches_dev_or_train(make_task):
    config_path, frames = _row_number_ids(make_task)
    task = pipeline.load_task(config_path)
    dev_before = task.splits["dev"].copy()
    flipped = 1 - int(task.splits["test"]["label"][0])
    store = AnnotationStore(task.config.annotations_path)
    store.set("tiny", "0", flipped, split="test", label_name=task.config.labels[flipped])

    task = pipeline.load_task(config_path)
    pd.testing.assert_frame_equal(task.splits["dev"], dev_before)  # dev row "0" untouched
    assert len(task.splits["train"]) == len(frames["train"])       # nothing left train
    assert task.annotation_report["test_not_used"] == 1
    assert task.annotation_gold == {"train": {}, "dev": {}}


def test_a_moved_train_row_whose_id_dev_has_enters_dev_renamed(make_task):
    config_path, _ = _row_number_ids(make_task)
    store = AnnotationStore(config_path.parent / "annotations.sqlite")
    store.set("tiny", "0", 1, split="train", label_name="spam")
    store.set("tiny", "0", 0, split="dev", label_name="ham")

    task = pipeline.load_task(config_path)
    dev = task.splits["dev"]
    assert dev["id"].is_unique and "train:0" in set(dev["id"])
    assert dev.set_index("id").at["train:0", "label"] == 1
    assert dev.set_index("id").at["0", "label"] == 0
    assert task.annotation_report["renamed_on_move"] == 1
    assert "0" not in set(task.splits["train"]["id"])


def test_store_keys_by_split(tmp_path):
    store = AnnotationStore(tmp_path / "a.sqlite")
    store.set("t", "7", 1, split="dev")
    store.set("t", "7", 0, split="test")
    assert store.get("t", "dev", "7", ["ham", "spam"]) == 1 and store.get("t", "test", "7", ["ham", "spam"]) == 0
    gold, skipped = valid_gold(store, "t", ["ham", "spam"])
    assert gold == {"train": {}, "dev": {"7": 1}} and skipped["test_not_used"] == 1


def test_apply_gold_refuses_test_gold_and_the_old_flat_record(make_task):
    splits = make_task.frames()
    with pytest.raises(ValueError, match="test"):
        apply_gold(splits, {"test": {"te0": 1}})
    with pytest.raises(ValueError, match="labeling apply"):
        apply_gold(splits, {"dv0": 1})


def test_an_old_store_without_split_in_its_key_is_migrated(tmp_path):
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE annotations (task TEXT NOT NULL, example_id TEXT NOT NULL,"
               " split TEXT, label INTEGER NOT NULL, label_name TEXT, annotator TEXT,"
               " updated_at REAL NOT NULL, PRIMARY KEY (task, example_id))")
    db.executemany("INSERT INTO annotations VALUES (?, ?, ?, ?, ?, ?, ?)",
                   [("t", "a", "train", 1, "spam", None, 1.0),
                    ("t", "b", None, 0, "ham", None, 2.0)])
    db.commit()
    db.close()
    store = AnnotationStore(path)
    assert store.get("t", "train", "a", ["ham", "spam"]) == 1
    gold, skipped = valid_gold(store, "t", ["ham", "spam"])
    assert gold["train"] == {"a": 1} and skipped["ignored"] == 1  # unknown split: unused
    store.set("t", "a", 0, split="dev")  # the new key works on the migrated table
    assert store.get("t", "dev", "a", ["ham", "spam"]) == 0 and store.get("t", "train", "a", ["ham", "spam"]) == 1


def test_annotations_follow_their_label_names_when_the_labels_are_reordered(tmp_path):
    """Given as ham/spam, read after the config swapped them to spam/ham: each annotation
    keeps its label (before: the app showed and counted them under the other name by
    index, and the next run ignored them as stale)."""
    store = AnnotationStore(tmp_path / "a.sqlite")
    store.set("t", "a", 1, split="train", label_name="spam")
    store.set("t", "b", 0, split="dev", label_name="ham")
    store.set("t", "c", 0, split="dev", label_name="unsure")  # a label since removed
    store.set("t", "d", 1, split="dev")  # stored without a name: its index
    swapped = ["spam", "ham"]
    assert store.gold_for("t", "train", ["a"], swapped) == {"a": 0}
    assert store.get("t", "dev", "b", swapped) == 1
    assert store.gold_for("t", "dev", ["b", "c", "d"], swapped) == {"b": 1, "d": 1}
    assert store.counts("t", swapped)["count"].tolist() == [1, 2]
    gold, skipped = valid_gold(store, "t", swapped)
    assert gold == {"train": {"a": 0}, "dev": {"b": 1, "d": 1}} and skipped["ignored"] == 1


def test_an_annotation_is_not_applied_to_another_text_under_its_id(make_task):
    """Row-number ids (id_column = ""): a row inserted at the top of train.csv shifted
    every id by one, and the next run moved the annotation of "train-2" to dev with the
    text now at that position (silently wrong gold). Annotations record a digest of their
    text; one whose id now names another text is skipped, counted and reported."""
    frames = {split: df.drop(columns="id") for split, df in default_frames().items()}
    config_path = make_task(**frames, config={
        "label_model": {"name": "mv", "params": make_task.DELETE}, "data": {"id_column": ""}})
    task = pipeline.load_task(config_path)
    train = task.splits["train"]
    labeled = train["text"][2]
    store = AnnotationStore(task.config.annotations_path)
    store.set("tiny", "train-2", 1, split="train", label_name="spam", text=labeled)
    store.set("tiny", "train-9", 0, split="train", label_name="ham")  # no text: unchecked
    assert pipeline.load_task(config_path).annotation_report["moved_from_train"] == 2

    path = config_path.parent / "train.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text(lines[0] + "a new first comment,\n" + "".join(lines[1:]), encoding="utf-8")
    task = pipeline.load_task(config_path)
    report = task.annotation_report
    assert report["text_changed"] == 1 and report["moved_from_train"] == 1
    train = task.splits["train"].set_index("id")["text"]
    assert train["train-3"] == labeled  # its new id; not annotated: stays in train
    assert "train-2" in train.index  # not moved to dev with the label of another text

    console_out = cli("apply", config_path, "--no-progress")
    assert console_out.exit_code == 0, console_out.output
    assert "1 annotation(s) not used: their id now names another text" in console_out.output


def test_the_text_digest_column_is_added_to_an_older_store(tmp_path):
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE annotations (task TEXT NOT NULL, split TEXT NOT NULL,"
               " example_id TEXT NOT NULL, label INTEGER NOT NULL, label_name TEXT,"
               " annotator TEXT, updated_at REAL NOT NULL, PRIMARY KEY (task, split, example_id))")
    db.execute("INSERT INTO annotations VALUES ('t', 'dev', 'a', 1, 'spam', NULL, 1.0)")
    db.commit()
    db.close()
    store = AnnotationStore(path)  # migrated: old rows unchecked, new rows checked
    store.set("t", "b", 0, split="dev", label_name="ham", text="hello")
    dev = pd.DataFrame({"id": ["a", "b"], "text": ["anything", "hello, edited"]})
    gold, skipped = valid_gold(store, "t", ["ham", "spam"], splits={"dev": dev})
    assert gold["dev"] == {"a": 1} and skipped["text_changed"] == 1


def test_annotations_read_by_fit_replace_the_ones_apply_recorded(make_task):
    # before: metrics.json's data.dev.annotations stayed apply's, so an annotation made
    # in the app after apply was used by fit but `report` counted the old ones
    config_path = make_task(config={"label_model": {"name": "mv", "params": make_task.DELETE}})
    assert cli("apply", config_path, "--no-progress").exit_code == 0
    task = pipeline.load_task(config_path)
    annotate_first_row(task, "dev")
    fitted = cli("fit", config_path)
    assert fitted.exit_code == 0, fitted.output
    metrics = json.loads((task.run_dir / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["data"]["dev"]["annotations"]["dev_overridden"] == 1


def test_a_moved_row_is_renamed_to_an_id_dev_does_not_hold_yet():
    # found in review: with a dev row whose id is literally "train:b", train row "b"
    # (annotated, while dev also has a "b") became a second "train:b", and the app then
    # wrote a correction of the genuine dev row onto train row b's annotation
    splits = {"train": pd.DataFrame({"id": ["a", "b", "c"], "text": ["x", "y", "z"]}),
              "dev": pd.DataFrame({"id": ["b", "train:b"], "text": ["p", "q"],
                                   "label": [0, 1]})}
    out, report = apply_gold(splits, {"train": {"b": 1, "c": 0}})
    assert out["dev"]["id"].tolist() == ["b", "train:b", "train:train:b", "c"]
    assert report["renamed_on_move"] == 1 and out["dev"]["id"].is_unique
