"""Conflicts: the pairwise conflict matrix, then the examples of one LF pair."""

import altair as alt
import streamlit as st

import annotating
import shared
from labeling.review import conflicts
from labeling.review.literal import literal

st.title("Conflicts")
with shared.guard():
    data = shared.run()
    split = st.radio("split", data.splits, horizontal=True, key="conf_split")
    pairs = conflicts.conflict_pairs(data, split)
    if pairs.empty:
        st.info(f"No two LFs disagree on any {split} example.")
        st.stop()
    long = conflicts.matrix_long(conflicts.conflict_matrix(data, split))
    # every LF named on both axes (Vega drops every other label when they are close);
    # the height includes the x axis' rotated names
    st.altair_chart(alt.Chart(long).mark_rect().encode(
        x=alt.X("lf_b:N", sort=data.lf_names, title=None,
                axis=shared.every_label_axis(labelAngle=-90)),
        y=alt.Y("lf_a:N", sort=data.lf_names, title=None, axis=shared.every_label_axis()),
        color=alt.Color("conflicts:Q", scale=alt.Scale(scheme="orangered")),
        tooltip=["lf_a", "lf_b", "conflicts"]).properties(
            height=shared.heatmap_height(len(data.lf_names))), width="stretch")

    options = [conflicts.pair_label(r.lf_a, r.lf_b, r.conflicts) for r in pairs.itertuples()]
    if st.session_state.get("pair") not in options:
        st.session_state["pair"] = options[0]
    current = options.index(st.session_state["pair"])

    def _pick_row(table_key: str):
        rows = st.session_state[table_key].selection.rows
        if rows:
            st.session_state["pair"] = options[rows[0]]

    # keyed by the chosen pair, so the highlighted row always follows the selectbox
    table_key = f"pair_table_{split}_{current}"
    st.caption("Click a row, or choose a pair below.")
    st.dataframe(pairs, hide_index=True, on_select=lambda: _pick_row(table_key),
                 selection_mode="single-row", key=table_key, height=220,
                 selection_default={"selection": {"rows": [current], "columns": []}})
    choice = st.selectbox("LF pair (conflicts)", options, key="pair")
    a, b = conflicts.parse_pair_label(choice)
    query = st.text_input("Search text", key="conf_query", placeholder="e.g. subscribe")
    try:
        end_pred = shared.end_model_pred().get(split)
    except Exception:  # noqa: BLE001 -- the table is complete without the end model
        end_pred = None
    table = conflicts.disagreements(data, a, b, split, query, end_pred)
    st.markdown(f"**{len(table)}** {split} examples where {literal(a)} and {literal(b)} disagree"
                + (f" and the text contains “{literal(query)}”" if query else ""))
    if table.empty:
        st.info("No example matches.")
        st.stop()
    st.dataframe(table, hide_index=True, column_config=shared.dataframe_config(data),
                 key="conf_examples")
    st.header("Label one of them")
    example = st.selectbox("example", table["id"].tolist(), key="conf_example",
                           format_func=lambda i: f"{i}: {table.set_index('id').at[i, 'text'][:80]}")
    shared.show_text(table.set_index("id").at[example, "text"], key=f"conf_text_{split}_{example}")
    annotating.annotate_buttons(data, example, split, key="conf_ann")
    st.session_state["detail_id"] = (split, example)
    st.page_link("views/example.py", label="Open in example detail", icon=":material/search:")
