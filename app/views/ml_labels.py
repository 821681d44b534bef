"""Per label: its LFs' coverage and conflicts, the LF table, and conflicting LF pairs."""

import altair as alt
import streamlit as st

import ml_shared
import shared
from labeling.review import multilabel
from labeling.review.literal import literal

st.title("Per label")
with shared.guard():
    data = ml_shared.run()
    split = st.radio("split", data.splits, horizontal=True, key="ml_lab_split")
    stats = multilabel.label_stats(data, split)
    st.dataframe(stats, hide_index=True, key="ml_lab_stats", column_config={
        "lfs": st.column_config.NumberColumn(help="LFs voting on this label"),
        "coverage": st.column_config.ProgressColumn(
            help="Share of rows with a vote on this label", min_value=0.0, max_value=1.0,
            format="%.3f"),
        "votes_applies": st.column_config.NumberColumn(
            help="Share of rows where an LF says the label applies", format="%.3f"),
        "votes_not": st.column_config.NumberColumn(
            help="Share of rows where an LF says the label does not apply", format="%.3f"),
        "conflict": st.column_config.NumberColumn(
            help="Share of rows where one LF says applies and another does not", format="%.3f"),
        "threshold": st.column_config.NumberColumn(
            help="The label model's decision threshold, tuned on dev", format="%.3f")})
    long = stats.melt(id_vars="label", value_vars=["coverage", "conflict"], var_name="measure",
                      value_name="share")
    st.altair_chart(alt.Chart(long).mark_bar().encode(
        x=alt.X("share:Q", axis=alt.Axis(format="%")),
        y=alt.Y("label:N", title=None, sort=data.labels),  # the table's order, not a-z
        color="measure:N", yOffset="measure:N",
        tooltip=["label", "measure", alt.Tooltip("share:Q", format=".3f")]), width="stretch")

    st.header("LFs")
    label = st.selectbox("label", ["(all)"] + data.labels, key="ml_lab_label")
    st.dataframe(multilabel.lf_table(data, None if label == "(all)" else label),
                 hide_index=True, key="ml_lab_lfs")
    st.caption("From lf_analysis.csv: train coverage, overlaps and conflicts with the other "
               "LFs on the same label; dev precision and recall of the LF's \"applies\" votes.")

    st.header("Conflicting LF pairs")
    pairs = multilabel.conflict_pairs(data, split)
    if pairs.empty:
        st.info(f"No two LFs on the same label contradict each other on {split} (one "
                "saying the label applies, the other that it does not).")
    else:
        st.dataframe(pairs, hide_index=True, key="ml_lab_pairs")
        pick = st.selectbox("pair", range(len(pairs)), key="ml_lab_pair", format_func=lambda i: (
            f"{pairs.label[i]}: {pairs.lf_a[i]} vs {pairs.lf_b[i]} ({pairs.rows[i]} rows)"))
        row = pairs.iloc[pick]
        heat = multilabel.pair_conflicts(data, row.label, split)
        cells = heat.reset_index(names="lf_a").melt(id_vars="lf_a", var_name="lf_b",
                                                    value_name="share")
        st.altair_chart(alt.Chart(cells).mark_rect().encode(
            x="lf_b:N", y="lf_a:N", color=alt.Color("share:Q", scale=alt.Scale(scheme="reds")),
            tooltip=["lf_a", "lf_b", alt.Tooltip("share:Q", format=".3f")]), width="stretch")
        mask = multilabel.disagreement_mask(data, split, row.lf_a, row.lf_b)
        table = multilabel.example_table(data, split)[mask]
        st.caption(literal(f"{int(mask.sum())} {split} examples where {row.lf_a} and "
                           f"{row.lf_b} disagree on {row.label}"))
        st.dataframe(table, hide_index=True, key="ml_lab_disagree",
                     column_config={"text": st.column_config.TextColumn("text", width="large")})
