"""What the multi-label pages share (``multi_label = true``): their list, the cached run,
the annotation store and the label-set editor (checkboxes, a key per label, Enter saves).

Layout only: the numbers come from :mod:`labeling.review.multilabel` and
:mod:`labeling.review.ml_detail`; the project and run are found as for single-label
tasks (:func:`shared.settings`).
"""

from __future__ import annotations

import re
from pathlib import Path

import streamlit as st

import annotating
import shared
from labeling.errors import LabelingError
from labeling.gold import AnnotationStore
from labeling.review import ml_detail
from labeling.review.annotator import byline, save_unless_changed
from labeling.review.literal import literal
from labeling.review.multilabel import set_names
from labeling.review.ml_project import is_multi_label, load_multilabel_run
from labeling.review.project import annotations_path

PAGES = [("ml_overview.py", "Overview", ":material/dashboard:", "overview"),
         ("ml_labels.py", "Per label", ":material/table:", "labels"),
         ("ml_examples.py", "Examples", ":material/list:", "examples"),
         ("ml_example.py", "Example detail", ":material/search:", "example"),
         ("ml_annotate.py", "Annotate", ":material/edit_note:", "annotate"),
         ("run.py", "Run pipeline", ":material/play_arrow:", "run")]


def multi_label() -> bool:
    """Whether the project is a multi-label task (a broken config raises LabelingError)."""
    return is_multi_label(shared.settings()["project"])


@st.cache_data(show_spinner="Loading the run…", max_entries=4)
def _run(project: str, run_dir: str | None, annotations: str | None, stamp: str):
    return load_multilabel_run(project, run_dir, annotations)


def run():
    """The current multi-label run (MultiLabelRun); raises LabelingError / NoRunError.
    While a run writes the folder: the last finished run, as for single-label tasks
    (:func:`shared.current`)."""
    annotations = shared.settings()["annotations"]
    annotations = str(annotations) if annotations else None
    return shared.current(lambda project, run_dir, stamp: _run(project, run_dir, annotations,
                                                               stamp))


def store() -> AnnotationStore:
    return AnnotationStore(annotations_path(run().config, shared.settings()["annotations"]))


# The ticked labels live in session state (f"{base}-ticked"), fed by the checkboxes'
# callbacks. A label's key clicks its checkbox in the browser (app/label_keys.js), so a
# key is a checkbox value like a click, never lost in a quick burst (as Streamlit
# button shortcuts were). When the server starts the ticks again (another example, a
# teammate's newer set) it renames the checkboxes (f"{base}-version"), and a value
# reported for a checkbox is a click only when it differs from what the server last
# knew that checkbox to show (f"{base}-known"): an echo of an old box never does.
_LAST_SHOWN = "label_set_editor_last_shown"
_KEYS = st.components.v2.component(
    "labeling_label_keys", js=(Path(__file__).with_name("label_keys.js")).read_text())


def _checkbox_key(base: str, c: int, version: int) -> str:
    return f"{base}-{c}" + (f"-v{version}" if version else "")


def _css_class(widget_key: str) -> str:
    """The class Streamlit gives a keyed widget's container (its frontend's rule)."""
    return "st-key-" + re.sub(r"[^a-zA-Z0-9_-]", "-", widget_key.strip())


def _box_clicked(base: str, c: int, box: str) -> None:
    known = st.session_state.get(f"{base}-known")
    if known is None or st.session_state.get(box) == known.get(box):
        return
    value = st.session_state[box]
    known[box] = value
    (st.session_state[f"{base}-ticked"].add if value else
     st.session_state[f"{base}-ticked"].discard)(c)


def _ticked(base: str, start, seen: dict | None) -> set[int]:
    """The example's ticked labels: kept across reruns while the page shows it, started
    again (from ``start``) when it shows another example first or after "clear". When the
    stored set changed since they started (``seen``: a teammate's save, an import, your
    other tab), untouched ticks follow it; changed ones stay, and their save is refused
    once with a note naming who changed it (:func:`_save_set`)."""
    state = st.session_state
    last = state.get(_LAST_SHOWN)
    if last is not None and last != base:  # unsaved ticks go with the example left
        for part in ("ticked", "start", "seen", "known"):
            state.pop(f"{last}-{part}", None)
    untouched = state.get(f"{base}-ticked") == state.get(f"{base}-start")
    if f"{base}-ticked" not in state or (state[f"{base}-seen"] != seen and untouched):
        state[f"{base}-ticked"], state[f"{base}-start"] = set(start), set(start)
        state[f"{base}-seen"] = seen
        state.setdefault(f"{base}-known", {})
        state[f"{base}-version"] = state.get(f"{base}-version", -1) + 1  # new boxes
    state[_LAST_SHOWN] = base
    return state[f"{base}-ticked"]


def _save_set(data, split: str, example_id: str, base: str, boxes, clear: bool, key: str,
              on_saved, on_refused) -> None:
    """The save (the ticked labels of ``base``) or ``clear`` button's callback: refused
    once when another annotator changed the set after the ticks started, checked and
    written in one transaction (:func:`labeling.review.annotator.save_unless_changed`)."""
    state = st.session_state
    if f"{base}-ticked" not in state:  # a second Enter after the page moved on
        return
    for c, box in boxes:  # a tick that came with Enter, its callback not run yet
        _box_clicked(base, c, box)
    annotations = store()
    picked, seen = sorted(state[f"{base}-ticked"]), state[f"{base}-seen"]
    record = lambda: ml_detail.stored_record(annotations, data, split, example_id)  # noqa: E731

    def write(expect) -> bool:
        if clear:
            return ml_detail.clear_set(annotations, data, split, example_id, expect=expect,
                                       annotator=annotating.annotator())
        return ml_detail.save_set(annotations, data, split, example_id, picked,
                                  annotator=annotating.annotator(), expect=expect)

    try:
        note = save_unless_changed(example_id, seen, record, write, annotating.annotator())
    except LabelingError as exc:  # an empty set, or the store locked by another writer
        state[f"{key}_note"] = f"{example_id}: your label set was not saved: {exc}"
        return
    if note:
        state[f"{key}_note"] = note
        state[f"{base}-seen"] = record()  # "save it again to replace theirs" then does
        if on_refused is not None:
            on_refused(example_id)
        return
    if clear:  # the checkboxes start again from the label model's set
        state.pop(f"{base}-ticked")
        st.toast(literal(f"{example_id}: label set removed"))
    else:
        st.toast(literal(f"{example_id}: {set_names(sorted(set(picked)), data.labels)} saved"))
    if on_saved is not None:
        on_saved(example_id)


def label_set_editor(data, split: str, row: int, key: str, shortcuts: bool = False,
                     on_saved=None, on_refused=None) -> None:
    """A checkbox per label (ticked: your saved set, else the label model's), a save
    button and "clear" (removes the saved set); with ``shortcuts`` each label's key (1-9,
    then letters: :func:`labeling.review.ml_detail.label_keys`, shown under its checkbox)
    ticks it and Enter saves. ``on_saved(example_id)`` after a save or clear,
    ``on_refused(example_id)`` after a save refused (another annotator changed it)."""
    example_id = data.frames[split]["id"].iloc[row]
    start, why = ml_detail.suggested_set(store(), data, split, row)
    seen = ml_detail.stored_record(store(), data, split, example_id)
    if note := st.session_state.pop(f"{key}_note", None):
        st.warning(literal(note))
    saved = ml_detail.current_set(store(), data, split, example_id) is not None
    st.caption(f"Ticked to start: {why}{literal(byline(seen)) if saved else ''}.")
    base = f"{key}-{split}-{example_id}"
    ticked = _ticked(base, start, seen)
    version, known = st.session_state[f"{base}-version"], st.session_state[f"{base}-known"]
    columns = st.columns(min(len(data.labels), 7))
    keys, boxes = {}, []
    for c, (name, shortcut) in enumerate(zip(data.labels, ml_detail.label_keys(
            len(data.labels)))):
        with columns[c % len(columns)]:
            box = _checkbox_key(base, c, version)
            boxes.append((c, box))
            known[box] = c in ticked
            st.checkbox(literal(name), value=c in ticked, key=box, on_change=_box_clicked,
                        args=(base, c, box))
            if shortcuts and shortcut is not None:  # under its checkbox: "key A"
                st.caption(f"key {shortcut}")
                keys[shortcut.lower()] = _css_class(box)
    if keys:
        _KEYS(key=f"{base}-keys", data={"keys": keys}, height=0)
    common = dict(data=data, split=split, example_id=example_id, base=base, boxes=boxes,
                  key=key, on_saved=on_saved, on_refused=on_refused)
    save, clear = st.columns([3, 1])
    save.button("Save label set" + (" [Enter]" if shortcuts else ""), type="primary",
                key=f"{key}-{split}-{example_id}-save", shortcut="Enter" if shortcuts else None,
                on_click=_save_set, kwargs={**common, "clear": False})
    if saved:
        clear.button("clear" + (" [Backspace]" if shortcuts else ""),
                     key=f"{key}-{split}-{example_id}-clear",
                     help="Remove your saved label set (undo)", on_click=_save_set,
                     shortcut="Backspace" if shortcuts else None,
                     kwargs={**common, "clear": True})
