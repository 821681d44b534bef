"""Overview: sizes, label distributions, scores, label-model confidence."""

import altair as alt
import streamlit as st

import shared
from labeling.review import overview
from labeling.review.literal import literal
from labeling.review.next_run import since_run

st.title("Overview")
with shared.guard():
    data = shared.run()
    label_model = data.metrics.get("label_model", {})
    st.caption(f"Task **{literal(data.config.name)}**, labels "
               f"{', '.join(literal(n) for n in data.labels)}; "
               f"label model {literal(label_model.get('name', '?'))}"
               + (f" (chose {literal(label_model['chosen'])})" if label_model.get("chosen")
                  else ""))
    sizes = overview.dataset_sizes(data)
    cols = st.columns(len(sizes) + 1)
    for col, row in zip(cols, sizes.itertuples()):
        col.metric(f"{row.split} rows", f"{row.rows:,}", help=f"LF coverage {row.coverage:.1%}")
    train = sizes.set_index("split").loc["train"]
    cols[-1].metric("train coverage", f"{train.coverage:.1%}",
                    help="Share of training examples with at least one LF vote.")
    st.dataframe(sizes, hide_index=True, column_config={
        "coverage": st.column_config.NumberColumn(help="Share of rows with at least one vote",
                                                  format="%.3f"),
        "conflict_rate": st.column_config.NumberColumn(help="Share of rows with disagreeing "
                                                       "votes", format="%.3f")})

    st.header("Scores on dev and test")
    if since := since_run(shared.store(), data):  # the run's scores, not the gold's now
        st.info(literal(since), icon=":material/history:")
    st.dataframe(overview.score_table(data.metrics), hide_index=True, column_config={
        c: st.column_config.NumberColumn(c, format="%.3f") for c in ("accuracy", "f1", "macro_f1")})

    budget = overview.gold_budget(data.metrics)
    if budget:
        st.header("Against the dev gold alone")
        if budget["cv_text"]:  # a fit-once model's twin has no CV
            st.write(budget["cv_text"])
        (st.warning if budget["loud"] else st.info)(literal(budget["text"] or ""))
        if budget["worth"]:
            st.write(literal(budget["worth"][0].upper() + budget["worth"][1:]) + ".")
        if budget["curve"] is not None:
            curve = budget["curve"]
            base = alt.Chart(curve).encode(
                x=alt.X("labels:Q", title="dev labels trained on"),
                color=alt.Color("model:N", title=None))
            band = base.mark_area(opacity=0.2).encode(y="min:Q", y2="max:Q")
            line = base.mark_line(point=True).encode(
                y=alt.Y("mean:Q", title=f"{budget['metric']} on the rest of dev",
                        scale=alt.Scale(zero=False)),
                tooltip=["model", "labels", alt.Tooltip("mean:Q", format=".3f"),
                         alt.Tooltip("min:Q", format=".3f"), alt.Tooltip("max:Q", format=".3f")])
            st.altair_chart(band + line, width="stretch")
            st.caption("Each point: models trained on that many dev labels (the pipeline also "
                       "on the weak labels), scored on the dev rows left out; mean and range "
                       "over seeds.")

    st.header("Label distribution: gold vs predicted")
    try:
        end_pred = shared.end_model_pred()
    except Exception as exc:  # noqa: BLE001 -- the distribution is still useful without it
        st.warning(f"End model unavailable: {literal(exc)}")
        end_pred = None
    dist = overview.label_distribution(data, end_pred)
    split = st.radio("split", data.splits, horizontal=True, key="dist_split",
                     index=data.splits.index("test") if "test" in data.splits else 0)
    part = dist[dist["split"] == split]
    # the shares of a source sum to 1 (or less, with abstains): a 0-100% axis, never the
    # 110% Vega rounds a sum of 1.001 (3-digit shares) up to
    st.altair_chart(alt.Chart(part).mark_bar().encode(
        x=alt.X("share:Q", title="share of the split", axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, 1], clamp=True)),
        y=alt.Y("source:N", title=None, sort=list(dict.fromkeys(part["source"])),
                axis=shared.every_label_axis()),
        color=alt.Color("label:N", sort=data.labels),
        tooltip=["source", "label", "count", alt.Tooltip("share:Q", format=".3f")]),
        width="stretch")

    st.header("Label-model confidence (train)")
    hist = overview.confidence_histogram(data, "train")
    long = hist.melt(id_vars="bin", var_name="rows", value_name="count")
    st.altair_chart(alt.Chart(long).mark_bar().encode(
        x=alt.X("bin:N", title="top probability", sort=None), y=alt.Y("count:Q", stack=True),
        color=alt.Color("rows:N", title="LF votes"), tooltip=["bin", "rows", "count"]),
        width="stretch")
    st.caption("Uncovered rows (no LF voted) get the class prior; the end model is trained "
               "on covered rows only.")
