"""Running the pipeline from the app, one step at a time, reporting progress.

Why not the CLI in a subprocess: the steps are plain functions; calling them in order
gives the app a progress callback per step and a :class:`LabelingError` (one line) to
show instead of a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from labeling import multilabel_steps, pipeline
from labeling.files import run_folder_lock

STEPS = ("load", "apply", "fit", "train", "export")


def run_pipeline(project: Path | str, on_step: Callable[[int, int, str], None] | None = None,
                 run_dir: Path | str | None = None, annotations: Path | None = None) -> dict:
    """Load the task and run apply, fit, train, export; ``on_step(done, total, next_step)``
    is called before each step and once at the end (next_step ``"done"``). Returns the
    run's metrics. ``annotations``: the store the app writes (``--annotations``), else
    the config's."""
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
    with run_folder_lock(task.run_dir, "run (from the app)"):
        for i, step in enumerate(steps, start=1):
            report(i)
            step()
    report(len(STEPS))
    return pipeline.read_metrics(task.run_dir)


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
