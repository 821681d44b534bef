"""``minilm_finetune`` for multi-label tasks: MiniLM fine-tuned with ``k`` sigmoid outputs.

The single-label fine-tune (:mod:`labeling.train.finetune`) with a different output and
loss, sharing its network, training loop, budget, seeding, progress bar and export:

- **Output.** The same encoder -> mean pooling -> dropout -> linear head, with ``k``
  independent sigmoid outputs (one probability per label; rows do not sum to 1), trained
  with binary cross-entropy against per-label soft targets in [0, 1] (per row, the sum
  of the ``k`` labels' losses, each at the row's weight, as ``k`` frozen heads would be).
- **Rows.** ``fit(texts, Y, sample_weight, gold)``: ``Y`` is ``n x k`` (the label model's
  probabilities for weak rows, 0/1 for gold rows); ``gold`` marks the rows whose targets
  are gold (None: all). In a run (:func:`task_rows`) the weak rows and dev gold rows are
  weighted as the multi-label frozen heads weigh them (:mod:`labeling.train.multilabel`):
  every dev row at ``gold_weight`` (5), the weak rows scaled by
  :func:`~labeling.train.end_model.weak_scale` (default ``per_row``: weight 1 each). The
  frozen heads choose that weight by 3-fold dev CV; a fine-tune cannot afford a fit per
  candidate and fold (docs/finetune.md), so it takes one, ``weak_weight``.
- **Held-out dev rows.** ``val_fraction`` of the gold rows (default 0.3, not the
  single-label 0.1: a label needs held-out positives for its threshold) are kept out of
  training, stratified so that every label with two or more gold positives has held-out
  positives. They decide early stopping (their loss, after each epoch) and then each
  label's decision threshold: the cut with the best F1 on their probabilities
  (:func:`labeling.models.multilabel.best_threshold`, the frozen heads' rule on
  out-of-fold probabilities). ``thresholds_`` is where `labeling predict`, the card and
  `labeling serve` find them, as for the frozen heads; ``dev_heldout_f1_`` is each
  label's F1 at its cut (tuned on the same rows, so a little optimistic).
- **Gold-only twin.** :func:`fit_task` also fits the same estimator on the dev gold rows
  alone, holding out the same rows (``fit(..., held=)``), and compares the two there
  (:mod:`labeling.train.finetune_multilabel_twin`).
"""

from __future__ import annotations

import math
import time

import numpy as np

from labeling.models.multilabel import best_threshold
from labeling.train.end_model import check_no_seed, weak_scale
from labeling.train.finetune import MiniLMFineTuned
from labeling.train.finetune_multilabel_twin import fit_twin, twin_fields
from labeling.train.gold_budget import GOLD_ONLY_KEY, SKIPPED_TEXT, split_gold_only_option
from labeling.train.multilabel import (FEATURES, OneVsRestEndModel, featurise, fit_featurisers,
                                       weight_key)


def check_targets(Y, n: int) -> np.ndarray:
    """``Y`` as a float ``n x k`` matrix in [0, 1], or a one-line ``ValueError``."""
    Y = np.asarray(Y, dtype=float)
    if Y.ndim != 2 or Y.shape[0] != n or Y.shape[1] < 1:
        raise ValueError(f"minilm_finetune (multi-label): targets must be n x k with n = {n} "
                         f"rows, got shape {Y.shape}")
    if not np.isfinite(Y).all() or Y.min() < 0 or Y.max() > 1:
        raise ValueError("minilm_finetune (multi-label): targets must be probabilities in "
                         "[0, 1] (one per label), got values outside")
    return Y


def split_gold(Y: np.ndarray, gold_rows: np.ndarray, fraction: float, rng) -> np.ndarray:
    """``round(fraction x len(gold_rows))`` of ``gold_rows`` to hold out: first, rarest
    label first, enough of each label's positives (``fraction`` of them, at least one if
    it has two) that every label can have its threshold tuned, then random others."""
    n_held = int(round(fraction * len(gold_rows)))
    held: list[int] = []
    positives = Y[gold_rows] >= 0.5
    for c in np.argsort(positives.sum(axis=0), kind="stable"):
        rows = gold_rows[positives[:, c]]
        want = min(len(rows) - 1, max(1, int(round(fraction * len(rows)))))
        have = int(np.isin(rows, held).sum())
        spare = [r for r in rng.permutation(rows).tolist() if r not in held]
        held += spare[:max(0, min(want - have, n_held - len(held)))]
    rest = [r for r in rng.permutation(gold_rows).tolist() if r not in held]
    held += rest[:max(0, n_held - len(held))]
    mask = np.zeros(len(Y), dtype=bool)
    mask[held] = True
    return mask


def _given_held(held, allowed: np.ndarray) -> np.ndarray:
    held = np.asarray(held)
    if held.shape != allowed.shape or held.dtype != bool:
        raise ValueError(f"minilm_finetune (multi-label): held must be a boolean mask of the "
                         f"{len(allowed)} rows, got shape {held.shape} of {held.dtype}")
    if (held & ~allowed).any():
        raise ValueError(f"minilm_finetune (multi-label): held marks row "
                         f"{int(np.flatnonzero(held & ~allowed)[0])}, not a gold row of "
                         "weight > 0")
    return held.copy()


class MiniLMFineTunedMultiLabel(MiniLMFineTuned):
    """MiniLM + ``k`` sigmoid outputs, fine-tuned on per-label soft targets, with
    per-label thresholds tuned on held-out gold rows; see the module docstring. The
    parameters are the single-label fine-tune's; ``val_fraction`` is the share of the
    gold rows held out (early stopping and thresholds), > 0. Fitted, beyond the
    single-label ones: ``thresholds_``, ``dev_heldout_f1_``; ``held_out_rows_`` and
    ``trained_rows_`` (the rows the training loop fed to the network, recorded in the
    loop) are indexes into the rows given to ``fit``, ``n_train_rows_`` counts the
    latter."""

    OUTPUT = "sigmoid"

    def __init__(self, model_path: str | None = None, max_seq_len: int = 64,
                 epochs: int = 3, batch_size: int = 32, lr: float = 5e-5,
                 head_lr: float = 1e-3, weight_decay: float = 0.01, warmup: float = 0.1,
                 dropout: float = 0.1, val_fraction: float = 0.3, patience: int = 1,
                 max_time: float | None = None, seed: int = 0, progress: bool | None = None,
                 predict_batch_size: int = 64):
        super().__init__(model_path=model_path, max_seq_len=max_seq_len, epochs=epochs,
                         batch_size=batch_size, lr=lr, head_lr=head_lr,
                         weight_decay=weight_decay, warmup=warmup, dropout=dropout,
                         val_fraction=val_fraction, patience=patience, max_time=max_time,
                         seed=seed, progress=progress, predict_batch_size=predict_batch_size)

    def __sklearn_tags__(self):
        # how the export and `labeling predict` tell it answers label sets
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags

    def _check_params(self) -> None:
        super()._check_params()
        if float(self.val_fraction) <= 0:
            raise ValueError("minilm_finetune (multi-label): val_fraction must be > 0: the "
                             "per-label thresholds are tuned on held-out gold rows")

    def held_out(self, y, sample_weight=None, gold=None) -> np.ndarray:
        """The boolean mask of the gold rows :meth:`fit` holds out for these rows (the
        same draw: seeded, from the gold rows' targets alone), so a caller can make the
        weak rows' targets without the held-out rows' gold first."""
        targets = check_targets(y, len(y))
        w = np.ones(len(targets)) if sample_weight is None else np.asarray(sample_weight, float)
        is_gold = np.ones(len(targets), bool) if gold is None else np.asarray(gold, bool)
        return self._held(targets, w, is_gold, np.random.default_rng(int(self.seed)))

    def _held(self, targets, w, is_gold, rng) -> np.ndarray:
        return split_gold(targets, np.flatnonzero(is_gold & (w > 0)), float(self.val_fraction),
                          rng)

    def fit(self, X, y, sample_weight=None, gold=None, held=None):
        """Fine-tune on texts ``X`` with ``n x k`` per-label targets ``y``; ``gold``: a
        boolean mask of the rows with gold targets (held out from; None: every row);
        ``held``: the held-out mask to use instead of drawing one (gold rows of weight
        > 0 only: the gold-only twin holds out the end model's rows)."""
        self._check_params()
        texts = np.asarray([str(t) for t in X], dtype=object)
        targets = check_targets(y, len(texts))
        w = np.ones(len(texts)) if sample_weight is None else np.asarray(sample_weight, float)
        is_gold = np.ones(len(texts), bool) if gold is None else np.asarray(gold, bool)
        if len(w) != len(texts) or len(is_gold) != len(texts):
            raise ValueError(f"minilm_finetune (multi-label): texts, sample_weight and gold "
                             f"differ in length: {len(texts)}, {len(w)}, {len(is_gold)}")
        if not (np.isfinite(w).all() and (w >= 0).all()):
            raise ValueError("minilm_finetune (multi-label): sample_weight must be finite "
                             "and >= 0")
        start = time.perf_counter()
        rng = np.random.default_rng(int(self.seed))
        drawn = self._held(targets, w, is_gold, rng)  # the first draw: as held_out's (also
        #   when a mask is given: the rng then goes on as in a fit that drew its own)
        held = drawn if held is None else _given_held(held, is_gold & (w > 0))
        if held.sum() < 4:
            raise ValueError(f"minilm_finetune (multi-label): {int(held.sum())} held-out gold "
                             "rows (val_fraction x gold rows); at least 4 are needed to tune "
                             "thresholds: add dev rows or raise val_fraction")
        rows = np.flatnonzero(w > 0)  # weightless rows (a gold-only fit's weak rows) cost
        #                               a forward pass each and teach nothing
        self._fit_rows(texts[rows], targets[rows], w[rows], np.arange(targets.shape[1]),
                       held[rows], rng, start)
        self.trained_rows_ = rows[self.trained_rows_]  # indexes into fit's rows, as held
        self.held_out_rows_ = np.flatnonzero(held)
        proba = self.predict_proba(texts[held])
        gold_held = targets[held] >= 0.5
        cuts = np.array([best_threshold(gold_held[:, c], proba[:, c])
                         for c in range(targets.shape[1])])
        self.thresholds_, self.dev_heldout_f1_ = cuts[:, 0].copy(), cuts[:, 1].copy()
        self.fit_seconds_ = round(time.perf_counter() - start, 2)
        return self

    def predict(self, X) -> np.ndarray:
        """``n x k`` 0/1: the labels whose probability reaches ``thresholds_``."""
        return (self.predict_proba(X) >= self.thresholds_).astype(np.int8)


FIT_PARAMS = ("gold_weight", "weak_weight")  # [end_model] params of the rows, not the net


def check_weak_weight(value) -> float | None:
    """``weak_weight`` (a number >= 0, or ``"per_row"``/None: 1 per weak row)."""
    if value is None or value == "per_row":
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value) or value < 0:
        raise ValueError(f"minilm_finetune: weak_weight must be a finite number >= 0 (the weak "
                         f"rows' total weight per gold rows' total) or 'per_row', got "
                         f"{value!r}; a fine-tune does not choose it by dev CV (weak_weights)")
    return float(value)


def task_rows(weak_texts, P_weak, dev_texts, Y_dev, gold_weight: float = 5.0,
              weak_weight=None):
    """``(texts, targets, weights, gold)`` for :meth:`MiniLMFineTunedMultiLabel.fit`:
    the weak rows with the label model's per-label probabilities, each at
    :func:`weak_scale` (as :class:`labeling.train.multilabel.OneVsRestEndModel` weighs
    them), then the dev gold rows at ``gold_weight`` each."""
    P_weak, Y_dev = np.asarray(P_weak, float), np.asarray(Y_dev, float)
    if not (isinstance(gold_weight, (int, float)) and not isinstance(gold_weight, bool)
            and math.isfinite(gold_weight) and gold_weight > 0):
        raise ValueError(f"minilm_finetune: gold_weight must be a number > 0, got "
                         f"{gold_weight!r}")
    w_gold = np.full(len(Y_dev), float(gold_weight))
    scale = weak_scale(check_weak_weight(weak_weight), float(len(P_weak)), float(w_gold.sum()))
    texts = np.asarray([str(t) for t in list(weak_texts) + list(dev_texts)], dtype=object)
    weights = np.concatenate([np.full(len(P_weak), scale), w_gold])
    gold = np.concatenate([np.zeros(len(P_weak), bool), np.ones(len(Y_dev), bool)])
    return texts, np.vstack([P_weak, Y_dev]), weights, gold


def make_minilm_finetune_multilabel(seed: int = 0, **params) -> MiniLMFineTunedMultiLabel:
    return MiniLMFineTunedMultiLabel(seed=seed, **params)


GOLD_ONLY = "tfidf_minilm_avg"  # the default frozen family: also fit on the dev gold alone,
#                                 as metrics.json ``gold_only_frozen`` (the twin is ``gold_only``)


def fit_task(texts: dict, P_weak, Y_dev, params: dict, labels: list[str], seed: int = 0,
             cache_dir=None, fold_probs=None):
    """A multi-label run's fine-tune and its gold-only baselines: ``(model, baselines,
    fields)``; ``baselines``: ``{metrics.json scores key: predict(split) -> n x k 0/1}``,
    ``fields``: the metrics.json ``multi_label`` sections (``end_model``, ``gold_only``,
    ``gold_only_frozen``).

    ``texts``: ``{split: texts}`` (train, dev, test); ``params``: the config's
    ``[end_model] params`` (``gold_weight``, ``weak_weight``, ``n_folds`` for the frozen
    baseline, ``gold_only = false`` to fit no baseline, the rest the estimator's), checked
    before anything is fit. ``gold_only`` is the fine-tune's twin
    (:mod:`labeling.train.finetune_multilabel_twin`: the same params and seed on the dev
    gold alone, holding out the same dev rows); ``gold_only_frozen`` is :data:`GOLD_ONLY`
    on the dev gold (thresholds by dev CV), also scored on the fine-tune's held-out dev
    rows, fit on the others, at each label's best cut, so all three ``dev_cv_f1`` figures
    compare. ``fold_probs`` (:class:`~labeling.train.fold_label_model.MultiLabelFoldModel`):
    the weak rows' targets from the label model refit without the held-out rows' gold
    (None: ``P_weak``, which the held-out rows' gold may have shaped)."""
    params, with_gold_only = split_gold_only_option(params)
    if "weak_weights" in params:
        raise ValueError("minilm_finetune: weak_weights (a dev-CV choice) is for the frozen "
                         "heads: a fine-tune would be fit per candidate and fold; set one "
                         "weak_weight instead")
    gold_weight, weak_weight = params.pop("gold_weight", 5.0), params.pop("weak_weight", None)
    n_folds = params.pop("n_folds", 3)
    if isinstance(n_folds, bool) or not isinstance(n_folds, int) or n_folds < 2:
        raise ValueError(f"minilm_finetune: n_folds (the gold-only baseline's dev CV) must "
                         f"be an integer >= 2, got {n_folds!r}")
    check_no_seed(params)
    unknown = sorted(set(params) - set(MiniLMFineTunedMultiLabel().get_params()))
    if unknown:  # e.g. the single-label fine-tune's gold stage: named, not a TypeError
        raise ValueError(f"minilm_finetune: {', '.join(unknown)}: not a parameter of the "
                         "multi-label fine-tune" + (" (the second stage on the gold rows, "
                                                    "gold_epochs/gold_lr, is single-label only)"
                                                    if {"gold_epochs", "gold_lr"} & set(unknown)
                                                    else ""))
    model = MiniLMFineTunedMultiLabel(seed=seed, **params)
    model._check_params()
    rows = task_rows(texts["train"], P_weak, texts["dev"], Y_dev, gold_weight, weak_weight)
    if fold_probs is not None:  # the held-out rows' gold must not shape the weak targets
        kept = np.flatnonzero(~model.held_out(*rows[1:])[len(P_weak):])
        rows = task_rows(texts["train"], fold_probs.probs(kept), texts["dev"], Y_dev,
                         gold_weight, weak_weight)
    model.fit(*rows[:3], gold=rows[3])
    held = model.held_out_rows_ - len(P_weak)  # the gold rows follow the weak ones

    def per_label(values) -> dict:
        return dict(zip(labels, np.round(values, 4).tolist()))

    fields = {"end_model": {
        "name": "minilm_finetune", "gold_weight": gold_weight,
        "weak_weight": weight_key(check_weak_weight(weak_weight)),
        "thresholds": per_label(model.thresholds_),
        "dev_cv_f1": per_label(model.dev_heldout_f1_),
        "dev_cv_macro_f1": round(float(np.mean(model.dev_heldout_f1_)), 4),
        "dev_protocol": f"held_out: {len(held)} dev rows kept out of training, each label's "
                        "F1 at its best cut on them (its threshold); the gold-only twin "
                        "held out the same rows",
        "threshold_rule": f"per label, the cut with the best F1 on the probabilities of the "
                          f"{len(held)} held-out dev rows (not trained on)",
        "label_mode": "soft (a sigmoid per label, binary cross-entropy)",
        "fit_seconds": model.fit_seconds_, "history": model.history_,
        "best_epoch": model.best_epoch_}}
    if not with_gold_only:
        fields["gold_only"] = {"skipped": f"params.{GOLD_ONLY_KEY} = false",
                               "text": SKIPPED_TEXT.format(n=len(Y_dev)),
                               "verdict": "not_compared", "loud": False}
        return model, {}, fields
    held_dev = np.zeros(len(Y_dev), bool)
    held_dev[held] = True
    twin, seconds = fit_twin(model, texts["dev"], Y_dev, held_dev, gold_weight)
    fields["gold_only"] = twin_fields(model, twin, seconds, labels, params, gold_weight,
                                      len(Y_dev))
    features = featurise({s: t for s, t in texts.items() if s != "train"},
                         FEATURES[GOLD_ONLY], cache_dir,
                         fit_featurisers(texts, FEATURES[GOLD_ONLY]))
    frozen = OneVsRestEndModel(GOLD_ONLY, gold_weight, n_folds, seed).fit(features, None, Y_dev)
    frozen_f1 = frozen.heldout_f1(features, None, Y_dev, held)
    fields["gold_only_frozen"] = {
        "name": GOLD_ONLY, "dev_cv_f1": per_label(frozen_f1),
        "dev_cv_macro_f1": round(float(np.mean(frozen_f1)), 4),
        "dev_3fold_cv_f1": per_label(frozen.dev_cv_f1_),
        "dev_protocol": "the default frozen family on the dev gold alone: dev_cv_f1 fit on "
                        "the dev rows the fine-tune trained on, each label's F1 at its best "
                        "cut on its held-out rows; test scores from the fit on all dev gold"}
    fields["gold_only"]["text"] += (f"; the frozen {GOLD_ONLY} on the same dev gold scores "
                                    f"{fields['gold_only_frozen']['dev_cv_macro_f1']:.3f} there")
    baselines = {"gold_only": lambda s: twin.predict(texts[s]),
                 "gold_only_frozen": lambda s: frozen.predict(features, s)}
    return model, baselines, fields
