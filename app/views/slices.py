"""Slices: uncovered, conflicting, unsure and label-model-wrong examples, filterable."""

import streamlit as st

import shared
from labeling.review import slices
from labeling.review.examples import filter_table
from labeling.review.literal import literal

st.title("Slices")
with shared.guard():
    data = shared.run()
    # the margin outlives the page (a widget's state does not), so that the annotate
    # page's "unsure" queue is the slice counted here
    st.session_state.setdefault("slice_margin", st.session_state.get("unsure_margin",
                                                                     slices.DEFAULT_MARGIN))
    margin = st.slider("unsure margin (top-two probability gap below)", 0.0, 1.0,
                       step=0.05, key="slice_margin")
    st.session_state["unsure_margin"] = margin
    counts = slices.slice_counts(data, margin)
    st.dataframe(counts.pivot(index="slice", columns="split", values="count")
                 .reindex(list(slices.SLICES)), column_config={
                     s: st.column_config.NumberColumn(s, help=f"examples of {s} in the slice")
                     for s in data.splits})
    c1, c2 = st.columns(2)
    split = c1.selectbox("split", data.splits, key="slice_split")
    name = c2.selectbox("slice", list(slices.SLICES), key="slice_name",
                        format_func=lambda n: f"{n}: {slices.SLICES[n]}")
    try:
        end_pred = shared.end_model_pred().get(split)
    except Exception:  # noqa: BLE001 -- the table is complete without the end model
        end_pred = None
    table = slices.slice_table(data, split, name, margin, end_pred)
    if table is None:
        st.info(f"The {split} split has no gold labels, so '{name}' does not apply to it; "
                "choose dev or test.")
        st.stop()
    f1, f2, f3 = st.columns([2, 1, 1])
    query = f1.text_input("Search text", key="slice_query")
    lm = f2.multiselect("label model says", data.labels, key="slice_lm")
    gold = f3.multiselect("gold", data.labels, key="slice_gold") if "gold" in table else []
    shown = filter_table(table, query, {"label_model": lm, "gold": gold})
    st.markdown(f"**{len(shown)}** of {len(table)} {split} examples in **{name}**")
    if shown.empty:
        st.info("This slice is empty" + (" with these filters." if len(table) else "."))
    else:
        st.dataframe(shown, hide_index=True, column_config=shared.dataframe_config(data),
                     key="slice_table")
        pick = st.selectbox("Open an example in the detail view", shown["id"].tolist(),
                            key="slice_pick")
        st.session_state["detail_id"] = (split, pick)
        st.page_link("views/example.py", label=f"Open {literal(pick)}", icon=":material/search:")
