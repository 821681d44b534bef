"""Examples with their label sets: gold, the LFs' votes, label model, end model; filters."""

import streamlit as st

import ml_shared
import shared
from labeling.review import ml_detail, multilabel
from labeling.review.literal import literal

st.title("Examples")
with shared.guard():
    data = ml_shared.run()
    c1, c2, c3, c4 = st.columns([1, 2, 1, 2])
    split = c1.selectbox("split", data.splits, key="ml_ex_split",
                         index=data.splits.index("dev") if "dev" in data.splits else 0)
    name = c2.selectbox("slice", list(multilabel.SLICES), key="ml_ex_slice",
                        format_func=lambda n: f"{n}: {multilabel.SLICES[n]}")
    label = c3.selectbox("label", ["(any)"] + data.labels, key="ml_ex_label",
                         help="Rows where the label is in gold, an LF's applies votes or a "
                              "model's set")
    query = c4.text_input("text contains", key="ml_ex_query")
    mask = multilabel.slice_mask(data, split, name, None if label == "(any)" else label, query)
    table = multilabel.example_table(data, split, ml_detail.annotations(
        ml_shared.store(), data, split))[mask]
    st.caption(f"{len(table)} of {len(data.frames[split])} {split} examples. Sets are shown "
               f"as `a; b`, an empty set as {multilabel.EMPTY}; lf_votes lists +label for an "
               "\"applies\" vote and -label for \"does not apply\".")
    st.dataframe(table, hide_index=True, key="ml_ex_table", column_config={
        "text": st.column_config.TextColumn("text", width="large"),
        **{f"p_{n}": st.column_config.ProgressColumn(
            f"p_{n}", help=f"Label-model probability of {literal(n)}", min_value=0.0,
            max_value=1.0,
            format="%.3f") for n in data.labels}})
    if len(table):
        pick = st.selectbox("open an example", list(table["id"]), key="ml_ex_pick")
        if st.button("Show in Example detail", key="ml_ex_open"):
            st.session_state["ml_detail_id"] = (split, pick)
            st.switch_page("views/ml_example.py")
