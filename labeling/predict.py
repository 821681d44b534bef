"""Batch prediction with an exported model: texts in, (label, probability) out."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from labeling.data import decode_utf8, read_table
from labeling.errors import DataError
from labeling.export import ExportedModel
from labeling.train.end_model import predict_proba_full

BATCH = 4096


def read_texts(source: str, text_column: str = "text") -> list[str]:
    """Texts from a CSV/TSV/JSONL/Parquet file (its ``text_column``), a .txt file
    (one text per line) or ``-`` (stdin, one text per line)."""
    if source == "-":
        return [line for line in decode_utf8(sys.stdin.buffer.read(), "stdin").splitlines()
                if line.strip()]
    path = Path(source)
    if path.suffix.lower() in (".txt", ""):
        if not path.is_file():
            raise DataError(f"{path}: input file not found")
        return [line for line in decode_utf8(path.read_bytes(), path).splitlines()
                if line.strip()]
    table = read_table(path)
    if text_column not in table.columns:
        raise DataError(f"{path}: no text column '{text_column}' (columns: "
                        f"{', '.join(map(str, table.columns))}); pass --text-column")
    return table[text_column].fillna("").astype(str).tolist()


def predict_texts(exported: ExportedModel, texts: Iterable[str]) -> Iterator[dict]:
    """One dict per text: label, its probability, and every class's probability."""
    labels = exported.labels
    texts = list(texts)
    for start in range(0, len(texts), BATCH):
        batch = texts[start:start + BATCH]
        proba = predict_proba_full(exported.model, batch, len(labels))
        best = proba.argmax(axis=1)
        for text, k, row in zip(batch, best, proba):
            yield {"text": text, "label": labels[k], "probability": float(row[k]),
                   "probabilities": {name: float(p) for name, p in zip(labels, np.round(row, 6))}}


def format_prediction(pred: dict, fmt: str) -> str:
    if fmt == "jsonl":
        return json.dumps(pred, ensure_ascii=False)
    one_line = pred["text"].replace("\t", " ").replace("\n", " ")
    return f"{pred['label']}\t{pred['probability']:.4f}\t{one_line}"
