"""Annotate: label a slice's examples one by one; saved at once, exportable, counted."""

import streamlit as st

import annotating
import shared
from labeling.review import queue as queue_state
from labeling.review import slices
from labeling.review.annotator import by_annotator, with_times
from labeling.review.detail import find_example, probabilities
from labeling.review.literal import literal
from labeling.review.next_run import with_next_run
from labeling.review.project import stored_labels

st.title("Annotate")
annotating.keys_after_picks()  # keys work after a pick with the mouse
with shared.guard():
    data = shared.run()
    store = shared.store()
    task = data.config.name
    c1, c2, c3 = st.columns([1, 2, 1])
    split = c1.selectbox("split", [s for s in data.splits if s != "test"] or data.splits,
                         key="ann_split")
    margin = st.session_state.get("unsure_margin", slices.DEFAULT_MARGIN)  # the Slices page's
    rows = slices.queue_counts(data, split, margin)
    if "ann_slice" not in st.session_state:  # opens on a slice with rows; a pick is kept
        st.session_state["ann_slice"] = slices.first_with_rows(rows)
    name = c2.selectbox("slice", list(slices.QUEUES), key="ann_slice",
                        format_func=lambda n, rows=rows: slices.queue_choice(n, rows))
    skip_done = c3.toggle("hide labeled", value=True, key="ann_hide")
    ids = slices.slice_ids(data, split, name, margin)
    if name == "unsure":
        st.caption(f"Unsure: top-two probability gap below {margin:.2f} (set on the Slices "
                   "page).")
    done = stored_labels(store, data, split, ids)  # moved train rows: their train label
    queue = [i for i in ids if not (skip_done and i in done)]
    st.progress(len(done) / len(ids) if ids else 0.0,  # an empty queue is not "all done"
                text=f"{len(done)} of {len(ids)} examples in this slice labeled")
    if split == "test":
        st.warning("Test labels are never used as dev gold (the test split stays held out).")
    shown = queue_state.current(st.session_state, "ann", queue, ids)
    if shown is None:
        st.info("Nothing to label here: the slice is empty or every example is labeled."
                if ids or name != "label_model_wrong" else
                "This slice needs gold labels; choose another slice.")
    else:
        example_id, position = shown
        where = (f"{position + 1} of {len(queue)} to go" if position is not None
                 else "labeled: back to it")
        sp, row = find_example(data, example_id, split)
        predicted = data.labels[int(data.probs[sp]["label_model_pred"].iloc[row])]
        st.markdown(f"**{literal(example_id)}** ({where}) · "
                    f"label model says **{literal(predicted)}**")
        shared.show_text(data.frames[sp]["text"].iloc[row], key=f"ann_text_{example_id}")
        st.dataframe(probabilities(data, sp, row).set_index("label").T, hide_index=True)
        st.caption("Keys: " + ", ".join(f"{k + 1} = {literal(n)}"
                                        for k, n in enumerate(data.labels[:9]))
                   + ", S = skip, B = back, Backspace = clear your label")
        annotating.annotate_buttons(data, example_id, sp, key="ann_btn", shortcuts=True,
                                on_saved=lambda i: queue_state.moved_on(
                                    st.session_state, "ann", i, advance=not skip_done),
                                on_refused=lambda i: queue_state.show_again(
                                    st.session_state, "ann", i))
        annotating.back_and_skip("ann", example_id, queue, key="ann")

    st.divider()
    st.header("Annotations")
    annotating.import_box(data, store)
    counts = store.counts(task, data.labels)
    cols = st.columns(len(counts) + 1)
    cols[0].metric("total", int(counts["count"].sum()))
    for col, r in zip(cols[1:], counts.itertuples()):
        col.metric(literal(r.label), r.count)
    table = with_next_run(store.table(task), store, data)
    annotating.rename_box(data, store, table["label_name"])
    if table.empty:
        st.caption("No annotations yet.")
    else:
        st.caption(literal(f"By annotator: {by_annotator(table['annotator'])}"))
        if unused := int((table["next_run"] != "used").sum()):
            st.caption(f"{unused} of them not used by the next run (the next_run column says "
                       "why).")
        st.dataframe(with_times(table.drop(columns=["task"])), hide_index=True, key="ann_table",
                     column_config={"updated_at": st.column_config.DatetimeColumn(
                         "updated_at (UTC)", format="YYYY-MM-DD HH:mm:ss")})
        annotating.download_buttons(store, data)
    st.caption(f"Stored in {literal(store.path)}; train and dev labels become dev gold in the "
               "next run.")
