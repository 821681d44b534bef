"""Annotate label sets one example at a time: checkboxes, a key per label, Enter saves."""

import streamlit as st

import ml_shared
import annotating
import shared
from labeling.review import ml_detail, multilabel
from labeling.review import queue as queue_state
from labeling.review.annotator import by_annotator, with_times
from labeling.review.literal import literal
from labeling.review.project import stored_labels

st.title("Annotate label sets")
annotating.keys_after_picks()  # keys work after a pick with the mouse
with shared.guard():
    data = ml_shared.run()
    store = ml_shared.store()
    c1, c2, c3, c4 = st.columns([1, 2, 1, 1])
    split = c1.selectbox("split", [s for s in data.splits if s != "test"] or data.splits,
                         key="ml_ann_split")
    name = c2.selectbox("slice", list(multilabel.SLICES), key="ml_ann_slice",
                        format_func=lambda n: f"{n}: {multilabel.SLICES[n]}")
    label = c3.selectbox("label", ["(any)"] + data.labels, key="ml_ann_label")
    skip_done = c4.toggle("hide labeled", value=True, key="ml_ann_hide")
    ids = multilabel.slice_ids(data, split, name, None if label == "(any)" else label)
    done = stored_labels(store, data, split, ids, read=store.label_sets_for)
    queue = [i for i in ids if not (skip_done and i in done)]
    st.progress(len(done) / len(ids) if ids else 0.0,  # an empty queue is not "all done"
                text=f"{len(done)} of {len(ids)} examples in this slice labeled")
    if split == "test":
        st.warning("Test labels are never used as dev gold (the test split stays held out).")
    shown = queue_state.current(st.session_state, "ml_ann", queue, ids)
    if shown is None:
        st.info("Nothing to label here: the slice is empty or every example is labeled.")
    else:
        example_id, position = shown
        where = (f"{position + 1} of {len(queue)} to go" if position is not None
                 else "labeled: back to it")
        row = ml_detail.find_row(data, split, example_id)
        sets = ml_detail.summary(data, split, row)
        st.markdown(f"**{literal(example_id)}** ({where}) · "
                    f"label model says **{literal(sets['label_model'])}** · LFs say "
                    f"**{literal(sets['lfs'])}**")
        shared.show_text(data.frames[split]["text"].iloc[row], key=f"ml_ann_text_{example_id}")
        st.dataframe(ml_detail.label_table(data, split, row).set_index("label").T,
                     key="ml_ann_labels")
        st.caption("Keys: the one under each label ticks or unticks it (1-9, then "
                   "letters), Enter saves, S skip, B back, Backspace clears your saved set. "
                   "A set needs at least one label.")
        ml_shared.label_set_editor(data, split, row, key="ml_ann", shortcuts=True,
                                   on_saved=lambda i: queue_state.moved_on(
                                       st.session_state, "ml_ann", i, advance=not skip_done),
                                   on_refused=lambda i: queue_state.show_again(
                                       st.session_state, "ml_ann", i))
        annotating.back_and_skip("ml_ann", example_id, queue, key="ml_ann")

    st.divider()
    st.header("Annotations")
    annotating.import_box(data, store, multi_label=True)
    counts = ml_detail.annotation_counts(store, data)
    st.dataframe(counts.pivot(index="label", columns="split", values="count")
                 .reindex(["sets"] + data.labels), key="ml_ann_counts")
    table = ml_detail.annotation_table(store, data)
    annotating.rename_box(data, store, table["label_set"])
    if table.empty:
        st.caption("No annotations yet.")
    else:
        st.caption(literal(f"By annotator: {by_annotator(table['annotator'])}"))
        st.dataframe(with_times(table), hide_index=True, key="ml_ann_table",
                     column_config={"updated_at": st.column_config.DatetimeColumn(
                         "updated_at (UTC)", format="YYYY-MM-DD HH:mm:ss")})
        annotating.download_buttons(store, data)
    st.caption(f"Stored in {literal(store.path)} as the labels' names joined by \";\" (as in "
               "the data files); train and dev label sets become dev gold in the next run.")
