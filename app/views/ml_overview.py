"""Multi-label overview: sizes, coverage, labels per row, scores overall and per label."""

import altair as alt
import streamlit as st

import ml_shared
import shared
from labeling.review import multilabel
from labeling.review.literal import literal
from labeling.review.next_run import since_run

st.title("Overview")
with shared.guard():
    data = ml_shared.run()
    lm = data.section.get("label_model", {})
    st.caption(f"Multi-label task **{literal(data.config.name)}**, labels "
               f"{', '.join(literal(n) for n in data.labels)}; label model "
               f"{literal(lm.get('name', '?'))}; gold: {literal(data.gold_source)} merged "
               "into dev.")
    sizes = multilabel.dataset_sizes(data)
    cols = st.columns(len(sizes) + 1)
    for col, row in zip(cols, sizes.itertuples()):
        col.metric(f"{row.split} rows", f"{row.rows:,}", help=f"LF coverage {row.coverage:.1%}")
    train = sizes.set_index("split").loc["train"]
    cols[-1].metric("train coverage", f"{train.coverage:.1%}",
                    help="Share of training examples with a vote on at least one label.")
    st.dataframe(sizes, hide_index=True, column_config={
        "coverage": st.column_config.NumberColumn(
            help="Share of rows with a vote on at least one label", format="%.3f"),
        "gold_labels_per_row": st.column_config.NumberColumn(
            help="Mean size of the gold label sets")})
    if data.section.get("end_model", {}).get("stale"):
        st.warning(literal(f"End model: {data.section['end_model']['stale']}"))
    if data.end_proba is None:
        st.info("No stored end-model probabilities match this run (run `labeling train`): "
                "end-model sets are not shown.")

    st.header("Scores on dev and test")
    if since := since_run(ml_shared.store(), data, multi_label=True):
        st.info(literal(since), icon=":material/history:")
    st.dataframe(multilabel.score_table(data.metrics), hide_index=True)
    st.caption("Macro F1: the mean of the per-label F1s; micro F1 pools every (row, label) "
               "decision. Dev rows fit the label and end models and tuned their thresholds, "
               "so dev scores are in-sample; test is the held-out figure.")

    st.header("Per label")
    c1, c2 = st.columns(2)
    split = c1.radio("split", [s for s in ("test", "dev") if s in data.splits], horizontal=True,
                     key="ml_ov_split")
    measure = c2.radio("measure", ["f1", "precision", "recall"], horizontal=True,
                       key="ml_ov_measure")
    table = multilabel.per_label_scores(data.metrics, split, measure)
    st.dataframe(table, hide_index=True)
    long = table.drop(columns=["support"], errors="ignore").melt(
        id_vars="label", var_name="model", value_name=measure)
    st.altair_chart(alt.Chart(long).mark_bar().encode(
        x=alt.X(f"{measure}:Q", scale=alt.Scale(domain=[0, 1])),
        # whole model names (cut at 160 px before), labels in the task's order as in the table
        y=alt.Y("model:N", title=None, axis=shared.every_label_axis()),
        color=alt.Color("model:N", legend=alt.Legend(labelLimit=0)),
        row=alt.Row("label:N", title=None, sort=data.labels),
        tooltip=["label", "model", alt.Tooltip(f"{measure}:Q", format=".3f")]))
