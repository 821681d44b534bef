"""An import of hand labels is one transaction (labeling.review.import_labels).

Before: each row was its own ``store.set`` (a connection and a commit per row): an
error or a killed process part-way left the rows before it stored (a partial import),
and 5000 rows took 12 s.
"""

from __future__ import annotations

import sqlite3

import pytest

from labeling.gold import AnnotationStore
from labeling.review.import_labels import import_labels
from labeling.review.project import load_run

COLUMNS = ["split", "example_id", "label_name", "annotator"]


@pytest.fixture
def run(tiny_app_project):
    return load_run(tiny_app_project)


def _file(run) -> bytes:
    train, dev = run.frames["train"], run.frames["dev"]
    lines = ["example_id,split,label_name,annotator"]
    lines += [f"{i},train,{'spam' if n % 2 else 'ham'},ann" for n, i in enumerate(train["id"])]
    lines += [f"{i},dev,ham," for i in dev["id"]]
    return ("\n".join(lines) + "\n").encode()


def _rows(store):
    return sorted(store.table("tiny")[COLUMNS].values.tolist())


def test_a_database_error_part_way_leaves_the_store_as_it_was(run, tmp_path):
    path = tmp_path / "a.sqlite"
    store = AnnotationStore(path)
    store.set("tiny", run.frames["dev"]["id"][0], 1, split="dev", label_name="spam",
              annotator="kept")
    before = _rows(store)
    third = run.frames["train"]["id"][2]
    with sqlite3.connect(path) as db:  # the third row of the file fails in SQLite itself
        db.execute("CREATE TRIGGER fail BEFORE INSERT ON annotations WHEN NEW.example_id = "
                   f"'{third}' BEGIN SELECT RAISE(ABORT, 'disk says no'); END")
    with pytest.raises(sqlite3.IntegrityError, match="disk says no"):
        import_labels(store, run, "labels.csv", _file(run), annotator="bob")
    assert _rows(store) == before  # before: the first two rows stayed stored


def test_an_error_building_a_row_part_way_writes_none(run, tmp_path, monkeypatch):
    import labeling.gold_io as gold_io

    store = AnnotationStore(tmp_path / "a.sqlite")
    calls, digest = [], gold_io.text_digest

    def failing(text):
        calls.append(text)
        if len(calls) == 3:
            raise KeyboardInterrupt  # a Ctrl-C (or a kill) on the third row
        return digest(text)

    monkeypatch.setattr(gold_io, "text_digest", failing)
    with pytest.raises(KeyboardInterrupt):
        import_labels(store, run, "labels.csv", _file(run))
    assert len(calls) == 3 and store.table("tiny").empty


def test_the_same_rows_as_one_set_per_row(run, tmp_path):
    one_by_one = AnnotationStore(tmp_path / "a.sqlite")
    texts = {s: dict(zip(df["id"], df["text"])) for s, df in run.frames.items()}
    content = _file(run)
    for line in content.decode().splitlines()[1:]:
        example_id, split, name, who = line.split(",")
        one_by_one.set("tiny", example_id, run.labels.index(name), split=split,
                       label_name=name, annotator=who or "bob", text=texts[split][example_id])
    at_once = AnnotationStore(tmp_path / "b.sqlite")
    assert import_labels(at_once, run, "labels.csv", content, annotator="bob") == len(
        content.decode().splitlines()) - 1
    columns = ["split", "example_id", "label_name", "annotator"]
    table = at_once.table("tiny")
    assert _rows(at_once) == _rows(one_by_one)
    with sqlite3.connect(tmp_path / "a.sqlite") as a, sqlite3.connect(tmp_path / "b.sqlite") as b:
        query = "SELECT split, example_id, label, label_name, annotator, text_sha FROM " \
                "annotations ORDER BY split, example_id"
        assert a.execute(query).fetchall() == b.execute(query).fetchall()
    assert table[columns].notna().all().all()


def test_set_many_writes_all_or_none(tmp_path):
    store = AnnotationStore(tmp_path / "a.sqlite")
    rows = [dict(example_id=str(i), label=0, split="train", label_name="ham") for i in range(3)]
    assert store.set_many("t", rows) == 3
    with pytest.raises(TypeError):
        store.set_many("t", [dict(example_id="9", label=1, split="dev"), dict(label=1)])
    assert sorted(store.table("t")["example_id"]) == ["0", "1", "2"]
