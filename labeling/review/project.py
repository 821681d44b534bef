"""Which task and run the app shows, and loading that run's artifacts into memory.

Why here and not in the app: the app and its tests must agree on how a project is
found (command-line argument, then environment variable, then the current folder)
and on what "no run yet", "stale run" and "broken config" mean; every failure is a
:class:`~labeling.errors.LabelingError` with a one-line message the app shows as is.
"""

from __future__ import annotations

import json
import os
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from labeling.apply.applied import CODE_KEY, differences, fingerprints
from labeling.artifacts import (ANNOTATIONS_USED_FILE, check_gold_unchanged, made_from_another,
                                read_lf_summary)
from labeling.config import TaskConfig, load_config
from labeling.data import SPLITS, load_split
from labeling.errors import LabelingError
from labeling.gold import apply_gold
from labeling.pipeline import (END_MODEL_FILE, L_FILE, METRICS_FILE, MODEL_DIR, PROBS_FILE,
                               SUMMARY_FILE, Task, read_label_matrices, read_metrics,
                               read_probs)

ENV_PROJECT = "LABELING_PROJECT"          # labeling.toml, or the folder holding it
ENV_RUN_DIR = "LABELING_RUN_DIR"          # optional: another run folder of the same task
ENV_ANNOTATIONS = "LABELING_ANNOTATIONS"  # optional: the annotation database file
ANNOTATIONS_FILE = "annotations.sqlite"


class NoRunError(LabelingError):
    """The task has no (complete) run yet: the app offers to run the pipeline."""


def _flag(argv: list[str], name: str) -> str | None:
    for i, arg in enumerate(argv):
        if arg == name and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


def project_settings(argv: list[str] | None = None, env=None) -> dict[str, Path | None]:
    """``project`` (config path or folder), ``run_dir`` and ``annotations`` overrides from
    ``--project/--run-dir/--annotations`` (args after ``streamlit run app.py --``), else
    the ``LABELING_*`` variables; the project defaults to the current folder."""
    argv = list(argv or [])
    env = os.environ if env is None else env
    pick = {key: _flag(argv, f"--{key.replace('_', '-')}") or env.get(var)
            for key, var in (("project", ENV_PROJECT), ("run_dir", ENV_RUN_DIR),
                             ("annotations", ENV_ANNOTATIONS))}
    return {"project": Path(pick["project"] or "."),
            "run_dir": Path(pick["run_dir"]) if pick["run_dir"] else None,
            "annotations": Path(pick["annotations"]) if pick["annotations"] else None}


def annotations_path(config: TaskConfig, override: Path | None = None) -> Path:
    """The annotation database: next to labeling.toml (not in the run folder, which a
    ``make clean`` deletes; annotations are human work)."""
    return Path(override) if override else config.annotations_path


@dataclass
class RunData:
    """A run as the app sees it: config, data, label matrices, probabilities, metrics."""

    config: TaskConfig
    run_dir: Path
    frames: dict[str, pd.DataFrame]      # split -> id, text, label (dev/test), other columns
    L: dict[str, np.ndarray]             # split -> label matrix (rows as in frames)
    probs: dict[str, pd.DataFrame]       # split -> p_<label>, covered, *_pred (index id)
    metrics: dict
    lf_names: list[str]
    summary: pd.DataFrame                # lf_summary.csv, index lf
    moved: dict[str, str] = field(default_factory=dict)  # dev id in the run -> its train id
    mixed: str | None = None  # :func:`mixed_steps` when loaded

    @property
    def labels(self) -> list[str]:
        return self.config.labels

    @property
    def splits(self) -> list[str]:
        return [s for s in SPLITS if s in self.frames]

    def gold(self, split: str) -> np.ndarray | None:
        df = self.frames[split]
        return df["label"].to_numpy() if "label" in df else None

    def proba(self, split: str) -> np.ndarray:
        return self.probs[split][[f"p_{n}" for n in self.labels]].to_numpy()


def load_run(project: Path | str, run_dir: Path | str | None = None,
             merge_annotations: bool = True) -> RunData:
    """Load config, data and a finished run; ``NoRunError`` when there is none yet.

    ``merge_annotations``: apply the annotations the run used as dev gold (its
    ``annotations_used.json``), so the splits match the run whatever was annotated since."""
    config = load_config(project)
    config = config.with_run_dir(run_dir)
    run = config.run_dir
    missing = [f for f in (L_FILE, PROBS_FILE, METRICS_FILE, SUMMARY_FILE)
               if not (run / f).is_file()]
    if missing:  # the step that writes them: probs.parquet is fit's, the others apply's
        step = "fit" if missing == [PROBS_FILE] else "apply"
        raise NoRunError(f"{run}: no finished run of task '{config.name}' "
                         f"(missing {', '.join(missing)}); run `labeling {step}` "
                         "(or `labeling run`)")
    metrics = read_metrics(run)
    if metrics.get("labels") not in (None, list(config.labels)):  # votes are label indices
        raise NoRunError(f"{run / METRICS_FILE}: the run's labels ({', '.join(metrics['labels'])}) "
                         f"are not the config's ({', '.join(config.labels)}), so its votes and "
                         "predictions would show under the wrong names: run the pipeline again")
    frames = {s: df for s in SPLITS if (df := load_split(config, s)) is not None}
    used = run / ANNOTATIONS_USED_FILE
    moved: dict[str, str] = {}
    if merge_annotations and used.is_file():  # exactly the gold the run applied
        record = json.loads(used.read_text(encoding="utf-8"))
        before = frames
        frames, _ = apply_gold(frames, record)
        moved = moved_from_train(before, frames, record)
    task = Task(config, [], dict(frames))
    L = {s: np.asarray(m, dtype=np.int64) for s, m in read_label_matrices(task).items()}
    try:
        probs = {s: read_probs(task, s) for s in frames}
    except KeyError:
        raise LabelingError(f"{run / PROBS_FILE}: lacks a split; run `labeling fit` again") from None
    lf_names = list(pd.read_parquet(run / L_FILE).columns)
    summary = read_lf_summary(run / SUMMARY_FILE)
    return RunData(config, run, frames, L, probs, metrics, lf_names, summary, moved,
                   mixed_steps(config, run_dir))


# the run's steps in order, each with the file it writes from the one before's
STEP_CHAIN = ((L_FILE, "apply"), (PROBS_FILE, "fit"), (END_MODEL_FILE, "train"),
              (f"{MODEL_DIR}/model_card.json", "export"))


def mixed_steps(config: TaskConfig, run_dir: Path | str | None = None) -> str | None:
    """One line when the run folder holds the output of a step made from another version
    of the step before's than the one there now (the link
    :func:`~labeling.artifacts.check_step_order` checks before a step): the LF loop
    (apply and fit alone), or a run stopped or failed half-way, so its first steps are
    new and the later ones the run before's.
    Single- and multi-label runs write the same chain of files; ``config`` has the run
    folder ``run_dir`` (the app's ``--run-dir``, named in the command to run)."""
    run = config.run_dir
    steps = [step for _, step in STEP_CHAIN]
    for i, ((earlier, done), (later, stopped)) in enumerate(zip(STEP_CHAIN, STEP_CHAIN[1:])):
        if made_from_another(run, earlier, later):
            old = steps[i + 1:]
            old = ", ".join(old[:-1]) + f" and {old[-1]}" if len(old) > 1 else old[0]
            again = f"`labeling run {shlex.quote(str(config.source))}" + (
                f" --run-dir {shlex.quote(str(run))}`" if run_dir else "`")
            # the LF loop (`labeling dev`: apply and fit) leaves this too: said as a fact,
            # not as a failure
            return (f"{run}: its {old} results are older than its last `labeling {done}` "
                    f"(`labeling dev` or `labeling {done}` run alone since, or a run stopped "
                    f"or failed at `labeling {stopped}`): the pages show them beside newer "
                    "results they were not made from. Run the pipeline again (Run pipeline "
                    f"page, or {again}) to bring them up to date.")
    return None


def moved_from_train(before: dict, after: dict, record: dict) -> dict[str, str]:
    """The run's dev ids of the annotated train rows :func:`apply_gold` appended to dev
    (in train order, some renamed ``train:<id>``) -> their ids in the train file."""
    train, dev = before.get("train"), after.get("dev")
    if train is None or dev is None:
        return {}
    annotated = train["id"][train["id"].isin(list(record.get("train") or {}))].tolist()
    return dict(zip(dev["id"].iloc[len(dev) - len(annotated):], annotated))


def annotation_key(data, split: str, example_id: str) -> tuple[str, str]:
    """(split, id) under which ``annotations.sqlite`` holds the label of the run's
    example (``data``: a single- or multi-label run, with its ``moved`` map): a dev row the run moved there from train (an annotated train row) is still
    the train row it was annotated as, so the app shows that label and a correction
    replaces it (a dev annotation of it would not be read: the next run moves the row
    again with its train annotation)."""
    if split == "dev" and example_id in data.moved:
        return "train", data.moved[example_id]
    return split, str(example_id)


def stored_labels(store, data, split: str, ids, read=None) -> dict:
    """Run example id -> its annotation for those of ``ids`` in the run's ``split`` that
    have one, each read where :func:`annotation_key` says it lives; ``read``: the store's
    reader (``gold_for``, class indices, by default; ``label_sets_for`` for label sets).
    An annotation given to another text under the id (a data file edited since) is not
    this example's: left out, as the next run leaves it out."""
    read = read or store.gold_for
    frame = data.frames[split]
    text_of = dict(zip(frame["id"].astype(str), frame["text"]))
    keys = {str(i): annotation_key(data, split, str(i)) for i in ids}
    out: dict = {}
    for where in {s for s, _ in keys.values()}:
        wanted = {run_id: i for run_id, (s, i) in keys.items() if s == where}
        texts = {i: text_of[run_id] for run_id, i in wanted.items() if run_id in text_of}
        got = read(data.config.name, where, list(wanted.values()), data.labels, texts)
        out.update({run_id: got[i] for run_id, i in wanted.items() if i in got})
    return out


def lf_files_stamp(config: TaskConfig) -> str:
    """Changes when an LF file named by the config is saved: the app's key for the
    task's LF objects (the run's stamp does not see an edit to an LF)."""
    parts = []
    for entry in config.lfs:
        path = config.resolve(entry)
        parts.append(str(path.stat().st_mtime_ns) if path.is_file() else "-")
    return ":".join(parts)


def lf_drift(data: RunData, lfs) -> str | None:
    """One line when ``lfs`` (the task's LFs now) are not the LFs the run applied:
    an LF edited, added or removed since, so the run's votes, tables and scores are
    not the current LFs'. None when they are the same (by name, and by fingerprint
    where the run recorded one: ``applied_lfs`` in metrics.json; with its build record,
    ``applied_code``, an LF that differs by a labeling upgrade is told from an edit)."""
    note = lf_drift_note(data, lfs)
    return None if note is None else (f"{data.run_dir / L_FILE}: the task's LFs changed "
                                      f"since this run ({'; '.join(note[1])}); every page "
                                      "shows the run's old results. Run the pipeline again "
                                      "(Run pipeline page or `labeling run`).")


def lf_drift_note(data: RunData, lfs) -> tuple[str, list[str]] | None:
    """:func:`lf_drift` for the app's pages: one short line with how many LFs differ
    and the command that fixes it, and what differs (``["changed: a, b", "new: c"]``,
    for an expander: after a labeling upgrade that list names most LFs)."""
    recorded = data.metrics.get("applied_lfs") or dict.fromkeys(data.lf_names)
    now = fingerprints(lfs, data.config)  # once: every page asks, and it reads every LF
    parts = differences(recorded, lfs, data.config, data.metrics.get(CODE_KEY) or {}, now=now)
    if not parts:
        return None
    n = sum(name not in recorded or None not in (fp, recorded[name]) and fp != recorded[name]
            for name, fp in now.items()) + sum(name not in now for name in recorded)
    return (f"{n} of the task's LFs changed since this run (edited, added, removed or "
            "changed by a labeling upgrade): every page shows the run's old results until "
            "you run the pipeline again (`labeling run`, or the Run pipeline page).", parts)


def gold_drift(data) -> str | None:
    """One line when a split's gold in the data files (with the annotations the run
    applied) is not the gold the run's fit or train scored against (``gold_at_fit``,
    ``gold_at_train`` in metrics.json; single- or multi-label ``data``): its scores are
    then the old gold's, as ``labeling evaluate`` would refuse to reprint them."""
    try:  # the frames hold the annotations the run applied: none given "since" it
        record = json.loads((Path(data.run_dir) / ANNOTATIONS_USED_FILE).read_text("utf-8"))
    except (OSError, ValueError):
        record = {}
    try:
        check_gold_unchanged(Task(data.config, [], dict(data.frames), annotation_gold=record),
                             data.metrics)
    except LabelingError as exc:
        return (f"{exc}. Until then every page shows the run's scores against the old "
                "gold (the Run pipeline page runs it).")
    return None


def run_stamp(project: Path | str, run_dir: Path | str | None = None) -> str:
    """Changes whenever a run rewrites its artifacts or a data file is saved: the app's
    cache key (a gold label corrected in a file is then seen by :func:`gold_drift`)."""
    try:
        config = load_config(project)
    except LabelingError:
        return "no-config"
    run = Path(run_dir).resolve() if run_dir else config.run_dir
    files = [run / name for name in ("metrics.json", "probs.parquet", "L.parquet",
                                     "end_model.skops", "end_probs.parquet")]
    files += [config.resolve(path) for path in (config.data.train, config.data.dev,
                                                 config.data.test) if path is not None]
    parts = [str(path.stat().st_mtime_ns) if path.is_file() else "-" for path in files]
    return f"{config.source.stat().st_mtime_ns}:" + ":".join(parts)
