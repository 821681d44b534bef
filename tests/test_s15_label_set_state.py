"""The multi-label editor's ticks (app/ml_shared.py) beside other annotators and other
examples: unsaved ticks go with the example the page leaves; ticks left as they started
follow a set a teammate saved since; ticks you changed stay, and their save is refused
once with a note naming the teammate, then goes through when saved again.

Before (afbd1c8 kept the ticks in session state for good): ticks came back on an example
the page had left, and after a teammate saved, the boxes kept the old set beside a
caption naming the teammate's save; Enter then replaced the teammate's set unseen.
"""

from __future__ import annotations

import sys
from pathlib import Path

from labeling.gold import AnnotationStore

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_app_multilabel import _app, ml_project, page  # noqa: E402,F401
from test_f99_conditional_save import _task  # noqa: E402


def _ticked(at, prefix: str) -> set[int]:
    boxes = [b for b in at.checkbox if b.key.startswith(f"{prefix}-")]
    return {int(b.key[len(prefix) + 1:].split("-")[0]) for b in boxes if b.value}


def _annotate_as_bob(ml_project, monkeypatch, path):
    at = page(_app(ml_project, monkeypatch, path), "ml_annotate")
    at.sidebar.text_input(key="annotator").input("bob").run()
    at.toggle(key="ml_ann_hide").set_value(False).run()  # stay on it once it is labeled
    example_id = at.text_area[0].key.removeprefix("ml_ann_text_")
    split = at.selectbox(key="ml_ann_split").value
    return at, example_id, split, f"ml_ann-{split}-{example_id}"


def test_unsaved_ticks_go_with_the_example_the_page_leaves(ml_project, tmp_path,
                                                            monkeypatch):
    at = page(_app(ml_project, monkeypatch, tmp_path / "a.sqlite"), "ml_example")
    select = at.selectbox(key="ml_detail_select")
    first = select.value
    split, example_id = first
    prefix = f"ml_detail_ann-{split}-{example_id}"
    start = _ticked(at, prefix)
    flip = 0 if 0 not in start else 1
    at.checkbox(key=f"{prefix}-{flip}").set_value(flip not in start).run()
    assert _ticked(at, prefix) == start ^ {flip}
    other = (split, next(o.split(" · ")[1] for o in select.options
                         if o.startswith(f"{split} · ") and o != f"{split} · {example_id}"))
    at.selectbox(key="ml_detail_select").select(other).run()
    assert not at.exception and not any(b.key.startswith(f"{prefix}-") for b in at.checkbox)
    at.selectbox(key="ml_detail_select").select(first).run()
    assert not at.exception
    assert _ticked(at, prefix) == start  # before: start ^ {flip}, never saved


def test_untouched_ticks_follow_a_set_a_teammate_saved_since(ml_project, tmp_path,
                                                             monkeypatch):
    path = tmp_path / "a.sqlite"
    at, example_id, split, prefix = _annotate_as_bob(ml_project, monkeypatch, path)
    labels = [b.label for b in at.checkbox if b.key.startswith(f"{prefix}-")]
    AnnotationStore(path).set_label_set(_task(ml_project), example_id, [1, 2], split=split,
                                        labels=labels, annotator="alice")
    at.run()
    assert not at.exception and at.text_area[0].key == f"ml_ann_text_{example_id}"
    assert _ticked(at, prefix) == {1, 2}  # before: the label model's set, beside "alice"


def test_changed_ticks_are_refused_once_when_a_teammate_saved_since(ml_project, tmp_path,
                                                                    monkeypatch):
    path = tmp_path / "a.sqlite"
    at, example_id, split, prefix = _annotate_as_bob(ml_project, monkeypatch, path)
    labels = [b.label for b in at.checkbox if b.key.startswith(f"{prefix}-")]
    for box in [b for b in at.checkbox if b.key.startswith(f"{prefix}-")]:
        box.set_value(box.key == f"{prefix}-0")
    at.run()
    task = _task(ml_project)
    AnnotationStore(path).set_label_set(task, example_id, [1], split=split, labels=labels,
                                        annotator="alice")
    at.run()  # any rerun (a click elsewhere) after her save, before bob's Enter
    assert _ticked(at, prefix) == {0}
    at.button(key=f"{prefix}-save").click().run()
    assert not at.exception
    assert any("by alice" in w.value and "not saved" in w.value for w in at.warning)
    assert AnnotationStore(path).table(task)[["label_name", "annotator"]].values.tolist() \
        == [[labels[1], "alice"]]  # before: bob's set replaced hers, no word said
    assert _ticked(at, prefix) == {0}  # bob's ticks are still there to save again
    at.button(key=f"{prefix}-save").click().run()
    assert AnnotationStore(path).table(task)[["label_name", "annotator"]].values.tolist() \
        == [[labels[0], "bob"]]
