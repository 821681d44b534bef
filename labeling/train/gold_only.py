"""The gold-only baseline: the end models trained on the dev gold alone.

Weak supervision must beat what its own gold labels give without any LF (Zhu et al.,
ACL 2023, "Weaker Than You Think"), so every run reports this baseline next to the
pipeline's model. It is :func:`labeling.train.auto.choose_end_model` with weak weight
0: the same end-model candidates as ``auto`` (by default the TF-IDF + MiniLM average), the
same dev gold rows (``dev_weight`` each), the same stratified folds (same fold maker,
same seeds ``seed + r``), the same metric and, for F1 tasks, the same nested decision
bias. Its ``cv`` is therefore directly comparable to the pipeline's ``cv``; its fitted
model (refit on all dev gold) gives the test score. The TF-IDF features of a gold-only
model are fit on the dev texts alone, in CV and in the refit: no train text is used.

An end model fit once, never cross-validated (``minilm_finetune``), gets its own twin
instead: :func:`fit_once_gold_only`, the same model and params on the dev gold alone,
fit once; it has no ``cv``, only a test score.
"""

from __future__ import annotations

import time

import numpy as np

from labeling.train.auto import (DEFAULT_CANDIDATES, DEFAULT_DEV_WEIGHT, DEFAULT_MIN_GAIN,
                                 DEFAULT_N_REPEATS, choose_end_model)
from labeling.train.end_model import train_end_model
from labeling.train.finetune import schedule_record


def gold_only_baseline(dev_texts, y_dev, cardinality: int, metric: str = "accuracy",
                       pos_label: int = 1, seed: int = 0, cache_dir=None,
                       params: dict | None = None, name: str = "auto",
                       dev_weight: float = DEFAULT_DEV_WEIGHT, n_folds: int = 3,
                       n_repeats: int = DEFAULT_N_REPEATS,
                       min_gain: float = DEFAULT_MIN_GAIN, decision_bias: bool = True,
                       candidates=DEFAULT_CANDIDATES):
    """``(fitted model, {"cv": .., "name": .., "n_dev": .., "cv_scores": {..}})``.

    Pass the options the pipeline's ``choose_end_model`` got (``seed``, ``n_folds``,
    ``n_repeats``, ``metric``, ``pos_label``, ``params``, ``dev_weight``, ``candidates``)
    and the folds, hence the ``cv`` numbers, are the pipeline's. ``name``: ``auto``
    (choose among ``candidates`` by the same rule) or the one model a config names. Only dev is
    passed in: test cannot reach the choice. Raises ``ValueError`` with fewer dev gold
    rows than folds (nothing to cross-validate).
    """
    y_dev = np.asarray(y_dev, dtype=int)
    if len(y_dev) < n_folds:
        raise ValueError(f"the gold-only baseline needs at least {n_folds} dev gold rows, "
                         f"got {len(y_dev)}")
    unused = np.zeros((0, cardinality))  # no weak rows: weak weight 0 never reads them
    model, report = choose_end_model(
        np.zeros(0, dtype=object), unused, np.zeros(0, bool), list(dev_texts), y_dev,
        name=name, label_mode="soft",
        dev_weight=dev_weight, n_folds=n_folds, metric=metric, pos_label=pos_label,
        seed=seed, cache_dir=cache_dir, params=params, min_gain=min_gain,
        n_repeats=n_repeats, decision_bias=decision_bias, weak_weights=(0.0,),
        candidates=candidates)
    return model, {**report["gold_only"], "cv_scores": report["cv_scores"],
                   "decision_bias": report["decision_bias"]}


# How a fit-once end model's gold-only twin was fit (metrics.json ``gold_only.fit``).
FIT_ONCE_KIND = "once, not cross-validated"


def fit_once_gold_only(name: str, dev_texts, y_dev, cardinality: int,
                       params: dict | None = None, dev_weight: float = DEFAULT_DEV_WEIGHT,
                       seed: int = 0, cache_dir=None, progress: bool | None = None):
    """The gold-only twin of an end model fit once (``auto.FIT_ONCE``: ``minilm_finetune``,
    which is never cross-validated: a fit costs minutes): ``(fitted model, report)``.

    The model ``name`` with the same ``params`` (epochs, max_time, gold_epochs/gold_lr...)
    and ``seed``, trained on the dev gold rows alone (weak weight 0: no weak row is
    passed in at all), ``dev_weight`` per gold row as the pipeline's. The fine-tune's
    loss divides the row weights by their mean, so with gold rows alone their common
    weight does not change the fit; ``dev_weight = 0`` (the pipeline kept dev out of its
    end model) trains the twin at weight 1. With ``gold_epochs`` the gold stage then
    trains on every dev row again, as it does in the pipeline. The report records
    ``trained_rows`` (the distinct rows the training loop fed to the network),
    ``held_out_rows`` (early stopping) and ``weak_rows`` (0). No test row is passed in.
    benchmarks/finetune_gold_only.py calls this.
    """
    params = dict(params or {})
    if progress is not None:
        params["progress"] = progress
    y_dev = np.asarray(y_dev, dtype=int)
    if len(y_dev) == 0:
        raise ValueError("the gold-only twin needs dev gold rows")
    weight = float(dev_weight) if dev_weight and dev_weight > 0 else 1.0
    start = time.perf_counter()
    model = train_end_model(None, np.zeros((0, cardinality)), None, name, seed,
                            dev_texts=np.asarray(list(dev_texts), dtype=object), y_dev=y_dev,
                            dev_weight=weight, cache_dir=cache_dir, weak_weight=0.0, **params)
    report = {"name": name, "fit": FIT_ONCE_KIND, "params": params, "seed": int(seed),
              "n_dev": int(len(y_dev)), "dev_weight": weight, "weak_rows": 0,
              "fit_seconds": round(time.perf_counter() - start, 1)}
    for key, attr in (("trained_rows", "trained_rows_"), ("held_out_rows", "held_out_rows_"),
                      ("gold_stage_rows", "gold_trained_rows_")):
        if hasattr(model, attr):
            report[key] = int(len(getattr(model, attr)))
    if hasattr(model, "best_epoch_"):  # and whether max_time cut its epochs
        report.update(schedule_record(model, "its gold-only twin"))
    return model, report
