"""End model: confusion matrix on test (cells filter the examples) and its errors."""

import streamlit as st

import shared
from labeling.review import end_model
from labeling.review.examples import example_table
from labeling.review.literal import literal

st.title("End model")
with shared.guard():
    data = shared.run()
    splits = [s for s in data.splits if data.gold(s) is not None]
    if not splits:
        st.info("No split has gold labels: there is nothing to compare the end model with.")
        st.stop()
    split = st.radio("split", splits, horizontal=True, key="em_split",
                     index=splits.index("test") if "test" in splits else 0)
    try:
        pred = shared.end_model_pred()[split]
    except shared.RunGoing as exc:  # a run is replacing the model: never half its files
        st.info(literal(exc), icon=":material/hourglass_top:")
        st.stop()
    gold = data.gold(split)
    matrix = end_model.confusion(gold, pred, data.labels)
    scores = data.metrics.get("end_model", {}).get(split, {})
    if scores:
        st.caption(f"{literal(data.metrics['end_model'].get('name'))} on {split}: accuracy "
                   f"{scores['accuracy']:.3f}" + (f", F1 {scores['f1']:.3f}" if "f1" in scores
                                                   else "")
                   + (" (in-sample)" if scores.get("in_sample") else ""))
    if scores.get("in_sample"):
        st.warning(f"In-sample: the end model was trained on the {split} gold rows, so "
                   "its score and errors here overstate it; test (or the cross-validated "
                   "scores on the overview) is the estimate.")
    st.markdown("Confusion matrix: rows are gold, columns predicted; each cell names both "
                "(✓ where they agree, ✗ an error). **Click a cell** (or Tab to it and press "
                "Enter) to list its examples.")
    header = st.columns(len(data.labels) + 1)
    header[0].markdown("gold \\ predicted")
    for k, name in enumerate(data.labels):
        header[k + 1].markdown(f"**{literal(name)}**")
    for g, gname in enumerate(data.labels):
        row = st.columns(len(data.labels) + 1)
        row[0].markdown(f"**{literal(gname)}**")
        for p, pname in enumerate(data.labels):
            # the count alone was all a screen reader (or a zoomed page, whose columns
            # stack) had, and only the colour told a right cell from a wrong one
            mark = "✓" if g == p else "✗"
            if row[p + 1].button(f"{mark} {matrix.iat[g, p]} · {literal(gname)} → "
                                 f"{literal(pname)}", key=f"cell-{g}-{p}",
                                 type="primary" if g == p else "secondary",
                                 width="stretch"):
                st.session_state["em_cell"] = f"{gname} → {pname}"
    cells = ["all"] + [f"{g} → {p}" for g in data.labels for p in data.labels]
    if st.session_state.get("em_cell") not in cells:
        st.session_state["em_cell"] = "all"
    cell = st.selectbox("cell (gold → predicted)", cells, key="em_cell")
    table = example_table(data, split, pred)
    if cell != "all":
        g_label, p_label = cell.split(" → ")
        table = table[end_model.cell_mask(gold, pred, data.labels, g_label, p_label)]
    st.markdown(f"**{len(table)}** examples")
    st.dataframe(table, hide_index=True, column_config=shared.dataframe_config(data),
                 key="em_table")
    errors = end_model.errors_table(example_table(data, split, pred))
    st.header(f"Errors ({len(errors)})")
    if errors.empty:
        st.success("The end model gets every example of this split right.")
    else:
        st.dataframe(errors[["id", "text", "gold", "end_model", "label_model", "votes"]],
                     hide_index=True, column_config=shared.dataframe_config(data),
                     key="em_errors")
