"""The app's annotation widgets: who annotates, label buttons, the queue's back/skip,
and the Annotate pages' import, download and rename boxes. Labels go to the annotation
store (:mod:`labeling.gold`) through :func:`shared.store`; a label given while another
annotator changed it is refused once (:func:`labeling.review.annotator.save_unless_changed`)."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

import shared
from labeling.errors import LabelingError
from labeling.gold import AnnotationStore
from labeling.review import queue
from labeling.review.annotator import MAX_NAME, byline, clean_name, save_unless_changed
from labeling.review.detail import example_text
from labeling.review.import_labels import counted, export, import_labels, replaced_note
from labeling.review.literal import literal
from labeling.review.next_run import unknown_label_names
from labeling.review.project import annotation_key


_PICKS = st.components.v2.component(
    "labeling_keys_after_picks", js=Path(__file__).with_name("keys_after_picks.js").read_text())


def keys_after_picks() -> None:
    """A pick made with the mouse (a split, a slice, "hide labeled", a label's checkbox)
    leaves the keys to the page (``app/keys_after_picks.js``): Streamlit ignores its key
    shortcuts while such an input has the focus, and a select box took the keys typed."""
    _PICKS(key="keys_after_picks", height=0)


def annotator_field() -> None:
    """The sidebar's name box: recorded with each label given in this tab, and kept in
    the URL (``?annotator=alice``) so that a reload or a bookmark keeps it."""
    if "annotator" not in st.session_state:
        st.session_state["annotator"] = st.query_params.get("annotator", "")
    st.sidebar.text_input("Your name", key="annotator", max_chars=MAX_NAME,
                          placeholder="recorded with your labels",
                          help="Recorded with each label you give, so the team can see "
                               "who labeled what (the Annotate page's table).")
    if (name := annotator()) and st.query_params.get("annotator") != name:
        st.query_params["annotator"] = name


def annotator() -> str | None:
    """This tab's annotator name (None when none is typed)."""
    return clean_name(st.session_state.get("annotator"))


def _save(task: str, where: str, stored_id: str, example_id: str, k: int | None,
          name: str | None, text: str, seen: dict | None, key: str, on_saved,
          on_refused) -> None:
    """A label (or clear) button's callback: it runs before the rerun, on the example the
    page showed when clicked (the queue may have moved on since: another tab labeled it),
    and refuses once when another annotator changed its label after the page showed it
    (checked and written in one transaction: :func:`save_unless_changed`)."""
    annotations = shared.store()

    def write(expect) -> bool:
        if k is None:
            return annotations.remove(task, where, stored_id, expect=expect,
                                      annotator=annotator())
        return annotations.set(task, stored_id, k, label_name=name, split=where,
                               annotator=annotator(), text=text, expect=expect)

    try:
        note = save_unless_changed(example_id, seen,
                                   lambda: annotations.record(task, where, stored_id), write,
                                   annotator())
    except LabelingError as exc:  # the store locked by another writer: not saved, say so
        note = f"{example_id}: your label was not saved: {exc}"
    if note:
        st.session_state[f"{key}_note"] = note
        if on_refused is not None:
            on_refused(example_id)
        return
    st.toast(literal(f"{example_id}: label removed" if k is None
                     else f"{example_id}: {name} saved"))
    if on_saved is not None:
        on_saved(example_id)


def annotate_buttons(data, example_id: str, split: str, key: str,
                     shortcuts: bool = False, on_saved=None, on_refused=None) -> None:
    """A button per label writing the annotation at once, and "clear" removing it, with
    who gave the stored label and when; ``on_saved(example_id)`` after a save or clear,
    ``on_refused(example_id)`` after a click refused (:func:`_save`)."""
    # a dev row the run moved from train keeps its annotation under train
    task = data.config.name
    where, stored_id = annotation_key(data, split, example_id)
    text = example_text(data, example_id, split)  # a label given to another text is not its
    current = shared.store().get(task, where, stored_id, data.labels, text=text)
    seen = shared.store().record(task, where, stored_id)
    if note := st.session_state.pop(f"{key}_note", None):
        st.warning(literal(note))
    st.caption("Your label: " + (f"**{literal(data.labels[current])}**"
                                 f"{literal(byline(seen))}" if current is not None
                                 else "none yet"))
    columns = st.columns(len(data.labels) + 1)

    def click(k: int | None, name: str | None) -> dict:
        return dict(on_click=_save, kwargs=dict(
            task=task, where=where, stored_id=stored_id, example_id=example_id, k=k,
            name=name, text=text, seen=seen, key=key, on_saved=on_saved,
            on_refused=on_refused))

    for k, name in enumerate(data.labels):
        with columns[k]:
            st.button(literal(name) + (f"  [{k + 1}]" if shortcuts else ""), key=f"{key}-{k}",
                      type="primary" if current == k else "secondary",
                      shortcut=str(k + 1) if shortcuts and k < 9 else None, **click(k, name))
    if current is not None:  # B then Backspace undoes a label from the keyboard alone
        columns[-1].button("clear" + (" [Backspace]" if shortcuts else ""), key=f"{key}-clear",
                           help="Remove your label (undo)",
                           shortcut="Backspace" if shortcuts else None, **click(None, None))


def import_box(data, annotations: AnnotationStore, multi_label: bool = False) -> None:
    """The Annotate pages' "Import labels" box: a file of hand labels with the download's
    columns, checked whole before anything is stored (:mod:`labeling.review.import_labels`)."""
    with st.expander("Import labels (CSV or JSONL with the download's columns)"):
        upload = st.file_uploader(
            "example_id, split, label_name (a set's names joined by \";\"); annotator "
            "optional, else your name", type=["csv", "jsonl", "ndjson"], key="import_labels")
        order = st.radio(  # sheet_times' date_order: None, the column's dates decide
            "Dates like 03/04/2026 are", ("day first", "month first"), index=None,
            horizontal=True, key="import_date_order",
            help="For an updated_at column whose dates never have a day over 12 (Excel "
                 "in the US re-saves the download month first: 12/7/2026 8:01). Unset, "
                 "such a column is refused; a column with a day over 12 is read in the "
                 "order it shows.")
        if upload is not None and st.button("Import", key="import_labels_go"):
            with shared.guard():
                n = import_labels(annotations, data, upload.name, upload.getvalue(),
                                  multi_label, annotator(),
                                  date_order=order and order.replace(" ", "_"))
                same = f"; {n.unchanged} already had that label" if n.unchanged else ""
                st.success(literal(f"{counted(n, 'label')} imported from {upload.name} (each "
                                   f"replaces the example's label, if it had one){same}."))
                if note := replaced_note(n, upload.name):  # whose labels it replaced
                    st.info(literal(note))
                if n.kept:
                    st.warning(literal(
                        f"{counted(len(n.kept), 'row')} of {upload.name} not imported: "
                        "relabeled or cleared in the app after this file's updated_at, so the "
                        "newer label (or none) is kept: "
                        + "; ".join(n.kept[:5]) + (" ..." if len(n.kept) > 5 else "")
                        + ". To replace them, edit a fresh download (or delete the file's "
                        "updated_at column)."))


def download_buttons(annotations: AnnotationStore, data) -> None:
    """The Annotate pages' downloads: every annotation, with its text, as CSV and JSONL."""
    for column, kind in zip(st.columns(2), ("csv", "jsonl")):
        column.download_button(f"Download annotations ({kind.upper()})",
                               export(annotations, data, kind), key=f"download_{kind}",
                               file_name=f"{data.config.name}-annotations.{kind}",
                               mime="text/csv" if kind == "csv" else "application/jsonl")


def rename_box(data, annotations: AnnotationStore, names) -> None:
    """When annotations (stored ``names``) name labels the task no longer has: say so, and
    map such a name to one of the task's labels (a label renamed in labeling.toml)."""
    if not (gone := unknown_label_names(names, data.labels)):
        return
    with st.expander(literal(f"Annotations name labels the task no longer has: "
                             f"{', '.join(gone)} (the next run ignores them)")):
        old = st.selectbox("label no longer in the task", gone, key="rename_old")
        new = st.selectbox("its name now", data.labels, key="rename_new")
        if st.button("Rename it in the annotations", key="rename_go"):
            with shared.guard():
                n = annotations.rename_label(data.config.name, old, new)
                st.toast(literal(f"{n} annotations now say {new} instead of {old}"))
                st.rerun()


def back_and_skip(prefix: str, example_id: str, queue_ids: list, key: str) -> None:
    """The annotation queue's "back [B]" and "skip [S]" buttons
    (:mod:`labeling.review.queue`: back returns to the last example saved or skipped)."""
    back, skip = st.columns(2)
    if back.button("◀ back [B]", shortcut="B", key=f"{key}_back"):
        queue.back(st.session_state, prefix, queue_ids)
        st.rerun()
    if skip.button("skip ▶ [S]", shortcut="S", key=f"{key}_skip"):
        queue.moved_on(st.session_state, prefix, example_id, advance=True)
        st.rerun()
