"""The app while a run writes the run folder: the run started from the app, the pages
others browse meanwhile, and the Run pipeline page itself.

Before: the run went on in the page's script, so opening another page (or closing the
tab) stopped it between two steps; the Run pipeline button was still offered while a run
went; the End model page predicted again from the half-rewritten folder on each step's
rerun; and a data file gone was reported without its "Fix the config" hint whenever the
folder was busy.
"""

from __future__ import annotations

import shutil
import sys
import threading
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from labeling import pipeline
from labeling.config import load_config
from labeling.files import run_folder_holder
from labeling.gold import AnnotationStore
from labeling.review import end_model

sys.path.insert(0, str(Path(__file__).parent))
from test_h112_busy_run import _holder, _release  # noqa: E402 -- a `labeling run` holding it

ENTRY = str(Path(__file__).resolve().parents[1] / "app" / "streamlit_app.py")
GUARD_S = 600  # a bound on waiting for a run thread, never a measure


def _plain(elements) -> list[str]:
    return [e.value.replace("\\", "") for e in elements]


def _cells(at: AppTest) -> list[str]:
    return sorted(b.label for b in at.button if b.key and b.key.startswith("cell-"))


def _wait_until_free(run_dir: Path) -> None:
    deadline = time.monotonic() + GUARD_S
    while run_folder_holder(run_dir) is not None:
        assert time.monotonic() < deadline, "the run never released its folder"
        time.sleep(0.2)


@pytest.fixture
def blocked_train(monkeypatch):
    """pipeline.step_train waits for the returned event: a run stays on its train step."""
    go = threading.Event()
    original = pipeline.step_train

    def step_train(task, *args, **kwargs):
        assert go.wait(GUARD_S)
        return original(task, *args, **kwargs)

    monkeypatch.setattr(pipeline, "step_train", step_train)
    yield go
    go.set()


def test_end_model_page_shows_the_last_finished_run_while_a_run_rewrites_it(
        tiny_app_project, tmp_path, monkeypatch):
    """Between a run's fit and its train the folder holds the new votes and the old end
    model: the page predicted every row again (heavy: MiniLM on a real task) and showed
    the old model's predictions on the new run's rows."""
    config = load_config(tiny_app_project)
    at = AppTest.from_file(ENTRY, default_timeout=60).run()  # the Overview
    at.switch_page("views/end_model.py").run()
    assert not at.exception and not at.error
    before = _cells(at)
    predicted = []
    monkeypatch.setattr(end_model, "predict",
                        lambda *args: predicted.append(args) or pytest.fail("predicted again"))
    proc = _holder(config.run_dir)
    try:
        # a run going: its apply and fit done, with a train row annotated since (it moves
        # to dev, so the stored end-model predictions no longer match the folder's rows)
        store = tmp_path / "annotations.sqlite"
        task = pipeline.load_task(tiny_app_project, store)
        row = task.splits["train"].iloc[0]
        AnnotationStore(store).set(config.name, row["id"], 1, split="train",
                                   label_name="spam", text=row["text"])
        task = pipeline.load_task(tiny_app_project, store)
        pipeline.step_apply(task, progress=False)
        pipeline.step_fit(task)
        at.run()
        assert not at.exception and not at.error, [e.value for e in at.error]
        assert not predicted
        assert _cells(at) == before
        notes = [n for n in _plain(at.info) if "being written" in n]
        assert len(notes) == 1 and "shows the last finished run" in notes[0], notes
        at.run()  # another rerun: nothing computed again either
        assert not predicted and _cells(at) == before
    finally:
        _release(proc)


def test_a_run_started_from_the_app_goes_on_when_the_page_is_left(tiny_app_project,
                                                                 blocked_train):
    """Streamlit stops a page's script when its user opens another page or closes the
    tab (AppTest: a run past its timeout). The run stopped with it, after train and
    before export."""
    run_dir = load_config(tiny_app_project).run_dir
    shutil.rmtree(run_dir / "model")
    at = AppTest.from_file(ENTRY, default_timeout=60).run()
    at.switch_page("views/run.py").run()
    with pytest.raises(RuntimeError, match="timed out"):  # the page is left mid-run
        at.button(key="run_pipeline").click().run(timeout=5)
    blocked_train.set()
    _wait_until_free(run_dir)
    assert (run_dir / "model").is_dir(), "the run stopped with the page"


def test_the_run_button_is_not_offered_while_another_process_runs(tiny_app_project):
    run_dir = load_config(tiny_app_project).run_dir
    proc = _holder(run_dir)
    try:
        at = AppTest.from_file(ENTRY, default_timeout=60).run()
        at.switch_page("views/run.py").run()
        assert not at.exception and not at.error
        assert not [b for b in at.button if b.key == "run_pipeline"]
        going = [n for n in _plain(at.info) if n.startswith("A run is going")]
        assert len(going) == 1 and f"`labeling run` (pid {proc.pid}, since" in going[0]
    finally:
        _release(proc)
    at.run()
    assert at.button(key="run_pipeline")


def test_a_second_click_follows_the_run_going(tiny_app_project, monkeypatch, blocked_train):
    """Two tabs showing the button: the run another one started is followed, named with
    who started it and since when; no second run starts."""
    from labeling.review import runner

    loads = []
    original = pipeline.load_task
    monkeypatch.setattr(pipeline, "load_task", lambda *a, **k: loads.append(a) or original(*a, **k))
    run_dir = load_config(tiny_app_project).run_dir
    other = AppTest.from_file(ENTRY, default_timeout=60).run()
    other.switch_page("views/run.py").run()
    assert other.button(key="run_pipeline")  # shown before the run started
    first, started = runner.start(tiny_app_project, started_by="dana")
    assert started
    other.button(key="run_pipeline").click().run()
    assert not other.exception and not other.error
    assert not [b for b in other.button if b.key == "run_pipeline"]
    going = [n for n in _plain(other.info) if n.startswith("A run is going")]
    assert len(going) == 1 and "started by dana (since " in going[0], going
    assert runner.start(tiny_app_project) == (first, False)
    blocked_train.set()
    assert first.wait(GUARD_S) and first.error is None, first.error
    _wait_until_free(run_dir)
    assert len(loads) == 1
    other.run()
    assert other.button(key="run_pipeline")
    assert any("Run finished" in s.value for s in other.success)
    assert any(c.startswith("Last run from the app: started by dana at ")
               for c in _plain(other.caption))


def test_a_first_run_going_is_not_offered_again(make_task, tmp_path, monkeypatch):
    """No run yet, and one going: the page said 'no finished run ...; run `labeling
    apply`. Run the pipeline to create it.' under a button starting a second one."""
    config = make_task()
    monkeypatch.setenv("LABELING_PROJECT", str(config))
    monkeypatch.setenv("LABELING_ANNOTATIONS", str(tmp_path / "a.sqlite"))
    proc = _holder(load_config(config).run_dir)
    try:
        at = AppTest.from_file(ENTRY, default_timeout=60).run()
        assert not at.exception and not at.error
        assert not [b for b in at.button if b.key == "run_pipeline"]
        assert not any("create it" in n for n in _plain(at.info))
        assert any(n.startswith("A run is going: `labeling run` (pid") for n in _plain(at.info))
    finally:
        _release(proc)


def test_a_broken_data_file_is_reported_with_its_hint_while_busy(tiny_app_project):
    """Before: the hint was hidden whenever a command held the folder."""
    (tiny_app_project.parent / "train.csv").unlink()
    proc = _holder(load_config(tiny_app_project).run_dir)
    try:
        at = AppTest.from_file(ENTRY, default_timeout=60).run()
        assert any("train.csv: data file not found" in e for e in _plain(at.error))
        assert any("Fix the config" in n for n in _plain(at.info))
    finally:
        _release(proc)


def test_a_run_folder_left_half_written_offers_a_new_run(tiny_app_project):
    """A run stopped between apply and fit (an error, a kill): the folder does not load.
    Before: "Fix the config (or point the app at another project ...)", the config being
    fine, and no page to run the pipeline from."""
    import pandas as pd

    run_dir = load_config(tiny_app_project).run_dir
    probs = pd.read_parquet(run_dir / "probs.parquet")
    probs.iloc[1:].to_parquet(run_dir / "probs.parquet")
    at = AppTest.from_file(ENTRY, default_timeout=60).run()
    assert not at.exception
    assert any("does not match the current" in e for e in _plain(at.error))
    assert not any("Fix the config" in n for n in _plain(at.info))
    at.button(key="run_pipeline").click().run(timeout=GUARD_S)  # a bound
    assert any("Run finished" in s.value for s in at.success)
    at.run().switch_page("views/overview.py").run()
    assert not at.exception and not at.error


def test_end_model_page_waits_when_the_run_has_replaced_the_model(tiny_app_project,
                                                                  monkeypatch):
    """The last finished run's predictions never asked for before a run rewrote the end
    model's files: the page says they show when it has finished (it predicted from the
    new files beside the old run's rows)."""
    config = load_config(tiny_app_project)
    at = AppTest.from_file(ENTRY, default_timeout=60).run()
    shared = sys.modules["shared"]  # the app's module, as its pages import it
    (last,) = [f for (project, _), f in shared._finished().items()
               if project == str(tiny_app_project)]
    last.end = None  # as if no page had asked for them yet
    monkeypatch.setattr(end_model, "predict", lambda *args: pytest.fail("predicted"))
    proc = _holder(config.run_dir)
    try:
        probs = config.run_dir / "end_probs.parquet"
        probs.write_bytes(probs.read_bytes())  # train's new file
        at.switch_page("views/end_model.py").run()
        assert not at.exception and not at.error
        assert any("has replaced the end model's files already" in n for n in _plain(at.info))
        assert not _cells(at)
    finally:
        _release(proc)
