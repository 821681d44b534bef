"""What every step of a multi-label run shares: the run folder's file names, the LFs'
target labels, the gold label sets, and the ``multi_label`` section of metrics.json."""

from __future__ import annotations

import numpy as np
import pandas as pd

from labeling.artifacts import (EMBEDDING_CACHE_DIR, L_FILE, PROBS_FILE, _require,  # noqa: F401
                                read_label_matrices, read_metrics, update_metrics)
from labeling.errors import LabelingError, LFError
from labeling.models.multilabel import indicator, multilabel_scores

LF_ANALYSIS_FILE = "lf_analysis.csv"
END_MODEL_FILE, MODEL_DIR = "end_model.skops", "model"
STALE = "trained before the latest `labeling fit`; run `labeling train` to update it"


def lf_targets(lfs, labels: list[str]) -> np.ndarray:
    """The label index each LF votes on, or a one-line error naming the LF."""
    out = []
    for lf in lfs:
        target = getattr(lf, "target_label", None)
        if target is None:
            raise LFError(f"LF {lf.name}: a multi-label task needs its target label: wrap "
                          "it as for_label(\"<label>\", lf)")
        if target not in labels:
            raise LFError(f"LF {lf.name}: target label {target!r} is not one of the labels "
                          f"({', '.join(labels)})")
        out.append(labels.index(target))
    return np.asarray(out, dtype=int)


def gold(task) -> dict[str, np.ndarray]:
    """``{split: n x k 0/1}`` for the splits with gold label sets (dev, test)."""
    k = len(task.config.labels)
    return {s: indicator(task.splits[s]["label"].tolist(), k) for s in ("dev", "test")
            if task.splits.get(s) is not None and "label" in task.splits[s]}


def load_section(task) -> dict:
    return read_metrics(task.run_dir).get("multi_label") or {"labels": task.config.labels}


def save_section(task, section: dict, step: str, seconds: float) -> dict:
    section["seconds"] = section.get("seconds", {}) | {step: round(seconds, 1)}
    section["notes"] = ("dev scores of label and end models are in-sample (dev gold fit "
                        "them and tuned their thresholds); test is the held-out figure")
    return update_metrics(task.run_dir, multi_label=section)


def frame(task, split: str, columns: dict[str, np.ndarray]) -> pd.DataFrame:
    ids = task.splits[split]["id"]
    index = pd.MultiIndex.from_arrays([[split] * len(ids), ids], names=["split", "id"])
    return pd.DataFrame(columns, index=index)


def label_matrices(task) -> dict[str, np.ndarray]:
    table = pd.read_parquet(_require(task, L_FILE, "apply"))
    if list(table.columns) != [lf.name for lf in task.lfs]:
        raise LabelingError(f"{task.run_dir / L_FILE}: its LFs are not the task's current "
                            "LFs; run `labeling apply` again")
    return read_label_matrices(task, table)


def score_splits(predictions: dict, Y: dict, labels) -> dict:
    return {s: multilabel_scores(Y[s], predictions[s], labels) for s in Y if s in predictions}


def read_probs(task, split: str, prefix: str = "p_") -> np.ndarray:
    """``n x k`` columns ``<prefix><label>`` of probs.parquet for ``split``."""
    table = pd.read_parquet(_require(task, PROBS_FILE, "fit"))
    part = table.xs(split, level="split")
    if list(part.index) != list(task.splits[split]["id"]):
        raise LabelingError(f"{task.run_dir / PROBS_FILE}: does not match the current "
                            f"{split} data (rows added, removed or moved since the apply); "
                            "run `labeling apply` and `labeling fit` again")
    return part[[f"{prefix}{n}" for n in task.config.labels]].to_numpy()
