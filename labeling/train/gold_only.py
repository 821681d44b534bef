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
"""

from __future__ import annotations

import numpy as np

from labeling.train.auto import (DEFAULT_CANDIDATES, DEFAULT_DEV_WEIGHT, DEFAULT_MIN_GAIN,
                                 DEFAULT_N_REPEATS, choose_end_model)


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
