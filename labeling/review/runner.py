"""Running the pipeline from the app, one step at a time, reporting progress.

Why not the CLI in a subprocess: the steps are plain functions; calling them in order
gives the app a progress callback per step and a :class:`LabelingError` (one line) to
show instead of a traceback.

Why a thread of its own (:func:`start`): a run called in the page's script went with the
page. Streamlit stops a script at its next call when the user opens another page, clicks
anything or closes the tab, so the run stopped between two steps, its folder half
rewritten, and a second click began another run. A run started here goes on whatever the
pages do; one run folder has one at a time (:class:`AppRun` says who started it, when,
and which step it is on).
"""

from __future__ import annotations

import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from labeling import multilabel_steps, pipeline
from labeling.config import load_config
from labeling.errors import LabelingError
from labeling.files import run_folder_holder, run_folder_lock

STEPS = ("load", "apply", "fit", "train", "export")


def run_pipeline(project: Path | str, on_step: Callable[[int, int, str], None] | None = None,
                 run_dir: Path | str | None = None, annotations: Path | None = None,
                 started_by: str | None = None) -> dict:
    """Load the task and run apply, fit, train, export; ``on_step(done, total, next_step)``
    is called before each step and once at the end (next_step ``"done"``). Returns the
    run's metrics. ``annotations``: the store the app writes (``--annotations``), else
    the config's; ``started_by``: the annotator's name, in the run folder's lock line."""
    def report(i: int) -> None:
        if on_step is not None:
            on_step(i, len(STEPS), STEPS[i] if i < len(STEPS) else "done")

    report(0)
    task = pipeline.load_task(project, annotations)
    task.config = task.config.with_run_dir(run_dir)
    steps = (lambda: pipeline.step_apply(task, progress=False), lambda: pipeline.step_fit(task),
             lambda: pipeline.step_train(task), lambda: pipeline.step_export(task))
    if task.config.multi_label:  # its own steps and artifacts (docs/multilabel.md)
        steps = (lambda: multilabel_steps.step_apply(task),
                 lambda: multilabel_steps.step_fit(task),
                 lambda: multilabel_steps.step_train(task),
                 lambda: multilabel_steps.step_export(task))
    # one writer of a run folder at a time, as `labeling run` (a nightly run may be going)
    with run_folder_lock(task.run_dir, f"run (from the app{_by(started_by)})"):
        for i, step in enumerate(steps, start=1):
            report(i)
            step()
    report(len(STEPS))
    return pipeline.read_metrics(task.run_dir)


def _by(name: str | None) -> str:
    """``", started by dana"`` (a name on one line, without the lock line's backticks)."""
    name = " ".join(str(name or "").replace("`", "'").split())
    return f", started by {name}" if name else ""


def clock(seconds: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(seconds))


@dataclass
class AppRun:
    """A pipeline run started from the app: running in a thread of the app's process
    until ``finished_at``; then ``metrics``, or ``error`` (one line)."""

    run_dir: Path
    started_by: str | None
    started_at: float = field(default_factory=time.time)
    done: int = 0
    step: str = "load"
    finished_at: float | None = None
    metrics: dict | None = None
    error: str | None = None
    thread: threading.Thread | None = field(default=None, repr=False)

    @property
    def running(self) -> bool:
        return self.finished_at is None

    def who(self) -> str:
        """``"`labeling run` from the app, started by dana (since 2026-12-07 18:01:02)"``."""
        return (f"`labeling run` from the app{_by(self.started_by)} (since "
                f"{clock(self.started_at)})")

    def summary(self) -> str:
        """``"started by dana at 2026-12-07 18:01:02, finished at 2026-12-07 18:03:10"``."""
        by = _by(self.started_by).removeprefix(", ")
        return f"{by or 'started'} at {clock(self.started_at)}, {self.where()}"

    def where(self) -> str:
        """``"step 2/5: apply"``."""
        if not self.running:
            return f"finished at {clock(self.finished_at)}"
        return f"step {min(self.done + 1, len(STEPS))}/{len(STEPS)}: {self.step}"

    def wait(self, seconds: float) -> bool:
        """Wait up to ``seconds`` for the run to end; whether it has."""
        if self.thread is not None:
            self.thread.join(seconds)
        return not self.running


_RUNS: dict[Path, AppRun] = {}  # run folder -> the last run started on it in this process
_GUARD = threading.Lock()


def run_folder(project: Path | str, run_dir: Path | str | None = None) -> Path:
    """The run folder the app's runs of ``project`` write (LabelingError: broken config)."""
    return load_config(project).with_run_dir(run_dir).run_dir.resolve()


def last_run(project: Path | str, run_dir: Path | str | None = None) -> AppRun | None:
    """The last run this process started on the run folder (going on or ended)."""
    try:
        folder = run_folder(project, run_dir)
    except LabelingError:
        return None
    return _RUNS.get(folder)


def writer(project: Path | str, run_dir: Path | str | None = None) -> str | None:
    """Who writes the run folder now: a run of this app (also while it loads the task,
    before it holds the lock), else the holder of its lock (another app, a `labeling run`
    in a shell), else None."""
    try:
        folder = run_folder(project, run_dir)
    except LabelingError:
        return None
    run = _RUNS.get(folder)
    if run is not None and run.running:
        return run.who()
    return run_folder_holder(folder)


def start(project: Path | str, run_dir: Path | str | None = None,
          annotations: Path | None = None, started_by: str | None = None) -> tuple[AppRun, bool]:
    """Run the pipeline in a thread of its own, unless a run of this app is going on the
    same run folder: (that run, whether this call started it). Another process holding
    the folder makes the run end at once with its "in use by" line as ``error``."""
    folder = run_folder(project, run_dir)
    with _GUARD:
        current = _RUNS.get(folder)
        if current is not None and current.running:
            return current, False
        run = AppRun(folder, started_by)
        run.thread = threading.Thread(target=_work, args=(run, project, run_dir, annotations),
                                      name="labeling-app-run", daemon=True)
        _RUNS[folder] = run
        run.thread.start()
    return run, True


def _work(run: AppRun, project, run_dir, annotations) -> None:
    def on_step(done: int, total: int, step: str) -> None:
        run.done, run.step = done, step

    try:
        run.metrics = run_pipeline(project, on_step, run_dir, annotations, run.started_by)
    except LabelingError as exc:
        run.error = str(exc)
    except Exception as exc:  # noqa: BLE001 -- shown as one line; the traceback to the terminal
        traceback.print_exc(file=sys.stderr)
        run.error = (f"Unexpected error ({type(exc).__name__}): {exc}. The traceback is in "
                     "the terminal running the app.")
    finally:
        run.finished_at = time.time()


def headline(metrics: dict) -> str:
    """The end model's test score after a run: accuracy, or macro F1 for multi-label;
    without a test split, says so (it said "nan")."""
    section = metrics.get("multi_label")
    if section:
        test = section.get("scores", {}).get("end_model", {}).get("test", {})
        name, value = "macro-F1", test.get("macro_f1")
    else:
        name, value = "accuracy", metrics.get("end_model", {}).get("test", {}).get("accuracy")
    if value is None:  # a task without a test split (dev trained the end model)
        return "no test split, so no held-out score (the overview has the dev CV scores)"
    return f"test {name} of the end model {value:.3f}"
