"""LF suggestions in the app: the same code as ``labeling suggest``, as plain functions.

The page (app/views/suggest.py) lists the proposals with their dev numbers and examples
and has Accept / Reject buttons; accepting writes the LF into the task's
``<task>_suggested.py`` exactly as the CLI does (docs/suggest.md).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from labeling import pipeline
from labeling.suggest import accept, reject, suggest_for_task
from labeling.suggest.show import frame


def load_task(project: Path | str, run_dir: Path | str | None = None,
              annotations: Path | None = None) -> pipeline.Task:
    """The task as the app's runs see it: its run folder and annotation store."""
    task = pipeline.load_task(project, annotations)
    task.config = task.config.with_run_dir(run_dir)
    return task


def propose(project: Path | str, run_dir: Path | str | None = None, label: str | None = None,
            n: int = 10, embeddings: bool = True,
            annotations: Path | None = None) -> tuple[pd.DataFrame, dict[str, int]]:
    """(the ranked proposals as :func:`labeling.suggest.show.frame` gives them, how many
    were left out per reason). Offline sources only: the app makes no paid call.
    ``annotations``: the app's store (``--annotations``), else the config's."""
    task = load_task(project, run_dir, annotations)
    result = suggest_for_task(task, n=n, label=label, embeddings=embeddings)
    reasons: dict[str, int] = {}
    for d in result.dropped:
        why = d["why"].split(" (")[0].split(":")[0]
        reasons[why] = reasons.get(why, 0) + 1
    return frame(result, task.config.labels), reasons


def accept_one(project: Path | str, proposal_id: str, run_dir: Path | str | None = None,
               annotations: Path | None = None) -> str:
    """Append the proposal's LF to the task's suggested-LF module; a one-line summary."""
    name, entry = accept(load_task(project, run_dir, annotations), proposal_id)
    return f"LF {name} appended to {entry}; run the pipeline to apply it"


def reject_one(project: Path | str, proposal_id: str, run_dir: Path | str | None = None,
               annotations: Path | None = None) -> str:
    rec = reject(load_task(project, run_dir, annotations), proposal_id)
    return f"rejected {rec['what']}: it will not be proposed again"
