"""The optional second stage of ``minilm_finetune``: more epochs on the dev gold rows alone.

The first stage trains on the weak rows and the gold rows together (as every end model
does). With ``gold_epochs > 0`` the fitted network then trains ``gold_epochs`` more
epochs on the gold rows alone at ``gold_lr`` (one rate for encoder and head, linear
warm-up over ``warmup`` of the steps then decay to 0, no held-out rows, no early
stopping): the "weak first, clean last" recipe. Chosen on trec's dev rows only
(docs/finetune.md, "Combining weak and gold rows on trec"), where the weak labels are
~0.65 accurate and make ~76% of the first stage's weight.
"""

from __future__ import annotations

import math
import time
from types import SimpleNamespace

import numpy as np
import torch

from labeling.train import finetune_net
from labeling.train.finetune_data import merge_rows


def check_gold_stage(gold_epochs, gold_lr) -> None:
    """One-line errors for bad ``gold_epochs`` (an integer >= 0) / ``gold_lr`` (> 0)."""
    if isinstance(gold_epochs, bool) or not isinstance(gold_epochs, (int, np.integer)) \
            or gold_epochs < 0:
        raise ValueError(f"minilm_finetune: gold_epochs must be an integer >= 0 (epochs on "
                         f"the dev gold rows alone after the first stage), got {gold_epochs!r}")
    if isinstance(gold_lr, bool) or not isinstance(gold_lr, (int, float)) \
            or not math.isfinite(gold_lr) or gold_lr <= 0:
        raise ValueError(f"minilm_finetune: gold_lr must be a number > 0, got {gold_lr!r}")


def gold_rows(X, y, sample_weight, gold, classes):
    """``(texts, targets [m, len(classes)], weights [m])``: the rows of ``X`` the boolean
    mask ``gold`` marks, merged one row per text (:func:`merge_rows`: a text given twice
    weighs twice), columns in ``classes`` order."""
    gold = np.asarray(gold, dtype=bool)
    if len(gold) != len(X):
        raise ValueError(f"minilm_finetune: gold has {len(gold)} entries for {len(X)} rows")
    if not gold.any():
        raise ValueError("minilm_finetune: gold_epochs > 0 needs dev gold rows (the second "
                         "stage trains on them alone); give dev rows or set gold_epochs = 0")
    w = np.ones(len(gold)) if sample_weight is None else np.asarray(sample_weight, float)
    texts, targets, weights, own = merge_rows(np.asarray(X, dtype=object)[gold],
                                        np.asarray(y)[gold], w[gold])
    full = np.zeros((len(texts), len(classes)))
    full[:, np.searchsorted(classes, own)] = targets
    return texts, full, weights


def train_on_gold(est, texts, targets, weights) -> tuple[dict, list, np.ndarray]:
    """``(state dict as NumPy arrays, per-epoch records, mask of the rows of ``texts``
    the loop trained on)``: ``est``'s fitted network
    trained ``est.gold_epochs`` more epochs on ``texts``/``targets`` (relative
    ``weights``: the training loop divides by their mean),
    seeded from ``est.seed`` (torch's RNG forked, the caller's stream left alone)."""
    stage = SimpleNamespace(batch_size=est.batch_size, epochs=int(est.gold_epochs),
                            lr=float(est.gold_lr), head_lr=float(est.gold_lr),
                            weight_decay=est.weight_decay, warmup=est.warmup, max_time=None,
                            patience=1, predict_batch_size=est.predict_batch_size,
                            OUTPUT=est.OUTPUT)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(est.seed))
        net = est.torch_module()
        net.train()
        history, _, trained = finetune_net.train(
            net, est.tokenizer(), np.asarray(texts, dtype=object), targets,
            np.asarray(weights, float), np.zeros(len(texts), dtype=bool), stage,
            np.random.default_rng(int(est.seed)), time.perf_counter())
    state = {name: value.detach().numpy().copy() for name, value in net.state_dict().items()}
    return state, [{"stage": "gold", **record} for record in history], trained
