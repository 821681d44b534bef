"""The app on a run folder in the middle of a run, or left there by a run that stopped.

Before: a run from the Run pipeline page that failed (or was stopped) at a step left the
folder with its first steps new and the later ones the run before's, and every page
showed them together as one run; the multi-label pages read the folder half rewritten
while a run went (the single-label ones showed the last finished run); and an app opened
for the first time while a run went showed the folder half rewritten, single- and
multi-label alike.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from labeling import multilabel_steps, pipeline
from labeling.config import load_config
from labeling.errors import LabelingError

sys.path.insert(0, str(Path(__file__).parent))
from test_h92_multilabel_team import ml_run, project  # noqa: E402,F401 -- a multi-label run
from test_h112_busy_run import _holder, _release  # noqa: E402 -- a `labeling run` holding it

ENTRY = str(Path(__file__).resolve().parents[1] / "app" / "streamlit_app.py")
GUARD_S = 600  # a bound on waiting for a run, never a measure
PAGES = ("overview", "lfs", "conflicts", "slices", "example", "end_model", "suggest",
         "annotate", "run")
ML_PAGES = ("ml_overview", "ml_labels", "ml_examples", "ml_example", "ml_annotate", "run")
MIXED = "results are older than its last `labeling "


def _plain(elements) -> list[str]:
    return [e.value.replace("\\", "") for e in elements]


def _mixed(at: AppTest) -> list[str]:
    return [w for w in _plain(at.warning) if MIXED in w]


def _busy(at: AppTest) -> list[str]:
    return [n for n in _plain(at.info) if "being written by" in n]


def _open(timeout: int = 60) -> AppTest:
    at = AppTest.from_file(ENTRY, default_timeout=timeout).run()
    assert not at.exception, at.exception
    return at


def _page(at: AppTest, name: str) -> AppTest:
    at.switch_page(f"views/{name}.py").run()
    assert not at.exception, (name, at.exception)
    errors = [e for e in _plain(at.error) if not e.startswith("The run started at")]
    assert not errors, (name, errors)  # (the Run pipeline page says how the last run ended)
    return at


def _other_votes(config: Path, lfs: str = "lfs.py", old: str = ">= 6",
                 new: str = ">= 4") -> None:
    """Edit an LF so that the next apply writes other votes."""
    path = config.parent / lfs
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


@pytest.mark.parametrize("step", ["fit", "train", "export"])
def test_a_run_that_failed_at_a_step_says_on_every_page_the_folder_mixes_runs(
        tiny_app_project, monkeypatch, step):
    _other_votes(tiny_app_project)
    original, failing = getattr(pipeline, f"step_{step}"), [True]

    def fail(*args, **kwargs):
        if failing:
            raise LabelingError(f"{step} failed here")
        return original(*args, **kwargs)

    monkeypatch.setattr(pipeline, f"step_{step}", fail)
    at = _open()
    assert not _mixed(at)  # a whole run
    _page(at, "run").button(key="run_pipeline").click().run(timeout=GUARD_S)  # a bound
    assert any(f"stopped at its {step} step: {step} failed here" in e for e in _plain(at.error))
    for page in PAGES:
        _page(at, page)
        notes = _mixed(at)
        assert len(notes) == 1, (page, _plain(at.warning))
        assert f"a run stopped or failed at `labeling {step}`)" in notes[0], notes
        assert f"`labeling run {tiny_app_project}`" in notes[0], notes
        assert "Run the pipeline again" in notes[0]
    failing.clear()  # the run again makes it whole
    _page(at, "run").button(key="run_pipeline").click().run(timeout=GUARD_S)
    assert any("Run finished" in s.value for s in at.success)
    for page in PAGES:
        assert not _mixed(_page(at, page)), page


def test_a_whole_run_after_a_refit_alone_names_train(tiny_app_project):
    """`labeling fit` alone after an apply (the CLI's LF loop): the end model is the
    run before's; the pages say so rather than pairing its scores with the new fit's."""
    _other_votes(tiny_app_project)
    task = pipeline.load_task(tiny_app_project)
    pipeline.step_apply(task, progress=False)
    pipeline.step_fit(task)
    at = _open()
    (note,) = _mixed(at)
    assert "its train and export results are older than its last `labeling fit`" in note


# --- multi-label ----------------------------------------------------------------------

def _ml_apply_other_votes(config: Path) -> None:
    """A multi-label run's apply with an LF edited: L.parquet new, its fit not run."""
    _other_votes(config, "extra_lfs.py", '"but", "not", ', "")
    multilabel_steps.step_apply(pipeline.load_task(config))


def _metrics(at: AppTest) -> list[tuple[str, str]]:
    return [(m.label, m.value) for m in at.metric]


def test_a_multilabel_run_stopped_after_apply_says_so_on_every_page(project):
    _ml_apply_other_votes(project)
    at = _open(120)
    for page in ML_PAGES:
        notes = _mixed(_page(at, page))
        assert len(notes) == 1, (page, _plain(at.warning))
        assert "a run stopped or failed at `labeling fit`)" in notes[0], notes


def test_multilabel_pages_show_the_last_finished_run_while_a_run_writes(project):
    at = _open(120)
    before = _metrics(at)
    proc = _holder(load_config(project).run_dir)
    try:
        _ml_apply_other_votes(project)  # the run's apply done, its fit not yet
        at.run()
        assert not at.exception and not at.error, _plain(at.error)
        (note,) = _busy(at)
        assert "every page shows the last finished run" in note, note
        assert _metrics(at) == before  # the old run's coverage, not the new votes'
        assert not _mixed(at)  # not the folder half rewritten
        for page in ML_PAGES:
            assert not _mixed(_page(at, page)), page
    finally:
        _release(proc)
    at.run()  # the "run" ended there: the folder as it is now
    assert not _busy(at) and _mixed(at)


# --- an app opened while a run goes ---------------------------------------------------

def test_an_app_opened_while_a_run_is_past_its_apply_waits_for_it(tiny_app_project):
    proc = _holder(load_config(tiny_app_project).run_dir)
    try:
        _other_votes(tiny_app_project)
        pipeline.step_apply(pipeline.load_task(tiny_app_project), progress=False)
        at = _open()
        assert not at.error, _plain(at.error)
        assert not _mixed(at) and not [t for t in at.title if t.value == "Overview"]
        (note,) = _busy(at)
        assert "The pages show the run when it has finished" in note, note
        assert any(n.startswith("A run is going") for n in _plain(at.info))
    finally:
        _release(proc)
    at.run()  # ended (here: stopped after its apply): the folder, saying what it is
    assert not _busy(at) and len(_mixed(at)) == 1


def test_an_app_opened_before_a_run_rewrites_anything_shows_the_run(tiny_app_project):
    """A run still loading the task (or applying the LFs): the folder is the last run,
    whole, and stays what the pages show once the run rewrites it."""
    proc = _holder(load_config(tiny_app_project).run_dir)
    try:
        at = _open()
        assert [t for t in at.title if t.value == "Overview"] and not at.error
        (note,) = _busy(at)
        assert "every page shows the last finished run" in note
        before = _metrics(at)
        _other_votes(tiny_app_project)
        pipeline.step_apply(pipeline.load_task(tiny_app_project), progress=False)
        at.run()
        assert _metrics(at) == before and not _mixed(at) and not at.error
    finally:
        _release(proc)


def test_a_multilabel_app_opened_while_a_run_is_past_its_apply_waits_for_it(project):
    proc = _holder(load_config(project).run_dir)
    try:
        _ml_apply_other_votes(project)
        at = _open(120)
        assert not at.error and not _mixed(at), _plain(at.error)
        (note,) = _busy(at)
        assert "The pages show the run when it has finished" in note, note
    finally:
        _release(proc)


def test_no_stale_no_run_note_after_a_run_made_elsewhere(make_task, tmp_path, monkeypatch):
    """A task without a run, run from a shell meanwhile: the Run pipeline page kept
    saying there was no finished run and to run the pipeline to create it."""
    config = make_task()
    monkeypatch.setenv("LABELING_PROJECT", str(config))
    monkeypatch.delenv("LABELING_RUN_DIR", raising=False)
    monkeypatch.setenv("LABELING_ANNOTATIONS", str(tmp_path / "a.sqlite"))
    at = _open()
    assert any("create it" in n for n in _plain(at.info))
    pipeline.run(pipeline.load_task(config), progress=False)
    at.run()
    _page(at, "run")
    assert not any("create it" in n for n in _plain(at.info)), _plain(at.info)
