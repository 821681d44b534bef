"""The end-model view: its confusion matrix on test, and the examples behind each cell.

Predictions come from ``end_probs.parquet``, written by ``labeling train`` with the model
(the same predictions the run scored); only a run without that file, or whose data no
longer matches it, predicts again, with the run's embedding cache (predicting 5k+ rows
with MiniLM embeddings takes minutes: the app's first page must not).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from labeling.artifacts import END_PROBS_FILE, read_end_probs
from labeling.errors import LabelingError
from labeling.export import load_model
from labeling.pipeline import EMBEDDING_CACHE_DIR, END_MODEL_FILE, METRICS_FILE
from labeling.train.end_model import embedding_cache, predict_proba_full


def load_end_model(run_dir: Path):
    """The run's end model (skops, fixed trusted types); LabelingError when absent."""
    path = Path(run_dir) / END_MODEL_FILE
    if not path.is_file():
        raise LabelingError(f"{path}: no end model in this run; run `labeling train`")
    return load_model(path)


def inputs_stamp(run_dir: Path) -> str:
    """Changes when a run rewrites what :func:`all_predictions` reads (the model, its
    stored predictions, metrics.json): while a run is going, the app predicts for the
    last finished run only while this is what it was then."""
    parts = []
    for name in (END_MODEL_FILE, END_PROBS_FILE, METRICS_FILE):
        path = Path(run_dir) / name
        parts.append(str(path.stat().st_mtime_ns) if path.is_file() else "-")
    return ":".join(parts)


def predict(model, run, split: str) -> np.ndarray:
    """(rows x classes) end-model probabilities on ``split``."""
    return predict_proba_full(model, run.frames[split]["text"], len(run.labels))


def all_predictions(run, load=None) -> dict:
    """Split -> (rows x classes) end-model probabilities: the stored ones when they match
    the run's data, else predicted with the model ``load()`` returns (default: the run's)."""
    stored = read_end_probs(run.run_dir, run.labels, run.frames)
    if stored is not None:
        return stored
    model = load() if load is not None else load_end_model(run.run_dir)
    with embedding_cache(model, Path(run.run_dir) / EMBEDDING_CACHE_DIR):
        return {split: predict(model, run, split) for split in run.splits}


def confusion(gold: np.ndarray, pred: np.ndarray, labels: list[str]) -> pd.DataFrame:
    """Counts with gold labels as rows and predictions as columns.

    >>> confusion(np.array([0, 1, 1]), np.array([0, 0, 1]), ["ham", "spam"]).values.tolist()
    [[1, 0], [1, 1]]
    """
    k = len(labels)
    counts = np.zeros((k, k), dtype=int)
    np.add.at(counts, (np.asarray(gold), np.asarray(pred)), 1)
    return pd.DataFrame(counts, index=pd.Index(labels, name="gold"),
                        columns=pd.Index(labels, name="predicted"))


def cell_mask(gold: np.ndarray, pred: np.ndarray, labels: list[str],
              gold_label: str | None, pred_label: str | None) -> np.ndarray:
    """Rows in the cell (gold_label, pred_label); None on a side means any label."""
    mask = np.ones(len(gold), dtype=bool)
    if gold_label is not None:
        mask &= np.asarray(gold) == labels.index(gold_label)
    if pred_label is not None:
        mask &= np.asarray(pred) == labels.index(pred_label)
    return mask


def errors_table(table: pd.DataFrame) -> pd.DataFrame:
    """Rows of an example table (with ``gold`` and ``end_model``) the end model got wrong,
    in data order."""
    return table[table["gold"] != table["end_model"]].reset_index(drop=True)
