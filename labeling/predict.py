"""Batch prediction with an exported model: texts in, (label, probability) out.

The hot path (``write_predictions``) predicts a batch at once, on the exact fast
TF-IDF path for the sklearn runtime (labeling.export.fast_tfidf), and formats the
batch as one string: no dict per row unless the output is JSONL.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TextIO

import numpy as np

from labeling.data import decode_utf8, read_table
from labeling.errors import DataError
from labeling.export import ExportedModel

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


def _row(text: str, labels: list[str], rounded: list[float], k: int, p: float) -> dict:
    return {"text": text, "label": labels[k], "probability": p,
            "probabilities": dict(zip(labels, rounded))}


def _one_line(text: str) -> str:
    return text.replace("\t", " ").replace("\n", " ")


def format_batch(texts: list[str], proba: np.ndarray, labels: list[str], fmt: str) -> str:
    """The output lines of a batch, each ending in a newline: ``label<TAB>probability<TAB>text``
    (tsv; tabs and newlines in the text become spaces) or one JSON object per line (jsonl:
    text, label, probability, and every label's probability rounded to 6 decimals)."""
    if not texts:
        return ""
    best = proba.argmax(axis=1)
    top = proba[np.arange(len(texts)), best].tolist()
    if fmt == "jsonl":
        dumps = json.dumps
        lines = [dumps(_row(t, labels, r, k, p), ensure_ascii=False)
                 for t, r, k, p in zip(texts, np.round(proba, 6).tolist(), best.tolist(), top)]
    else:
        names = [labels[k] for k in best.tolist()]
        lines = [f"{name}\t{p:.4f}\t{_one_line(t)}" for name, p, t in zip(names, top, texts)]
    return "\n".join(lines) + "\n"


def write_predictions(exported: ExportedModel, texts: list[str], out: TextIO,
                      fmt: str = "tsv") -> int:
    """Predict ``texts`` batch by batch and write one line per text to ``out``."""
    for start in range(0, len(texts), BATCH):
        batch = texts[start:start + BATCH]
        out.write(format_batch(batch, exported.predict_proba(batch), exported.labels, fmt))
    return len(texts)
