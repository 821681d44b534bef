"""A team annotating in the app: what the pages show of the annotations in the store.

Each test states what annotators saw before the fix.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pandas as pd
from streamlit.testing.v1 import AppTest

from labeling import pipeline
from labeling.gold import AnnotationStore
from labeling.review import ml_detail
from labeling.review.project import stored_labels

ENTRY = str(Path(__file__).resolve().parents[1] / "app" / "streamlit_app.py")


def _annotate_page(split: str = "train") -> AppTest:
    at = AppTest.from_file(ENTRY, default_timeout=60)
    at.session_state["unsure_margin"] = 1.01  # every example is "unsure": the whole split
    at.run()
    at.switch_page("views/annotate.py").run()
    at.selectbox(key="ann_split").select(split).run()
    at.selectbox(key="ann_slice").select("unsure").run()
    assert not at.exception and not at.error, (at.exception, [e.value for e in at.error])
    return at


def _shown(at: AppTest) -> str:
    return at.text_area[0].key.removeprefix("ann_text_")


def test_a_label_given_to_another_text_under_the_id_is_not_shown_as_this_ones(
        tiny_app_project, monkeypatch):
    """Before: after a row of train.csv was edited (or rows inserted where ids are row
    numbers) and the pipeline re-run, the next run skipped the old annotation
    (``text_changed``) but the Annotate page said "Your label: ham" on the new text, counted
    it as labeled and hid it from the queue, so it was never labeled again."""
    monkeypatch.delenv("LABELING_ANNOTATIONS")  # next to labeling.toml, where runs read them
    at = _annotate_page()
    example = _shown(at)
    at.button(key="ann_btn-0").click().run()  # ham, saved with the example's text
    train_csv = tiny_app_project.parent / "train.csv"
    frame = pd.read_csv(train_csv)
    frame.loc[frame["id"] == example, "text"] = "a completely different comment"
    frame.to_csv(train_csv, index=False)
    task = pipeline.load_task(tiny_app_project)
    assert task.annotation_report["text_changed"] == 1  # the run does not use it
    pipeline.run(task, progress=False)

    at = _annotate_page()
    assert _shown(at) == example  # back in the queue, not hidden as labeled
    assert any(c.value == "Your label: none yet" for c in at.caption)
    assert "0 of" in at.get("progress")[0].proto.text


def _fake_run(texts: dict[str, str], labels: list[str]):
    frame = pd.DataFrame({"id": list(texts), "text": list(texts.values())})
    return SimpleNamespace(config=SimpleNamespace(name="t"), labels=labels,
                           frames={"train": frame}, moved={})


def test_a_label_set_given_to_another_text_is_not_ticked_as_yours(tmp_path):
    """Multi-label likewise: the checkboxes started from the old text's saved set."""
    labels = ["joy", "anger"]
    store = AnnotationStore(tmp_path / "a.sqlite")
    store.set_label_set("t", "0", [0], split="train", labels=labels, text="old text")
    store.set_label_set("t", "1", [1], split="train", labels=labels, text="same text")
    run = _fake_run({"0": "new text", "1": "same text"}, labels)
    assert ml_detail.current_set(store, run, "train", "0") is None
    assert ml_detail.current_set(store, run, "train", "1") == (1,)
    assert stored_labels(store, run, "train", ["0", "1"], read=store.label_sets_for) == {
        "1": (1,)}


def _session(name: str | None) -> AppTest:
    """One annotator's browser tab on the Annotate page (train, every example queued)."""
    at = _annotate_page()
    if name is not None:
        at.sidebar.text_input(key="annotator").input(name).run()
    return at


def test_each_label_records_who_gave_it_and_the_page_says_so(tiny_app_project, tmp_path):
    """Before: the store had an ``annotator`` column the app never filled: the table and
    the CSV export said nobody labeled anything, and a team could not tell who did."""
    at = _session("  alice ")
    example = _shown(at)
    at.button(key="ann_btn-1").click().run()
    assert not at.exception and not at.error
    table = AnnotationStore(tmp_path / "annotations.sqlite").table("tiny")
    assert table[["example_id", "annotator"]].values.tolist() == [[example, "alice"]]
    assert at.query_params["annotator"] == "alice"  # a reload keeps the name:
    reloaded = AppTest.from_file(ENTRY, default_timeout=60)
    reloaded.query_params["annotator"] = "alice"
    reloaded.run()
    assert reloaded.sidebar.text_input(key="annotator").value == "alice"
    at.button(key="ann_back").click().run()
    assert any(c.value.startswith("Your label: **spam** \\(alice, ") for c in at.caption)


def test_a_second_annotator_does_not_label_an_example_they_never_saw(tiny_app_project,
                                                                      tmp_path):
    """Two annotators open the Annotate page at once and are shown the same example.
    Before: when alice labeled it first, bob's click (made on that example) was applied
    after his page had moved on to the next one, which got bob's label unseen; alice's
    label was never shown to him. Now the click is refused once, naming alice, the example
    is shown again with her label, and a second click replaces it."""
    alice, bob = _session("alice"), _session("bob")
    example = _shown(alice)
    assert _shown(bob) == example
    alice.button(key="ann_btn-0").click().run()  # ham
    bob.button(key="ann_btn-1").click().run()    # spam, on the page that showed `example`
    assert not bob.exception and not bob.error
    store = AnnotationStore(tmp_path / "annotations.sqlite")
    table = store.table("tiny")
    assert table[["example_id", "label_name", "annotator"]].values.tolist() == [
        [example, "ham", "alice"]]  # nothing else labeled, alice's label kept
    assert _shown(bob) == example
    assert any("by alice" in w.value and "not saved" in w.value for w in bob.warning)
    assert any(c.value.startswith("Your label: **ham** \\(alice, ") for c in bob.caption)
    bob.button(key="ann_btn-1").click().run()  # he saw it: now it is replaced
    table = store.table("tiny")
    assert table[["example_id", "label_name", "annotator"]].values.tolist() == [
        [example, "spam", "bob"]]
    assert _shown(bob) != example  # and his queue moves on


def test_the_table_says_which_annotations_the_next_run_does_not_use(tiny_app_project,
                                                                     tmp_path):
    """Before: a label renamed in labeling.toml, a text edited since, a test row: the
    next run skipped these annotations (counted in metrics.json afterwards), while the
    Annotate page's table listed them as any other, so the team could not see which of
    their labels no longer counted."""
    from labeling.review.project import load_run

    run = load_run(tiny_app_project)
    train, dev = run.frames["train"], run.frames["dev"]
    store = AnnotationStore(tmp_path / "annotations.sqlite")
    store.set("tiny", train["id"][0], 0, split="train", label_name="ham", text=train["text"][0])
    store.set("tiny", train["id"][1], 0, split="train", label_name="ham", text="an old text")
    store.set("tiny", dev["id"][0], 1, split="dev", label_name="junk", text=dev["text"][0])
    store.set("tiny", "te0", 1, split="test", label_name="spam")
    at = _annotate_page()
    table = next(d.value for d in at.dataframe if "next_run" in d.value.columns)
    shown = table.set_index("example_id")["next_run"]
    assert shown.to_dict() == {
        train["id"][0]: "used",
        train["id"][1]: "not used: the example's text changed since",
        dev["id"][0]: "not used: names a label the task no longer has",
        "te0": "not used: test rows stay held out"}
    assert any(c.value.startswith("3 of them not used by the next run") for c in at.caption)


def test_the_annotate_page_offers_every_example_of_a_split(tiny_app_project):
    """Before: the single-label Annotate page offered only the four slices (uncovered,
    conflicting, unsure, label model wrong), so a team could not label a dev set straight
    through: on the tiny task no train row is uncovered and the page had nothing to show.
    (The multi-label page has had "all".)"""
    from labeling.review.project import load_run

    at = AppTest.from_file(ENTRY, default_timeout=60)
    at.run()
    at.switch_page("views/annotate.py").run()
    at.selectbox(key="ann_split").select("dev").run()
    at.selectbox(key="ann_slice").select("all").run()
    assert not at.exception and not at.error
    dev = load_run(tiny_app_project).frames["dev"]["id"].tolist()
    assert _shown(at) == dev[0]
    assert at.get("progress")[0].proto.text == f"0 of {len(dev)} examples in this slice labeled"


def test_annotations_of_a_renamed_label_can_be_given_its_new_name(tiny_app_project, tmp_path):
    """Before: after a label was renamed in labeling.toml, every annotation naming the old
    name was ignored by the next run, and nothing in the app could carry them over: the
    team had to label those examples again."""
    from labeling.review.project import load_run

    train = load_run(tiny_app_project).frames["train"]
    store = AnnotationStore(tmp_path / "annotations.sqlite")
    for i in range(3):  # labeled when the label was called "junk"
        store.set("tiny", train["id"][i], 1, split="train", label_name="junk",
                  text=train["text"][i])
    store.set("tiny", train["id"][3], 0, split="train", label_name="ham", text=train["text"][3])
    at = _annotate_page()
    assert any("no longer has" in e.label and "junk" in e.label for e in at.expander)
    at.selectbox(key="rename_old").select("junk").run()
    at.selectbox(key="rename_new").select("spam").run()
    at.button(key="rename_go").click().run()
    assert not at.exception and not at.error
    table = store.table("tiny").set_index("example_id")["label_name"]
    assert sorted(table.tolist()) == ["ham", "spam", "spam", "spam"]
    assert store.gold_for("tiny", "train", train["id"][:4], ["ham", "spam"]) == {
        **{i: 1 for i in train["id"][:3]}, train["id"][3]: 0}
    assert not any("no longer has" in e.label for e in at.expander)


def test_renaming_a_label_inside_label_sets(tmp_path):
    store = AnnotationStore(tmp_path / "a.sqlite")
    store.set("t", "a", 3, split="train", label_name="joy;glee")
    store.set("t", "b", 3, split="dev", label_name="glee")
    store.set("t", "c", 3, split="dev", label_name="happiness;glee")  # both become joy
    store.set("t", "d", 1, split="dev", label_name="anger")
    assert store.rename_label("t", "glee", "happiness") == 3
    names = store.table("t").set_index("example_id")["label_name"].to_dict()
    assert names == {"a": "joy;happiness", "b": "happiness", "c": "happiness", "d": "anger"}
    assert store.label_sets_for("t", "train", ["a"], ["happiness", "joy"]) == {"a": (0, 1)}


def test_the_page_counts_annotations_per_annotator(tiny_app_project, tmp_path):
    """Before: counts per label only; a team could not see who had labeled how many."""
    store = AnnotationStore(tmp_path / "annotations.sqlite")
    for i, who in enumerate(["bob", "dana", "dana", None]):
        store.set("tiny", f"tr{i}", 0, split="train", label_name="ham", annotator=who)
    at = _annotate_page()
    assert any(c.value == "By annotator\\: dana 2 · bob 1 · no name 1" for c in at.caption)
