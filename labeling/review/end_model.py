"""The end-model view: its confusion matrix on test, and the examples behind each cell.

Why recompute predictions: the run stores the end model (``end_model.skops``), not its
per-example predictions; predicting a few hundred texts takes milliseconds, and these
are the same predictions the run scored (same model, same texts).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from labeling.errors import LabelingError
from labeling.export import load_model
from labeling.pipeline import END_MODEL_FILE
from labeling.train.end_model import predict_proba_full


def load_end_model(run_dir: Path):
    """The run's end model (skops, fixed trusted types); LabelingError when absent."""
    path = Path(run_dir) / END_MODEL_FILE
    if not path.is_file():
        raise LabelingError(f"{path}: no end model in this run; run `labeling train`")
    return load_model(path)


def predict(model, run, split: str) -> np.ndarray:
    """(rows x classes) end-model probabilities on ``split``."""
    return predict_proba_full(model, run.frames[split]["text"], len(run.labels))


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
