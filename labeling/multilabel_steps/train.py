"""The train step of a multi-label run: the end model on the label model's per-label
probabilities plus the dev gold, and its gold-only twin -> end_model.skops,
end_probs.parquet and their scores in metrics.json."""

from __future__ import annotations

import time

import numpy as np

from labeling.apply import applied
from labeling.artifacts import (L_FILE, PROBS_FILE, check_dev_gold_at_fit, check_step_order,
                                gold_digests, input_digests, read_metrics, record_annotations,
                                record_inputs, update_metrics, write_end_probs)
from labeling.errors import LabelingError
from labeling.export import save_model
from labeling.export.multilabel_card import gold_only_summary
from labeling.export.provenance import config_digest, source_digests
from labeling.files import check_writable
from labeling.models.multilabel import PerLabelModel
from labeling.multilabel_steps.common import (EMBEDDING_CACHE_DIR, END_MODEL_FILE, gold,
                                              label_matrices, lf_targets, load_section,
                                              read_probs, save_section, score_splits)
from labeling.train.fold_label_model import multilabel_fold_model_for
from labeling.train.finetune_multilabel import fit_task
from labeling.train.multilabel import FEATURES, OneVsRestEndModel, featurise, fit_featurisers

FINETUNE = "minilm_finetune"  # fit once, not one-vs-rest heads (docs/finetune.md)
BASELINES = ("gold_only", "gold_only_frozen")  # metrics.json sections and scores keys
HEAD_PARAMS = ("gold_weight", "n_folds", "n_repeats", "weak_weights", "weak_weight_per_label")


def end_model_name(cfg) -> str:
    return cfg.end_model.name if cfg.end_model.name != "auto" else "tfidf_minilm_avg"


def step_train(task):
    """Train the end model on the label model's per-label probabilities plus the dev gold
    and its gold-only twin; end_model.skops and their scores. The one-vs-rest heads
    choose the weak rows' weight by dev CV; ``minilm_finetune`` is fit once
    (:func:`_train_finetune`)."""
    cfg, labels = task.config, task.config.labels
    start = time.perf_counter()
    check_writable(task.run_dir)
    # as the single-label train: probabilities from before the last apply, or an LF
    # edited since it, would train on votes that are not the task's now
    check_step_order(task.run_dir, [(L_FILE, "apply"), (PROBS_FILE, "fit")], "train")
    applied.check(task, "train")
    inputs = input_digests(task.run_dir, [PROBS_FILE])
    # what the model card will hash, as this step reads it (export checks the files)
    sources, config_sha256 = source_digests(cfg, task.annotation_gold), config_digest(cfg)
    P_weak, Y = read_probs(task, "train"), gold(task)  # its rows are the data's now
    check_dev_gold_at_fit(task, "train")
    name = end_model_name(cfg)
    texts = {s: df["text"].tolist() for s, df in task.splits.items() if df is not None}
    if name == FINETUNE:
        model, proba, predict, baselines, fields = _train_finetune(task, P_weak, Y, texts)
    else:
        model, proba, predict, baselines, fields = _train_heads(task, name, P_weak, Y, texts)
    save_model(model, task.run_dir / END_MODEL_FILE)
    record_inputs(task.run_dir, END_MODEL_FILE, inputs)
    write_end_probs(task.run_dir, labels, task.splits, proba)
    section = load_section(task)
    for key in BASELINES:  # a previous run's baselines must not outlive it
        section.pop(key, None)
    section.update(fields)
    section["n_dev"] = int(len(Y["dev"]))
    if not section.get("gold_only", {}).get("text"):  # the heads: the card's sentence,
        # printed by train, evaluate and run (a fine-tune's twin brings its own verdict)
        summary = gold_only_summary(section)
        section.setdefault("gold_only", {}).update(
            {k: summary[k] for k in ("text", "loud") if k in summary})
    section["scores"] = {k: v for k, v in section.get("scores", {}).items()
                         if k not in BASELINES} | {
        "end_model": score_splits({s: predict(s) for s in Y}, Y, labels),
        **{key: score_splits({s: fn(s) for s in Y}, Y, labels)
           for key, fn in baselines.items()}}
    save_section(task, section, "end_model", time.perf_counter() - start)
    record_annotations(task)  # the gold train scored against, as the app rebuilds it
    update_metrics(task.run_dir, gold_at_train=gold_digests(task),  # checked by evaluate
                   sources_at_train=sources, config_at_train=config_sha256,
                   lfs_at_train=read_metrics(task.run_dir).get("applied_lfs"))  # compare
    return model


def _per_label(labels, values) -> dict:
    return dict(zip(labels, np.round(values, 4).tolist()))


def _fold_label_model(task, P_weak, Y):
    """The fit step's label model (from its per-label cache), refit per fold of the end
    model's weak-weight CV (docs/gold_budget.md); None without dev."""
    cfg, L = task.config, label_matrices(task)
    if "dev" not in Y or "dev" not in L:
        return None
    try:  # the settings may have changed since `labeling fit` made P_weak
        model = PerLabelModel(len(cfg.labels), lf_targets(task.lfs, cfg.labels),
                              name=cfg.label_model.name, seed=cfg.seed,
                              params=cfg.label_model.params.get("per_model", {}),
                              cache_dir=task.run_dir / "cache" / "label_models")
        model.fit(L["train"], Y["dev"], L["dev"])
    except (TypeError, ValueError) as exc:
        raise LabelingError(f"{cfg.source}: label_model: {exc} (changed since `labeling "
                            "fit`? fix it and run `labeling fit` again)") from None
    return multilabel_fold_model_for(model, L["train"], L["dev"], Y["dev"], P_weak)


def _train_heads(task, name, P_weak, Y, texts):
    """The one-vs-rest heads and their gold-only twin: ``(text model, {split: proba},
    predict(split), {"gold_only": predict(split)}, {"end_model": .., "gold_only": ..}
    metrics fields)``."""
    cfg, labels = task.config, task.config.labels
    params = dict(cfg.end_model.params)
    unknown = sorted(set(params) - set(HEAD_PARAMS))
    if unknown:  # a typo would otherwise be dropped without a word
        raise LabelingError(f"{cfg.source}: end_model: {', '.join(unknown)}: not a parameter "
                            f"of the multi-label end model {name!r} (its parameters: "
                            f"{', '.join(HEAD_PARAMS)})")
    try:
        featurisers = fit_featurisers(texts, FEATURES[name])
    except KeyError:
        raise LabelingError(f"{cfg.source}: end_model: unknown multi-label end model "
                            f"{name!r}; available: {', '.join([*FEATURES, FINETUNE])}") from None
    end = OneVsRestEndModel(name, seed=cfg.seed, **params)
    try:  # the weak rows' weight is chosen per label by dev CV among these, 0 first
        end.candidates(P_weak)
    except ValueError as exc:
        raise LabelingError(f"{cfg.source}: end_model: {exc}") from None
    cache = task.run_dir / EMBEDDING_CACHE_DIR
    features = featurise(texts, FEATURES[name], cache, featurisers)
    end.fit(features, P_weak, Y["dev"], fold_probs=_fold_label_model(task, P_weak, Y))
    gold_only = OneVsRestEndModel(name, seed=cfg.seed, **params).fit(features, None, Y["dev"])
    fields = {"end_model": {"name": name, "gold_weight": end.gold_weight,
                            **end.weak_weight_record(labels),
                            "thresholds": _per_label(labels, end.thresholds_),
                            "dev_cv_f1": _per_label(labels, end.dev_cv_f1_)},
              "gold_only": {"dev_cv_f1": _per_label(labels, gold_only.dev_cv_f1_)}}
    return (end.text_model(featurisers), {s: end.predict_proba(features, s) for s in texts},
            lambda s: end.predict(features, s),
            {"gold_only": lambda s: gold_only.predict(features, s)}, fields)


def _train_finetune(task, P_weak, Y, texts):
    """``minilm_finetune`` (labeling/train/finetune_multilabel.py), as
    :func:`_train_heads` returns it: fit once, its thresholds and dev F1 from held-out
    dev rows; its gold-only twin (the same fine-tune on the dev gold alone, the same
    held-out rows: labeling/train/finetune_multilabel_twin.py) is ``gold_only``, the
    default frozen family on the dev gold ``gold_only_frozen``; both predict test from
    their own fits."""
    cfg = task.config
    try:
        model, baselines, fields = fit_task(
            texts, P_weak, Y["dev"], cfg.end_model.params, cfg.labels, cfg.seed,
            task.run_dir / EMBEDDING_CACHE_DIR, _fold_label_model(task, P_weak, Y))
    except (ValueError, TypeError) as exc:  # bad params: checked before any fitting
        raise LabelingError(f"{cfg.source}: end_model: {exc}") from None
    proba = {s: model.predict_proba(t) for s, t in texts.items()}
    return (model, proba, lambda s: (proba[s] >= model.thresholds_).astype(np.int8),
            baselines, fields)
