"""The data side of ``minilm_finetune`` (no torch): tokenizing, merging weighted copies
into soft-target rows, the held-out split and length-grouped batches."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from labeling.llm.minilm import default_model_path

# The gold stage's default learning rate (labeling/train/finetune_gold.py), here, in a
# module without torch, so the model card can name it without importing torch.
DEFAULT_GOLD_LR = 2e-5

PAD_ID = 0  # [PAD] in the MiniLM vocabulary (its tokenizer.json says so too)
CHUNK_BATCHES = 16  # batches per length-sorted chunk: long enough to group by length,
#                     short enough that batch order stays shuffled


def model_dir(model_path: str | None = None) -> Path:
    return Path(model_path) if model_path else default_model_path()


def max_positions(path) -> int:
    """The encoder's position embeddings (config.json of the model folder ``path``; 512
    for MiniLM): the most tokens a text can keep."""
    config = Path(path) / "config.json"
    if not config.is_file():
        raise ValueError(f"minilm_finetune: model_path {str(path)!r}: no config.json there; "
                         "give the folder of a transformers model (the default: the shipped "
                         "MiniLM)")
    return int(json.loads(config.read_text(encoding="utf-8"))
               .get("max_position_embeddings", 512))


def load_tokenizer(path, max_seq_len: int):
    """The fast (Rust) tokenizer of ``path`` (a folder with tokenizer.json, or the file),
    truncating to ``max_seq_len`` tokens and padding each batch to its longest text."""
    from tokenizers import Tokenizer

    path = Path(path)
    tokenizer = Tokenizer.from_file(str(path / "tokenizer.json" if path.is_dir() else path))
    tokenizer.enable_truncation(max_length=int(max_seq_len))
    tokenizer.enable_padding(pad_id=PAD_ID, pad_token="[PAD]")  # to the batch's longest
    return tokenizer


def encode(tokenizer, texts) -> tuple[np.ndarray, np.ndarray]:
    """``(input_ids, attention_mask)``, int64 ``[n, longest]``, for a batch of texts."""
    encodings = tokenizer.encode_batch([str(t) for t in texts])
    ids = np.asarray([e.ids for e in encodings], dtype=np.int64)
    mask = np.asarray([e.attention_mask for e in encodings], dtype=np.int64)
    return ids, mask


def token_lengths(tokenizer, texts) -> np.ndarray:
    """Tokens per text after truncation (not ``len(ids)``: a batch is padded to its longest)."""
    encodings = tokenizer.encode_batch([str(t) for t in texts])
    return np.array([sum(e.attention_mask) for e in encodings], dtype=int)


def merge_rows(texts, y, sample_weight=None):
    """``(texts, soft targets [m, k], weights [m], classes)``: one row per distinct text.

    ``y``: class labels (one weighted copy per row) or an ``(n, k)`` target matrix."""
    texts = [str(t) for t in texts]
    y = np.asarray(y)
    w = np.ones(len(texts)) if sample_weight is None else np.asarray(sample_weight, float)
    if len(w) != len(texts) or len(y) != len(texts):
        raise ValueError(f"texts, y and sample_weight differ in length: {len(texts)}, "
                         f"{len(y)}, {len(w)}")
    if y.ndim == 2:
        classes = np.arange(y.shape[1])
        rows = y.astype(float) * w[:, None]
    else:
        classes, cols = np.unique(y, return_inverse=True)
        rows = np.zeros((len(texts), len(classes)))
        rows[np.arange(len(texts)), cols] = w
    index: dict[str, int] = {}
    for t in texts:
        index.setdefault(t, len(index))
    merged = np.zeros((len(index), len(classes)))
    np.add.at(merged, np.fromiter((index[t] for t in texts), int, len(texts)), rows)
    weight = merged.sum(axis=1)
    keep = weight > 0
    return (np.asarray(list(index), dtype=object)[keep], merged[keep] / weight[keep, None],
            weight[keep], classes)


def split_rows(targets: np.ndarray, fraction: float, rng) -> np.ndarray:
    """A boolean held-out mask: ``fraction`` of each class's rows (by the target's
    argmax), at least one per class that has two or more rows."""
    held = np.zeros(len(targets), dtype=bool)
    if fraction <= 0:
        return held
    top = targets.argmax(axis=1)
    for c in np.unique(top):
        rows = rng.permutation(np.flatnonzero(top == c))
        n = min(len(rows) - 1, max(1, int(round(fraction * len(rows)))))
        held[rows[:max(n, 0)]] = True
    return held


def length_batches(lengths: np.ndarray, batch_size: int, rng) -> list[np.ndarray]:
    """Row batches for one epoch: shuffled rows cut into chunks of ``CHUNK_BATCHES``
    batches, each chunk sorted by length and cut into batches, the batches shuffled."""
    order = rng.permutation(len(lengths))
    batches = []
    for start in range(0, len(order), batch_size * CHUNK_BATCHES):
        chunk = order[start:start + batch_size * CHUNK_BATCHES]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches += [chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]
