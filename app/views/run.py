"""Run pipeline: apply, fit, train and export from the app, with progress."""

import streamlit as st

import shared
from labeling.review.literal import literal
from labeling.review.runner import headline, run_pipeline

st.title("Run the pipeline")
message = st.session_state.get("no_run_message")
if message:
    st.info(f"{literal(message)}. Run the pipeline to create it.")
project = shared.settings()["project"]
run_dir = shared.settings()["run_dir"]
st.caption(f"Project {literal(project)}: applies the LFs, fits the label model, trains and exports "
           "the end model (the bundled YouTube task takes about a minute and a half).")
if st.button("Run the pipeline", type="primary", key="run_pipeline"):
    bar = st.progress(0.0, text="starting…")

    def on_step(done, total, step):
        bar.progress(done / total, text=f"step {min(done + 1, total)}/{total}: {step}"
                     if step != "done" else "done")

    with shared.guard(), st.spinner("Running…"):
        metrics = run_pipeline(project, on_step, run_dir, shared.settings()["annotations"])
        st.session_state.pop("no_run_message", None)
        st.cache_data.clear()
        st.success(f"Run finished: {headline(metrics)}. "
                   "Reload the page (or click below) to see it.")
        st.button("Show the run", key="show_run")
