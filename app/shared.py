"""What every page of the app shares: the project, cached loaders, notes and errors
(the annotation widgets: :mod:`annotating`).

Layout only: the numbers come from :mod:`labeling.review`. Tables are cached with
``st.cache_data`` and the end model and LF objects with ``st.cache_resource``, keyed by
a stamp of the run's files, so a new run is picked up on the next rerun. While a run
writes the folder (:func:`busy`), every page shows the last run loaded before it began
(:class:`_Finished`), not the half-rewritten folder.
"""

from __future__ import annotations

import contextlib
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from labeling.config import load_config
from labeling.data import SPLITS, load_split
from labeling.errors import LabelingError
from labeling.gold import AnnotationStore
from labeling.review import runner
from labeling.review.literal import literal
from labeling.review.project import (NoRunError, annotations_path, gold_drift, lf_drift_note,
                                     lf_files_stamp, load_run, project_settings, run_stamp)


def settings() -> dict:
    return project_settings(sys.argv[1:])


def _key() -> tuple[str, str | None, str]:
    s = settings()
    run_dir = str(s["run_dir"]) if s["run_dir"] else None
    return str(s["project"]), run_dir, run_stamp(s["project"], run_dir)


@st.cache_data(show_spinner="Loading the run…", max_entries=4)
def _run(project: str, run_dir: str | None, stamp: str):
    return load_run(project, run_dir)


@dataclass
class _Finished:
    """A run as loaded while no command wrote its folder: what the pages show while the
    next one does (its end-model predictions once asked, and its gold note)."""

    stamp: str
    data: object
    end_inputs: str  # end_model.inputs_stamp when loaded
    gold: str | None
    end: dict | None = None


@st.cache_resource(show_spinner=False)
def _finished() -> dict:
    """(project, run_dir) -> :class:`_Finished`, shared by every session of the app."""
    return {}


def _writing(project: str, run_dir: str | None) -> str | None:
    return runner.writer(project, run_dir)


class RunGoing(NoRunError):
    """A run writes the folder and the last finished run (:func:`current`: the app shows
    the Run pipeline page alone), or its predictions, are not at hand."""


def current(load):
    """The run ``load(project, run_dir, stamp)`` (single- or multi-label) returns. While a
    run writes the folder: the last one loaded before (:class:`_Finished`), else the
    folder if it loaded whole and unchanged, else :class:`RunGoing`."""
    project, run_dir, stamp = _key()
    last = _finished().get((project, run_dir))
    if _writing(project, run_dir) and last is not None:
        return last.data
    data = load(project, run_dir, stamp)
    fresh = None  # taken before the check below: what the folder held when loaded
    if last is None or last.stamp != stamp:
        from labeling.review.end_model import inputs_stamp
        fresh = _Finished(stamp, data, inputs_stamp(data.run_dir), gold_drift(data))
    if _writing(project, run_dir) and (data.mixed or run_stamp(project, run_dir) != stamp):
        raise RunGoing(f"{runner.run_folder(project, run_dir)}: a run is writing this "
                       "folder; the pages show the run when it has finished")
    if fresh is not None:
        _finished()[(project, run_dir)] = fresh
    return data


def run():
    """The current run (RunData): :func:`current`."""
    return current(_run)


def gold_note(data) -> str | None:
    """:func:`gold_drift` of ``data``; of the last finished run, as it was, while a run
    writes the folder (its annotations_used.json may already be the new run's)."""
    last = _finished().get(_key()[:2])
    return last.gold if last is not None and last.data is data else gold_drift(data)


@st.cache_resource(show_spinner="Loading the end model…", max_entries=2)
def _end_model(run_dir: str, stamp: str):
    from labeling.review.end_model import load_end_model

    return load_end_model(Path(run_dir))


@st.cache_data(show_spinner="Predicting with the end model…", max_entries=4)
def _end_predictions(project: str, run_dir: str | None, stamp: str) -> dict:
    from labeling.review.end_model import all_predictions

    data = _run(project, run_dir, stamp)
    return all_predictions(data, lambda: _end_model(str(data.run_dir), stamp))


def end_model_proba() -> dict:
    """Split -> end-model probabilities (rows x classes); while a run writes the folder,
    the last finished run's, predicted at most once (:class:`RunGoing` when its files
    are already rewritten)."""
    from labeling.review.end_model import all_predictions, inputs_stamp, load_end_model

    project, run_dir, stamp = _key()
    last = _finished().get((project, run_dir))
    if not _writing(project, run_dir):
        proba = _end_predictions(project, run_dir, stamp)
        if last is not None and last.stamp == stamp:
            last.end = proba
        return proba
    if last is not None and last.end is None and inputs_stamp(last.data.run_dir) == last.end_inputs:
        end = all_predictions(last.data, lambda: load_end_model(last.data.run_dir))
        if inputs_stamp(last.data.run_dir) == last.end_inputs:  # not rewritten meanwhile
            last.end = end
    if last is None or last.end is None:
        raise RunGoing(f"{runner.run_folder(project, run_dir)}: a run is writing this folder"
                       + ("" if last is None else " and has replaced the end model's files "
                          "already") + ": the end model's predictions show when it has "
                       "finished (reload the page then)")
    return last.end


def inputs_error() -> str | None:
    """The one line loading the task's config and data files stops with, or None: a page
    that does not load while a run writes the folder may be the run's doing, or these."""
    try:
        config = load_config(settings()["project"])
        for split in SPLITS:
            load_split(config, split)
    except LabelingError as exc:
        return str(exc)
    return None


def end_model_pred() -> dict:
    return {split: p.argmax(axis=1) for split, p in end_model_proba().items()}


@st.cache_resource(show_spinner="Loading the labeling functions…", max_entries=2)
def _lfs(project: str, stamp: str):
    from labeling.lf.loader import load_lfs

    config = load_config(project)
    return load_lfs(config.lfs, config.base_dir)


def _lf_key(project: str, stamp: str) -> str:
    """The LF objects' cache key: the run's stamp and the LF files' modification times."""
    return stamp + "|" + lf_files_stamp(load_config(project))


def lfs():
    project, _, stamp = _key()
    return _lfs(project, _lf_key(project, stamp))


@st.cache_data(show_spinner=False, max_entries=4)
def _drift(_data, project: str, run_dir: str | None, stamp: str,
           lf_key: str) -> tuple[str, list[str]] | None:
    # fingerprinting every LF costs ~1 ms each: once per run and LF-file state, not per
    # rerun (``_data``, single- or multi-label, is not hashed: the stamps identify it)
    return lf_drift_note(_data, _lfs(project, lf_key))


def drift_note(data) -> tuple[str, list[str]] | None:
    """One short line, and its details (what changed, for an expander; may be empty), when
    the run ``data`` mixes two runs' steps (``data.mixed``), else when the task's LFs are
    not the ones it applied (or do not load): old results, said so."""
    if data.mixed:  # first: the run it asks for also brings the LFs' votes up to date
        return data.mixed, []
    project, run_dir, stamp = _key()
    last = _finished().get((project, run_dir))
    if last is not None and last.data is data:  # a run is writing: the last finished one
        stamp = last.stamp
    try:
        return _drift(data, project, run_dir, stamp, _lf_key(project, stamp))
    except Exception as exc:  # noqa: BLE001 -- a broken LF module must not hide the run
        return (f"cannot load the task's LFs ({type(exc).__name__}: {exc}); every page "
                "shows the last run's results."), []


def busy() -> str | None:
    """One line while a command writes the run folder, naming it (never cached: asked
    anew on every rerun, so it goes when that command ends)."""
    project, run_dir, _ = _key()
    if (holder := _writing(project, run_dir)) is None:
        return None
    shown = ("Until it ends, every page shows the last finished run, as it was before this "
             "one began; reload the page when it has finished" if (project, run_dir) in
             _finished() else "The pages show the run when it has finished (reload the page then)")
    return (f"{runner.run_folder(project, run_dir)}: being written by {holder}. {shown}. "
            "Annotations are saved as usual; the run reads them when it starts, so those "
            "given now go to the next run.")


def store() -> AnnotationStore:
    data = run()
    return AnnotationStore(annotations_path(data.config, settings()["annotations"]))


@contextlib.contextmanager
def guard():
    """Show input errors as one line and bugs as one line too (traceback to the terminal)."""
    try:
        yield
    except LabelingError as exc:
        st.error(literal(exc))
    except Exception as exc:  # noqa: BLE001 -- the UI never shows a raw traceback
        traceback.print_exc(file=sys.stderr)
        st.error(f"Unexpected error ({type(exc).__name__}): {literal(exc)}. "
                 "The traceback is in the terminal running the app.")


def show_text(text: str, key: str | None = None) -> None:
    """An example's whole text, as typed, in a read-only text area as tall as the text: a
    disabled area cannot take focus, so a fixed height hid the rest of a long text from
    anyone scrolling with the keyboard (or zoomed in, where it wraps to more lines)."""
    st.text_area("text", text, disabled=True, height="content", key=key)


def every_label_axis(**kwargs):
    """An Altair axis that draws every category's name, whole: by default Vega hides
    every other label when they come close and cuts long ones."""
    import altair as alt

    return alt.Axis(labelOverlap=False, labelLimit=0, **kwargs)


def heatmap_height(rows: int) -> int:
    """Pixels for a heatmap of ``rows`` rows (22 px each) plus its x axis of rotated names."""
    return 22 * rows + 160


def dataframe_config(data, extra: dict | None = None) -> dict:
    """Column config shared by the example tables: probabilities as progress bars."""
    config = {f"p_{n}": st.column_config.ProgressColumn(
        f"p_{n}", help=f"Label-model probability of {literal(n)}", min_value=0.0, max_value=1.0,
        format="%.3f") for n in data.labels}
    config["text"] = st.column_config.TextColumn("text", width="large")
    return config | (extra or {})
