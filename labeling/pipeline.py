"""The steps of a run, each reading and writing artifacts in the run folder.

    apply  -> L.parquet (label matrix, LF names as columns), lf_summary.csv
    fit    -> probs.parquet (label-model probabilities), metrics.json
    train  -> end_model.skops, metrics.json
    export -> model/ (model.skops, model.onnx, model_card.json, MODEL_CARD.md)

Each step can run alone (``labeling fit`` after editing the label-model config
reuses L.parquet); ``run`` does all four. metrics.json is merged, not overwritten,
so an error in a later step loses nothing an earlier one wrote. Scores on every
split count all rows: ties and rows no LF voted on go to the most frequent class
(the label model's ``class_balance_``).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from labeling import llm, models
from labeling.analysis import coverage_stats, lf_summary, lf_warnings, unvoted_classes
from labeling.apply import FaultLog, applied, apply_lfs
from labeling.apply.dask_engine import one_local_cluster  # dask itself: only if used
from labeling.artifacts import (EMBEDDING_CACHE_DIR, L_FILE, LABEL_MODEL_FILE,  # noqa: F401
                                METRICS_FILE, PROBS_FILE, _require, _write_table, check_dev_gold_at_fit,
                                check_gold_unchanged, check_step_order, gold_digests, leakage_section,
                                made_from_another, read_label_matrices, read_metrics,
                                read_probs, read_table, input_digests,
                                record_annotations, record_export, record_inputs, rows_digests,
                                timed, update_metrics, write_end_probs)
from pydantic import ValidationError

from labeling.config import ApplyConfig, TaskConfig, load_config
from labeling.data import SPLITS, load_split
from labeling.errors import LabelingError
from labeling.export import export_model, load_model, save_model
from labeling.export.calibration import calibration_report
from labeling.export.provenance import (build_card, check_sources_unchanged, config_digest,
                                        source_digests)
from labeling.files import check_writable
from labeling.gold import AnnotationStore, apply_gold, valid_gold
from labeling.lf.loader import load_lfs
from labeling.llm.multilabel import check_task_lfs, prompt_lfs
from labeling.metrics import classification_scores, missing_class_error
from labeling.models.fit_cache import fit_cached
from labeling.train.auto import choose_end_model, end_model_cv_runs, end_model_options
from labeling.train.end_model import embedding_cache, predict_proba_full
from labeling.train.fold_label_model import saved_fold_label_model
from labeling.train.gold_budget import (curve_section, frozen_section, gold_only_section,
                                        split_curve_options, split_gold_only_option)

SUMMARY_FILE, END_MODEL_FILE, MODEL_DIR = "lf_summary.csv", "end_model.skops", "model"
STALE_END_MODEL = "trained before the latest `labeling fit`; run `labeling train` to update it"


@dataclass
class Task:
    """A loaded task: its config, LFs and data splits (None where the config has none).

    ``annotation_gold`` holds the app's train and dev annotations merged into dev
    ({split: {id: class}}; test annotations never are), and ``annotation_report`` what
    they changed.
    """

    config: TaskConfig
    lfs: list
    splits: dict[str, pd.DataFrame | None]
    annotation_gold: dict = field(default_factory=dict)
    annotation_report: dict = field(default_factory=dict)
    applied_lfs: dict | None = None  # {LF name: fingerprint} this task applied

    @property
    def run_dir(self) -> Path:
        return self.config.run_dir

    def __repr__(self) -> str:  # one line in a notebook, not every frame and LF
        rows = ", ".join(f"{s} {len(df)}" for s, df in self.splits.items() if df is not None)
        return f"Task({self.config.name!r}: {len(self.lfs)} LFs; rows: {rows})"

    def gold(self, split: str) -> np.ndarray | None:
        df = self.splits.get(split)
        return None if df is None or "label" not in df else df["label"].to_numpy()


def load_task(config_path: Path | str | None = None, annotations: Path | None = None) -> Task:
    config = load_config(config_path).with_annotations(annotations)
    splits = {split: load_split(config, split) for split in SPLITS}
    lfs = load_lfs(config.lfs, config.base_dir, None if config.multi_label else config.labels)
    check_task_lfs(lfs, config.labels, config.multi_label)
    path = config.annotations_path
    gold, skipped = valid_gold(AnnotationStore(path) if path.is_file() else None,
                               config.name, config.labels, multi_label=config.multi_label,
                               splits=splits)
    splits, report = apply_gold(splits, gold)
    return Task(config, lfs, splits, gold, {**report, **skipped})


# --- steps -------------------------------------------------------------------

def has_prompt_lfs(task: Task) -> bool:
    return bool(prompt_lfs(task.lfs))


@contextlib.contextmanager
def llm_runtime(task: Task, progress: bool = True):
    """The LLM runtime prompt LFs use during a step (None when the task has none)."""
    if not has_prompt_lfs(task):
        yield None
        return
    cfg = task.config
    settings = cfg.llm.model_copy(update={"progress": cfg.llm.progress and progress})
    with llm.use(settings, labels=cfg.labels, cache_path=cfg.llm_cache_path) as runtime:
        try:
            yield runtime
        finally:
            runtime.close()


def plan(task: Task) -> list[dict]:
    """Per prompt LF and split: calls to make, cached, estimated tokens and cost."""
    splits = {s: df for s, df in task.splits.items() if df is not None}
    with llm_runtime(task, progress=False) as runtime:
        return runtime.plan(task.lfs, splits) if runtime is not None else []


@timed("apply")
def step_apply(task: Task, fault_tolerant: bool | None = None, progress: bool = True,
               only: list[str] | None = None, **overrides) -> dict:
    """Apply every LF to every split; write L.parquet and a first lf_summary.csv.

    ``only``: apply just these LFs and keep the other columns of the current L.parquet
    (which must match the task's LFs and data). ``overrides`` replace ``[apply]``
    settings: engine, n_jobs, scheduler, cache.
    """
    cfg = task.config
    tolerant = cfg.apply.fault_tolerant if fault_tolerant is None else fault_tolerant
    try:
        settings = ApplyConfig(**(cfg.apply.model_dump()
                                  | {k: v for k, v in overrides.items() if v is not None}))
    except ValidationError as exc:
        raise LabelingError(f"apply settings: {exc.errors()[0]['loc'][0]}: "
                            f"{exc.errors()[0]['msg']}") from None
    engine_options = {"scheduler": settings.scheduler} if settings.engine == "dask" else {}
    cache_dir = task.run_dir / "cache" / "lf_columns" if settings.cache else None
    faults, cache_use = FaultLog(), {}
    names = [lf.name for lf in task.lfs]
    splits = {split: df for split, df in task.splits.items() if df is not None}
    matrices, frames = {}, []
    check_writable(task.run_dir)  # before any work, not after it
    lfs, previous = applied.lfs_to_apply(task, only)
    # --engine dask: one LocalCluster for every split (its workers import torch: seconds)
    with llm_runtime(task, progress) as runtime, one_local_cluster():
        if runtime is not None:
            runtime.check_budget(runtime.plan(lfs, splits))  # before any call
        try:
            for split, df in splits.items():
                if runtime is not None:
                    runtime.split = split  # named in its messages
                L = apply_lfs(df, lfs, cfg.cardinality, engine=settings.engine,
                              n_jobs=settings.n_jobs, cache_dir=cache_dir,
                              fault_tolerant=tolerant, faults=faults, split=split,
                              progress=progress, cache_use=cache_use if cache_dir else None,
                              **engine_options)
                if previous is not None:  # splice the applied columns into the last L
                    full = previous[split].astype(L.dtype, copy=True)
                    full[:, [names.index(lf.name) for lf in lfs]] = L
                    L = full
                matrices[split] = L
                index = pd.MultiIndex.from_arrays([[split] * len(df), df["id"]],
                                                  names=["split", "id"])
                frames.append(pd.DataFrame(L, index=index, columns=names))
        finally:
            if runtime is not None:  # what was spent is recorded even if a split failed
                update_metrics(task.run_dir, llm=runtime.report())
    _write_table(pd.concat(frames), task.run_dir / L_FILE)
    record_annotations(task)
    summary = lf_summary(matrices["train"], names, cfg.labels, matrices.get("dev"),
                         task.gold("dev"), fault_counts=faults.counts)
    _write_table(summary, task.run_dir / SUMMARY_FILE)
    data = {s: {"n": int(len(L)), **coverage_stats(L)} for s, L in matrices.items()}
    if "dev" in data:
        data["dev"]["annotations"] = task.annotation_report
    update_metrics(task.run_dir, task=cfg.name, labels=cfg.labels, data=data,
                   applied_lfs=task.applied_lfs, gold_at_summary=gold_digests(task),
                   leakage=leakage_section(task), rows_at_apply=rows_digests(task),
                   lfs={"n": len(names), "names": names, "fault_counts": faults.counts,
                        "cache_use": cache_use,  # `labeling apply` prints it
                        "first_faults": faults.first,
                        "unvoted": unvoted_classes(matrices["train"], cfg.labels),  # warned of
                        "warnings": lf_warnings(matrices["train"], names, cfg.cardinality,
                                                matrices.get("dev"), task.gold("dev"),
                                                labels=cfg.labels)})
    return matrices


def _evaluate(predictions: dict[str, np.ndarray], task) -> dict:
    """Scores of per-split predictions on the splits with gold (dev, test)."""
    return {split: classification_scores(task.gold(split), predictions[split],
                                         task.config.cardinality, task.config.positive_index)
            for split in ("dev", "test") if split in predictions}


@timed("fit")
def step_fit(task: Task) -> dict:
    """Fit majority vote and the configured label model; write probs.parquet."""
    cfg = task.config
    check_writable(task.run_dir)
    inputs = input_digests(task.run_dir, [L_FILE])
    table = read_table(task, L_FILE, "apply")
    applied.check(task, "fit")  # the LFs L.parquet holds are the task's LFs now
    matrices = read_label_matrices(task, table)
    L_dev, y_dev = matrices.get("dev"), task.gold("dev")
    n_gold = 0 if y_dev is None else int(np.count_nonzero(np.asarray(y_dev) >= 0))
    cv = ((cfg.label_model.name == "auto" and n_gold >= 2)  # as labeling.models.auto's fit
          or end_model_cv_runs(cfg.end_model.name, cfg.end_model.params, n_gold))
    if cfg.positive_label is not None and cv and (missing := missing_class_error(
            y_dev, cfg.positive_index, cfg.labels)):  # every CV choice would be a tie at 0
        raise LabelingError(f"{cfg.source}: positive_label: {missing}; label dev rows of it, "
                            "or remove positive_label to choose by accuracy")
    choice = cfg.label_model
    try:
        label_model = models.make_for_task(
            choice.name, cfg.cardinality, choice.params,
            f1_pos_label=cfg.positive_index if cfg.positive_label is not None else None)
    except (ValueError, TypeError) as exc:
        raise LabelingError(f"{cfg.source}: label_model: {exc}") from None
    try:
        label_model = fit_cached(label_model, matrices["train"], y_dev, L_dev,
                                 task.run_dir / "cache" / "label_models")
    except ValueError as exc:  # e.g. snorkel's LabelModel needs at least 3 LFs
        raise LabelingError(f"label model '{choice.name}' cannot fit this label matrix: {exc}") from None
    majority = models.make("mv", cardinality=cfg.cardinality).fit(matrices["train"], y_dev=y_dev)

    frames, lm_pred, mv_pred = [], {}, {}
    for split, L in matrices.items():
        proba = label_model.predict_proba(L)  # once per split: the costly step at scale
        lm_pred[split] = label_model.decide(proba)
        mv_pred[split] = majority.predict(L)
        frame = pd.DataFrame(proba, columns=[f"p_{name}" for name in cfg.labels],
                             index=pd.MultiIndex.from_arrays(
                                 [[split] * len(L), task.splits[split]["id"]],
                                 names=["split", "id"]))
        frame["covered"] = (L != -1).any(axis=1)
        frame["label_model_pred"] = lm_pred[split]
        frame["majority_vote_pred"] = mv_pred[split]
        frames.append(frame)
    _write_table(pd.concat(frames), task.run_dir / PROBS_FILE)
    record_inputs(task.run_dir, PROBS_FILE, inputs)
    label_model.save(task.run_dir / LABEL_MODEL_FILE)  # JSON; labeling.models.load reads it
    record_annotations(task)

    learned = getattr(label_model, "lf_accuracies_", None)
    summary = lf_summary(matrices["train"], list(table.columns), cfg.labels, L_dev, y_dev,
                         learned_accuracy=learned,
                         fault_counts=read_metrics(task.run_dir).get("lfs", {}).get("fault_counts"))
    _write_table(summary, task.run_dir / SUMMARY_FILE)
    lm_section = {"name": choice.name, "params": label_model.get_params(),
                  **_evaluate(lm_pred, task)}
    for extra in ("chosen_", "cv_scores_"):
        if hasattr(label_model, extra):
            lm_section[extra.rstrip("_")] = getattr(label_model, extra)
    if "dev" in lm_section and models.fit_on_dev(lm_section):  # as the model card says
        lm_section["dev"]["in_sample"] = True
    stale = {}
    end_model = read_metrics(task.run_dir).get("end_model")
    if end_model:  # trained on another fit's labels: say so wherever it is shown; a refit
        # that wrote the very probabilities it was trained on (a cached fit) leaves it current
        current = (task.run_dir / END_MODEL_FILE).is_file() and not made_from_another(
            task.run_dir, PROBS_FILE, END_MODEL_FILE)
        stale["end_model"] = ({k: v for k, v in end_model.items() if k != "stale"} if current
                              else end_model | {"stale": STALE_END_MODEL})
    gold = gold_digests(task)  # the gold fit scored and lf_summary.csv was written with
    return update_metrics(task.run_dir, label_model=lm_section,
                          majority_vote={"name": "mv", **_evaluate(mv_pred, task)},
                          gold_at_fit=gold, gold_at_summary=gold, **stale)


@timed("train")
def step_train(task: Task):
    """Train the end model on the train split's soft labels (+ dev gold rows, if any),
    choosing model and label mode by dev cross-validation where the config says auto;
    evaluate on dev and test."""
    cfg = task.config
    check_writable(task.run_dir)
    check_step_order(task.run_dir, [(L_FILE, "apply"), (PROBS_FILE, "fit")], "train")
    inputs = input_digests(task.run_dir, [PROBS_FILE])
    sources = source_digests(cfg, task.annotation_gold)  # what the model card will hash
    config_sha256 = config_digest(cfg)
    probs = read_probs(task, "train")  # its rows are the data's now (else: apply again)
    check_dev_gold_at_fit(task, "train")
    proba = probs[[f"p_{name}" for name in cfg.labels]].to_numpy()
    covered = probs["covered"].to_numpy().astype(bool)
    dev, y_dev = task.splits["dev"], task.gold("dev")
    dev_texts, refit = None, None
    if dev is not None and y_dev is not None:
        gold = np.asarray(y_dev) >= 0  # dev rows without a gold label cannot train or score
        dev_texts, y_dev = dev["text"][gold].tolist(), np.asarray(y_dev)[gold]
        refit = saved_fold_label_model(task, proba, gold, y_dev)
    else:
        y_dev = None
    cache_dir, texts = task.run_dir / EMBEDDING_CACHE_DIR, task.splits["train"]["text"]
    metric = "f1" if cfg.positive_label is not None else "accuracy"
    try:
        params, curve_options = split_curve_options(cfg.end_model.params)
        params, with_gold_only = split_gold_only_option(params)
        options = end_model_options(cfg.end_model.name, params, cfg.base_dir)
        model, report = choose_end_model(texts, proba, covered, dev_texts, y_dev,
                                         metric=metric, pos_label=cfg.positive_index,
                                         seed=cfg.seed, cache_dir=cache_dir,
                                         fold_label_model=refit, **options)
    except (ValueError, TypeError) as exc:
        raise LabelingError(f"{cfg.source}: end_model: {exc}") from None
    save_model(model, task.run_dir / END_MODEL_FILE)
    record_inputs(task.run_dir, END_MODEL_FILE, inputs)
    gold_model, gold = gold_only_section(dev_texts, y_dev, cfg.cardinality, options, report,
                                         metric, cfg.positive_index, cfg.seed, cache_dir,
                                         enabled=with_gold_only)
    frozen_model, frozen = (frozen_section(dev_texts, y_dev, cfg.cardinality, options, metric,
                                           cfg.positive_index, cfg.seed, cache_dir)
                            if with_gold_only else (None, None))
    curve = curve_section(texts, proba, covered, dev_texts, y_dev, report, gold, metric,
                          cfg.positive_index, cfg.seed, curve_options, cache_dir,
                          options.get("params"), refit)
    section = {"config_name": cfg.end_model.name, "params": cfg.end_model.params, **report,
               "train_rows": int(report.get("train_rows_cap", {}).get("used", covered.sum())),
               "train_rows_uncovered_dropped": int((~covered).sum()),
               "dev_rows_trained_on": int(len(y_dev)) if report["dev_weight"] else 0}
    if section["dev_rows_trained_on"]:
        section["note"] = ("dev gold rows were training rows: the dev scores below are "
                           "in-sample; cv_scores are the held-out dev estimate")
    section["calibration"] = {}
    stored = {}  # every split's predictions, for the app (artifacts.write_end_probs)
    with embedding_cache(model, cache_dir), embedding_cache(gold_model, cache_dir), \
            embedding_cache(frozen_model, cache_dir):
        for split in SPLITS:
            df, y = task.splits.get(split), task.gold(split)
            if df is None:
                continue
            proba = stored[split] = predict_proba_full(model, df["text"], cfg.cardinality)
            if split == "train":
                continue
            section[split] = classification_scores(df["label"], proba.argmax(axis=1),
                                                   cfg.cardinality, cfg.positive_index)
            if y is not None:  # calibration of the end model itself, on gold rows
                rows = np.asarray(y) >= 0
                section["calibration"][split] = calibration_report(y[rows], proba[rows])
            for base, base_section in ((gold_model, gold), (frozen_model, frozen)):
                if base is not None and split == "test":  # their dev scores are in-sample
                    base_section[split] = classification_scores(
                        df["label"], predict_proba_full(base, df["text"], cfg.cardinality)
                        .argmax(axis=1), cfg.cardinality, cfg.positive_index)
    if section["dev_rows_trained_on"] and "dev" in section:
        section["dev"]["in_sample"] = True
    write_end_probs(task.run_dir, cfg.labels, task.splits, stored)
    record_annotations(task)
    update_metrics(task.run_dir, end_model=section, gold_only=gold, gold_only_frozen=frozen,
                   learning_curve=curve, gold_at_train=gold_digests(task),
                   sources_at_train=sources, config_at_train=config_sha256,
                   lfs_at_train=read_metrics(task.run_dir).get("applied_lfs"))  # compare
    return model


@timed("export")
def step_export(task: Task, out_dir: Path | None = None) -> Path:
    """Export the trained end model with its model card."""
    out_dir = Path(out_dir) if out_dir else task.run_dir / MODEL_DIR
    applied.check(task, "export")  # the card lists the LFs the model learned from
    check_step_order(task.run_dir, [(L_FILE, "apply"), (PROBS_FILE, "fit"),
                                    (END_MODEL_FILE, "train")], "export")
    metrics = read_metrics(task.run_dir)  # the card's scores: fit's and train's, which
    check_gold_unchanged(task, metrics)  # against gold corrected since are the old gold's
    check_sources_unchanged(task.config, metrics, task.annotation_gold)
    check_writable(out_dir)
    inputs = input_digests(task.run_dir, [END_MODEL_FILE])
    model = load_model(_require(task, END_MODEL_FILE, "train"))
    probs = read_probs(task, "train").filter(like="p_").to_numpy()
    card = build_card(task.config, metrics, task.lfs, probs, task.annotation_gold)
    parity_texts = [text for split in ("dev", "test") if task.splits.get(split) is not None
                    for text in task.splits[split]["text"]]
    with embedding_cache(model, task.run_dir / EMBEDDING_CACHE_DIR):  # parity re-predicts
        export_model(model, out_dir, card, parity_texts=parity_texts,
                     int8_scales=task.config.export.int8_scales)
    record_export(task.run_dir, out_dir, MODEL_DIR, inputs)
    return out_dir


def run(task: Task, fault_tolerant: bool | None = None, progress: bool = True,
        **apply_overrides) -> dict:
    """All steps in order; returns the final metrics."""
    step_apply(task, fault_tolerant=fault_tolerant, progress=progress, **apply_overrides)
    step_fit(task)
    step_train(task)
    step_export(task)
    return read_metrics(task.run_dir)
