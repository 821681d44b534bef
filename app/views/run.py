"""Run pipeline: apply, fit, train and export from the app, with progress.

The run goes on in a thread of the app's process (:func:`runner.start`): the page follows
it, and leaving the page (or closing the tab) no longer stops it. While any command
writes the run folder the button is not offered: the page names the writer instead.
"""

import streamlit as st

import annotating
import shared
from labeling.review import runner
from labeling.review.literal import literal


def result(run: runner.AppRun) -> None:
    if run.error is not None:
        st.error(literal(f"The run started at {runner.clock(run.started_at)} stopped at "
                         f"its {run.step} step: {run.error}"))
        return
    st.success(f"Run finished: {literal(runner.headline(run.metrics))}. "
               "Reload the page (or click below) to see it.")
    st.button("Show the run", key="show_run")


def follow(run: runner.AppRun) -> None:
    """Progress until the run ends (a page left stops this loop, not the run)."""
    bar = st.progress(0.0, text="starting…")
    while not run.wait(0.5):
        bar.progress(run.done / len(runner.STEPS), text=run.where())
    bar.progress(1.0, text="done" if run.error is None else "stopped")
    st.session_state.pop("no_run_message", None)
    result(run)


@st.fragment(run_every=2)
def watch(run: runner.AppRun) -> None:
    """Another session's run, shown every 2 s; when it ends, the whole app reruns once
    (the pages then load the new run)."""
    if run.running:
        st.progress(run.done / len(runner.STEPS), text=run.where())
    elif st.session_state.pop("run_watched", None) == id(run):
        st.rerun()


st.title("Run the pipeline")
project = shared.settings()["project"]
run_dir = shared.settings()["run_dir"]
last = runner.last_run(project, run_dir)
writer = runner.writer(project, run_dir)
# set anew on each rerun that finds no run (streamlit_app.py): a run made since, from
# another process, leaves no stale "Run the pipeline to create it" behind
message = st.session_state.pop("no_run_message", None)
if message and writer is None:  # (a run going: what it lacks is what it is writing)
    st.info(f"{literal(message)}. Run the pipeline to create it.")
st.caption(f"Project {literal(project)}: applies the LFs, fits the label model, trains and exports "
           "the end model (the bundled YouTube task takes about a minute and a half). "
           "The run goes on when you open another page.")
with shared.guard():
    clicked = writer is None and st.button("Run the pipeline", type="primary",
                                           key="run_pipeline")
    if clicked:
        last, started = runner.start(project, run_dir, shared.settings()["annotations"],
                                     annotating.annotator())
        if not started:  # another tab clicked first
            st.info(literal(f"Not started: {last.who()} is going; following it."))
        follow(last)
    elif writer is not None:
        st.info(literal(f"A run is going: {writer}. No other run starts until it has "
                        "finished."),
                icon=":material/hourglass_top:")
        if last is not None and last.running:
            st.session_state["run_watched"] = id(last)
            watch(last)
        else:  # another process: no progress to show
            st.button("Check again", key="run_check")
    elif last is not None:
        st.caption(literal(f"Last run from the app: {last.summary()}."))
        result(last)
