"""Two clicks close together on one example: the later one may not replace the other unseen.

Before: the app's save checked whether another annotator had changed the example since
the page showed it (``changed_meanwhile``), then wrote in a separate statement: a write
landing between the check and the write passed the check and was replaced unseen. Now
the store writes only if the row is still the one checked, in one transaction
(``AnnotationStore.set(expect=...)``), and the app reports a refusal when it was not.
Each test is deterministic: the other writer writes right after the check's read.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from labeling.gold import AnnotationStore
from labeling.review.annotator import save_unless_changed

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_app_multilabel import _app, _tick, ml_project, page  # noqa: E402,F401

ENTRY = str(Path(__file__).resolve().parents[1] / "app" / "streamlit_app.py")


def test_a_write_expecting_what_was_read_is_refused_when_another_wrote_since(tmp_path):
    alice, bob = AnnotationStore(tmp_path / "a.sqlite"), AnnotationStore(tmp_path / "a.sqlite")
    seen = bob.record("t", "train", "x1")  # nothing stored yet
    alice.set("t", "x1", 0, split="train", label_name="ham", annotator="alice")
    assert bob.set("t", "x1", 1, split="train", label_name="spam", annotator="bob",
                   expect=seen) is False
    assert alice.record("t", "train", "x1")["annotator"] == "alice"
    seen = bob.record("t", "train", "x1")
    alice.set("t", "x1", 1, split="train", label_name="spam", annotator="alice")
    assert bob.remove("t", "train", "x1", expect=seen) is False  # a clear as well
    assert bob.set_label_set("t", "x1", [0], split="train", labels=["ham", "spam"],
                             expect=seen) is False
    assert bob.record("t", "train", "x1")["label_name"] == "spam"
    now = bob.record("t", "train", "x1")
    assert bob.set("t", "x1", 0, split="train", label_name="ham", annotator="bob", expect=now)
    assert bob.record("t", "train", "x1")["annotator"] == "bob"


def test_the_save_is_refused_naming_who_wrote_between_the_check_and_the_write(tmp_path):
    alice, bob = AnnotationStore(tmp_path / "a.sqlite"), AnnotationStore(tmp_path / "a.sqlite")

    def read_then_alice_writes():
        now = bob.record("t", "train", "x1")
        if not alice.record("t", "train", "x1"):
            alice.set("t", "x1", 0, split="train", label_name="ham", annotator="alice")
        return now

    def write(expect):
        return bob.set("t", "x1", 1, split="train", label_name="spam", annotator="bob",
                       expect=expect)

    note = save_unless_changed("x1", None, read_then_alice_writes, write, "bob")
    assert note is not None and "by alice" in note and "not saved" in note
    assert bob.record("t", "train", "x1")["annotator"] == "alice"
    assert save_unless_changed("x1", bob.record("t", "train", "x1"),
                               lambda: bob.record("t", "train", "x1"), write, "bob") is None
    assert bob.record("t", "train", "x1")["label_name"] == "spam"


def test_the_annotate_page_refuses_a_click_that_lost_the_race(tiny_app_project, tmp_path,
                                                              monkeypatch):
    """The page's button: alice's label lands after bob's click read the store and before
    it wrote. Before: bob's spam replaced alice's ham unseen."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(ENTRY, default_timeout=60)
    at.session_state["unsure_margin"] = 1.01
    at.run()
    at.switch_page("views/annotate.py").run()
    at.selectbox(key="ann_split").select("train").run()
    at.selectbox(key="ann_slice").select("unsure").run()
    at.sidebar.text_input(key="annotator").input("bob").run()
    assert not at.exception and not at.error
    example = at.text_area[0].key.removeprefix("ann_text_")
    path = tmp_path / "annotations.sqlite"
    record, armed = AnnotationStore.record, [True]

    def racing_record(self, task, split, example_id):
        now = record(self, task, split, example_id)
        if armed and str(example_id) == example:  # the click's check has read the store
            armed.clear()
            AnnotationStore(path).set(task, example_id, 0, split=split, label_name="ham",
                                      annotator="alice")
        return now

    monkeypatch.setattr(AnnotationStore, "record", racing_record)
    at.button(key="ann_btn-1").click().run()  # spam
    assert not armed and not at.exception and not at.error
    table = AnnotationStore(path).table("tiny")
    assert table[["example_id", "label_name", "annotator"]].values.tolist() == [
        [example, "ham", "alice"]]
    assert any("by alice" in w.value and "not saved" in w.value for w in at.warning)


@pytest.mark.parametrize("expect", [None, "record"])
def test_an_unchanged_row_is_written(tmp_path, expect):
    store = AnnotationStore(tmp_path / "a.sqlite")
    if expect == "record":
        store.set("t", "x1", 0, split="dev", label_name="ham")
    seen = store.record("t", "dev", "x1")
    assert store.set("t", "x1", 1, split="dev", label_name="spam", expect=seen) is True
    assert store.gold_for("t", "dev", ["x1"], ["ham", "spam"]) == {"x1": 1}


def test_the_label_set_editor_refuses_a_save_that_lost_the_race(ml_project, tmp_path,
                                                                monkeypatch):
    """The multi-label Annotate page's save: alice's set lands between bob's check and
    his write. Before: bob's set replaced hers unseen."""
    path = tmp_path / "annotations.sqlite"
    at = page(_app(ml_project, monkeypatch, path), "ml_annotate")
    at.sidebar.text_input(key="annotator").input("bob").run()
    example_id = at.text_area[0].key.removeprefix("ml_ann_text_")
    split = at.selectbox(key="ml_ann_split").value
    labels = [box.label for box in at.checkbox]
    _tick(at, {labels[0]})
    record, armed = AnnotationStore.record, [True]

    def racing_record(self, task, where, stored_id):
        now = record(self, task, where, stored_id)
        if armed:  # the save's check has read the store
            armed.clear()
            AnnotationStore(path).set_label_set(task, stored_id, [1], split=where,
                                                labels=labels, annotator="alice")
        return now

    monkeypatch.setattr(AnnotationStore, "record", racing_record)
    at.button(key=f"ml_ann-{split}-{example_id}-save").click().run()
    assert not armed and not at.exception and not at.error
    assert any("by alice" in w.value and "not saved" in w.value for w in at.warning)
    table = AnnotationStore(path).table(_task(ml_project))
    assert table[["label_name", "annotator"]].values.tolist() == [[labels[1], "alice"]]


def _task(project) -> str:
    from labeling.config import load_config

    return load_config(project).name
