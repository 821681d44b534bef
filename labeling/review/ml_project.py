"""Loading a multi-label run (``multi_label = true``; docs/multilabel.md) for the app.

Why apart from :mod:`.project`: a multi-label run writes other artifacts (``lf_analysis.csv``
instead of ``lf_summary.csv``; ``probs.parquet`` holds per label the label model's
probability, its decision ``pred_<label>`` and majority vote's ``mv_<label>``; gold is a
set of labels per row), so the single-label loader would call it unfinished. Every table
is checked against the data's ids; a mismatch is a one-line error asking for a new run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from labeling.artifacts import (ANNOTATIONS_USED_FILE, L_FILE, METRICS_FILE, PROBS_FILE,
                                read_end_probs, read_metrics)
from labeling.config import TaskConfig, load_config
from labeling.data import SPLITS, load_split
from labeling.errors import LabelingError
from labeling.gold import AnnotationStore, apply_gold, valid_gold
from labeling.models.multilabel import indicator
from labeling.multilabel_steps import LF_ANALYSIS_FILE
from labeling.review.project import NoRunError, mixed_steps, moved_from_train

ML_FILES = (L_FILE, PROBS_FILE, METRICS_FILE, LF_ANALYSIS_FILE)
APPLIES, DOES_NOT_APPLY, ABSTAIN = 1, 0, -1


@dataclass
class MultiLabelRun:
    """A multi-label run as the app sees it. ``frames[split]["label"]`` holds gold label
    sets (sorted index tuples); matrices below are ``rows x labels`` 0/1 unless noted."""

    config: TaskConfig
    run_dir: Path
    frames: dict[str, pd.DataFrame]     # split -> id, text, label (dev/test: tuples)
    L: dict[str, np.ndarray]            # split -> rows x LFs, votes 1 / 0 / -1
    probs: dict[str, pd.DataFrame]      # split -> p_/pred_/mv_<label> (index id)
    end_proba: dict[str, np.ndarray] | None  # split -> end-model probabilities, or None
    metrics: dict
    lf_names: list[str]
    targets: np.ndarray                 # LF -> the label index it votes on
    analysis: pd.DataFrame              # lf_analysis.csv, as the run wrote it
    gold_source: str                    # where the merged annotations came from
    moved: dict[str, str] = field(default_factory=dict)  # dev id in the run -> its train id
    mixed: str | None = None  # :func:`~labeling.review.project.mixed_steps` when loaded

    @property
    def labels(self) -> list[str]:
        return self.config.labels

    @property
    def splits(self) -> list[str]:
        return [s for s in SPLITS if s in self.frames]

    @property
    def section(self) -> dict:
        return self.metrics.get("multi_label", {})

    def gold(self, split: str) -> np.ndarray | None:
        df = self.frames[split]
        return indicator(df["label"].tolist(), len(self.labels)) if "label" in df else None

    def _columns(self, split: str, prefix: str) -> np.ndarray:
        return self.probs[split][[f"{prefix}{n}" for n in self.labels]].to_numpy()

    def label_model_proba(self, split: str) -> np.ndarray:
        return self._columns(split, "p_").astype(float)

    def label_model_sets(self, split: str) -> np.ndarray:
        return self._columns(split, "pred_").astype(np.int8)

    def majority_vote_sets(self, split: str) -> np.ndarray:
        return self._columns(split, "mv_").astype(np.int8)

    @property
    def end_thresholds(self) -> np.ndarray | None:
        found = self.section.get("end_model", {}).get("thresholds")
        return None if not found else np.array([found[n] for n in self.labels], dtype=float)

    @property
    def label_model_thresholds(self) -> np.ndarray | None:
        found = self.section.get("label_model", {}).get("thresholds")
        return None if not found else np.array([found[n] for n in self.labels], dtype=float)

    def end_sets(self, split: str) -> np.ndarray | None:
        """The end model's decisions (probability >= its per-label threshold), or None."""
        if self.end_proba is None or self.end_thresholds is None:
            return None
        return (self.end_proba[split] >= self.end_thresholds).astype(np.int8)

    def votes(self, split: str, label: int) -> np.ndarray:
        """Rows x (the LFs voting on ``label``)."""
        return self.L[split][:, self.targets == label]

    def lf_applies(self, split: str) -> np.ndarray:
        """1 where at least one LF voted that the label applies."""
        out = np.zeros((len(self.frames[split]), len(self.labels)), dtype=np.int8)
        for c in range(len(self.labels)):
            out[:, c] = (self.votes(split, c) == APPLIES).any(axis=1)
        return out


def _run_ids(table: pd.DataFrame) -> dict[str, list[str]]:
    return {s: list(table.xs(s, level="split").index)
            for s in table.index.get_level_values("split").unique()}


def _as_sets(gold: dict) -> dict:
    """JSON stores tuples as lists: back to tuples (a list would be a row of a matrix)."""
    return {s: {i: tuple(v) if isinstance(v, list) else v for i, v in g.items()}
            for s, g in gold.items()}


def _merged_frames(config: TaskConfig, run: Path, ids: dict[str, list[str]],
                   store: AnnotationStore | None) -> tuple[dict, str, dict[str, str]]:
    """The splits with the annotations the run merged into dev: its record when it left
    one, else the store's current annotations of the rows the run had in dev (train rows
    annotated since the run stay in train, as in the run), else none; where they came
    from; the train rows they moved to dev (:func:`~labeling.review.project.moved_from_train`)."""
    frames = {s: df for s in SPLITS if (df := load_split(config, s)) is not None}
    candidates = []
    used = run / ANNOTATIONS_USED_FILE
    if used.is_file():
        record = json.loads(used.read_text(encoding="utf-8"))
        values = [v for g in record.values() if isinstance(g, dict) for v in g.values()]
        if all(isinstance(v, list) for v in values):  # not a single-label run's record
            candidates.append(("the run's record of annotations", _as_sets(record)))
    if store is not None and store.path.is_file():
        gold = valid_gold(store, config.name, config.labels, multi_label=True,
                          splits=frames)[0]
        still_train = set(ids.get("train", []))
        gold["train"] = {i: v for i, v in gold["train"].items() if i not in still_train}
        candidates.append(("the current annotations", gold))
    candidates.append(("no annotations", {}))
    for source, gold in candidates:
        merged, _ = apply_gold(frames, gold) if any(gold.values()) else (frames, {})
        if all(list(merged[s]["id"]) == ids.get(s) for s in merged):
            return merged, source, moved_from_train(frames, merged, gold)
    raise LabelingError(f"{run / L_FILE}: its rows do not match the data files and "
                        "annotations (the data, or an annotation the run moved from train, "
                        "changed since); run the pipeline again")


def _split_table(table: pd.DataFrame, split: str, ids: list[str], path: Path) -> pd.DataFrame:
    part = table.xs(split, level="split") if split in table.index.get_level_values(
        "split") else None
    if part is None or list(part.index) != ids:
        raise LabelingError(f"{path}: does not match the current {split} data; run the "
                            "pipeline again")
    return part


def load_multilabel_run(project: Path | str, run_dir: Path | str | None = None,
                        annotations: Path | str | None = None) -> MultiLabelRun:
    """Load a finished multi-label run; ``NoRunError`` when there is none yet.

    ``annotations``: the annotation file (default: the config's), used to rebuild the
    run's dev split when the run left no record of the annotations it merged."""
    config = load_config(project)
    if not config.multi_label:
        raise LabelingError(f"{config.source}: not a multi-label task (multi_label = false)")
    config = config.with_run_dir(run_dir)
    run = config.run_dir
    missing = [f for f in ML_FILES if not (run / f).is_file()]
    metrics = read_metrics(run)
    if missing or not metrics.get("multi_label", {}).get("scores"):
        raise NoRunError(f"{run}: no finished multi-label run of task '{config.name}' "
                         f"(missing {', '.join(missing) or 'scores in metrics.json'})")
    table = pd.read_parquet(run / L_FILE)
    lf_names = list(table.columns)
    analysis = pd.read_csv(run / LF_ANALYSIS_FILE)
    if list(analysis["lf"]) != lf_names or not set(analysis["label"]) <= set(config.labels):
        raise NoRunError(f"{run / LF_ANALYSIS_FILE}: its LFs or labels are not the "
                            f"run's ({run / L_FILE}) and the config's; run the pipeline again")
    targets = np.array([config.labels.index(n) for n in analysis["label"]], dtype=int)
    path = Path(annotations) if annotations else config.annotations_path
    store = AnnotationStore(path) if path.is_file() else None
    frames, source, moved = _merged_frames(config, run, _run_ids(table), store)
    L = {s: _split_table(table, s, list(df["id"]), run / L_FILE).to_numpy(dtype=np.int64)
         for s, df in frames.items()}
    probs_table = pd.read_parquet(run / PROBS_FILE)
    wanted = [f"{p}{n}" for p in ("p_", "pred_", "mv_") for n in config.labels]
    if not set(wanted) <= set(probs_table.columns):
        raise NoRunError(f"{run / PROBS_FILE}: not a multi-label run's probabilities (or "
                            "the labels changed); run the pipeline again")
    probs = {s: _split_table(probs_table, s, list(df["id"]), run / PROBS_FILE)
             for s, df in frames.items()}
    end_proba = read_end_probs(run, config.labels, frames)  # None: missing or stale
    return MultiLabelRun(config, run, frames, L, probs, end_proba, metrics, lf_names, targets,
                         analysis, source, moved, mixed_steps(config, run_dir))


def is_multi_label(project: Path | str) -> bool:
    """Whether the project's config declares a multi-label task (config errors raise)."""
    return load_config(project).multi_label
