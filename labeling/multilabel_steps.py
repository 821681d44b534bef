"""The steps of a multi-label run (``multi_label = true``; docs/multilabel.md), each
reading and writing artifacts in the run folder as the single-label steps do:

    apply  -> L.parquet (each LF targets one label and votes 1/0/-1), lf_analysis.csv
    fit    -> probs.parquet (per label: the chosen label model's probability and
              decision, majority vote's decision), metrics.json ``multi_label``
    train  -> end_model.skops (one-vs-rest heads and their gold-only twin's scores),
              end_probs.parquet, metrics.json
    export -> model/ (model.skops, model.onnx for TF-IDF, model_card.json, MODEL_CARD.md)

``run`` does all four. ``lf_analysis.csv``: per LF and label, coverage, overlaps,
conflicts (train) and dev precision/recall. Scores: macro/micro F1 and per-label tables
for every model and split in ``metrics.json``'s ``multi_label`` section.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from labeling import report
from labeling.apply.applier import apply_lfs
from labeling.artifacts import (L_FILE, PROBS_FILE, _require, _write_table,
                                read_label_matrices, read_metrics, update_metrics,
                                write_end_probs)
from labeling.errors import LabelingError, LFError
from labeling.export import load_model, save_model
from labeling.export.multilabel_card import build_card
from labeling.export.multilabel_io import export_multilabel
from labeling.files import atomic_write, check_writable
from labeling.models.multilabel import PerLabelModel, indicator, multilabel_scores
from labeling.pipeline import ANNOTATIONS_USED_FILE, _lfs_to_apply, llm_runtime
from labeling.train.end_model import embedding_cache
from labeling.train.fold_label_model import multilabel_fold_model_for
from labeling.train.finetune_multilabel import fit_task
from labeling.train.multilabel import (FEATURES, OneVsRestEndModel, featurise, fit_featurisers,
                                       weight_key)
from labeling.train.multilabel_model import thresholds_of

LF_ANALYSIS_FILE = "lf_analysis.csv"
END_MODEL_FILE, MODEL_DIR, EMBEDDING_CACHE_DIR = "end_model.skops", "model", "embedding_cache"
FINETUNE = "minilm_finetune"  # fit once, not one-vs-rest heads (docs/finetune.md)
STALE = "trained before the latest `labeling fit`; run `labeling train` to update it"


def lf_targets(lfs, labels: list[str]) -> np.ndarray:
    """The label index each LF votes on, or a one-line error naming the LF."""
    out = []
    for lf in lfs:
        target = getattr(lf, "target_label", None)
        if target is None:
            raise LFError(f"LF {lf.name}: a multi-label task needs its target label: wrap "
                          "it as for_label(\"<label>\", lf)")
        if target not in labels:
            raise LFError(f"LF {lf.name}: target label {target!r} is not one of the labels "
                          f"({', '.join(labels)})")
        out.append(labels.index(target))
    return np.asarray(out, dtype=int)


def apply_all(task, progress: bool = False, lfs=None, **overrides) -> dict[str, np.ndarray]:
    """``{split: L}`` of ``lfs`` (default: all the task's); votes outside {-1, 0, 1} are
    errors naming the LF and row.
    ``overrides`` (the CLI's, None = the config's) win over ``[apply]``. Prompt LFs are
    answered in one LLM runtime (the task's cache and budget, checked before any call);
    its stats go to metrics.json ``llm``, also when a split fails."""
    lfs = task.lfs if lfs is None else lfs
    opts = task.config.apply.model_copy(
        update={k: v for k, v in overrides.items() if v is not None})
    cache = task.run_dir / "cache" if opts.cache else None
    splits = {split: df for split, df in task.splits.items() if df is not None}
    with llm_runtime(task, progress) as runtime:
        if runtime is not None:
            runtime.check_budget(runtime.plan(lfs, splits))
        try:
            return {split: apply_lfs(df, lfs, cardinality=2, engine=opts.engine,
                                     n_jobs=opts.n_jobs, cache_dir=cache,
                                     fault_tolerant=opts.fault_tolerant, split=split,
                                     progress=progress)
                    for split, df in splits.items()}
        finally:
            if runtime is not None:
                update_metrics(task.run_dir, llm=runtime.report())


def lf_analysis(L: dict, targets, Y_dev, lfs, labels) -> pd.DataFrame:
    """Per LF: its label; coverage, overlap (another LF on the same label also votes)
    and conflict (one votes 1, another 0 on that label) on train; dev precision and
    recall of its "applies" votes against the label's gold."""
    rows = []
    L_train, L_dev = L["train"], L.get("dev")
    for j, lf in enumerate(lfs):
        same = np.flatnonzero(targets == targets[j])
        others = L_train[:, same[same != j]]
        votes = L_train[:, j] >= 0
        other_votes = (others >= 0).any(axis=1) if others.shape[1] else np.zeros_like(votes)
        disagree = ((others >= 0) & (others != L_train[:, [j]])).any(axis=1) \
            if others.shape[1] else np.zeros_like(votes)
        row = {"lf": lf.name, "label": labels[targets[j]], "coverage": votes.mean(),
               "overlaps": (votes & other_votes).mean(), "conflicts": (votes & disagree).mean()}
        if L_dev is not None:
            says = L_dev[:, j] == 1
            gold = Y_dev[:, targets[j]] == 1
            row["dev_applies_votes"] = int(says.sum())
            row["dev_precision"] = float((says & gold).sum() / says.sum()) if says.any() \
                else float("nan")
            row["dev_recall"] = float((says & gold).sum() / gold.sum()) if gold.any() \
                else float("nan")
        rows.append(row)
    return pd.DataFrame(rows).round(4)


def gold(task) -> dict[str, np.ndarray]:
    """``{split: n x k 0/1}`` for the splits with gold label sets (dev, test)."""
    k = len(task.config.labels)
    return {s: indicator(task.splits[s]["label"].tolist(), k) for s in ("dev", "test")
            if task.splits.get(s) is not None and "label" in task.splits[s]}


def _section(task) -> dict:
    return read_metrics(task.run_dir).get("multi_label") or {"labels": task.config.labels}


def _save_section(task, section: dict, step: str, seconds: float) -> dict:
    section["seconds"] = section.get("seconds", {}) | {step: round(seconds, 1)}
    section["notes"] = ("dev scores of label and end models are in-sample (dev gold fit "
                        "them and tuned their thresholds); test is the held-out figure")
    return update_metrics(task.run_dir, multi_label=section)


def _frame(task, split: str, columns: dict[str, np.ndarray]) -> pd.DataFrame:
    ids = task.splits[split]["id"]
    index = pd.MultiIndex.from_arrays([[split] * len(ids), ids], names=["split", "id"])
    return pd.DataFrame(columns, index=index)


def step_apply(task, progress: bool = False, only: list[str] | None = None,
               **overrides) -> dict[str, np.ndarray]:
    """Apply every LF to every split: L.parquet and lf_analysis.csv. ``only``: apply just
    these LFs and keep the other columns of the current L.parquet (as the single-label
    apply does)."""
    cfg = task.config
    if task.splits.get("dev") is None:
        raise LFError(f"{cfg.source}: a multi-label run needs data.dev gold label sets "
                      "(thresholds are tuned on dev)")
    start = time.perf_counter()
    check_writable(task.run_dir)
    targets = lf_targets(task.lfs, cfg.labels)
    names = [lf.name for lf in task.lfs]
    lfs, previous = _lfs_to_apply(task, only)
    L = apply_all(task, progress, lfs, **overrides)
    if previous is not None:  # splice the applied columns into the last full apply
        columns = [names.index(lf.name) for lf in lfs]
        for split, part in L.items():
            L[split] = previous[split].astype(part.dtype, copy=True)
            L[split][:, columns] = part
    _write_table(pd.concat([_frame(task, s, dict(zip(names, L[s].T))) for s in L]),
                 task.run_dir / L_FILE)
    analysis = lf_analysis(L, targets, gold(task)["dev"], task.lfs, cfg.labels)
    with atomic_write(task.run_dir / LF_ANALYSIS_FILE) as tmp:
        analysis.to_csv(tmp, index=False)
    # the annotations merged into dev, as the single-label apply records them: the app
    # and `labeling show` rebuild exactly this run's dev split from it (sets as lists)
    with atomic_write(task.run_dir / ANNOTATIONS_USED_FILE) as tmp:
        tmp.write_text(json.dumps(task.annotation_gold), encoding="utf-8")
    _save_section(task, _section(task), "apply", time.perf_counter() - start)
    return L


def _label_matrices(task) -> dict[str, np.ndarray]:
    table = pd.read_parquet(_require(task, L_FILE, "apply"))
    if list(table.columns) != [lf.name for lf in task.lfs]:
        raise LabelingError(f"{task.run_dir / L_FILE}: its LFs are not the task's current "
                            "LFs; run `labeling apply` again")
    return read_label_matrices(task, table)


def _scores(predictions: dict, Y: dict, labels) -> dict:
    return {s: multilabel_scores(Y[s], predictions[s], labels) for s in Y if s in predictions}


def step_fit(task) -> dict:
    """Fit majority vote and the configured label model per label (thresholds tuned on
    dev); probs.parquet and the label-model scores."""
    cfg, labels = task.config, task.config.labels
    start = time.perf_counter()
    check_writable(task.run_dir)
    L, Y, targets = _label_matrices(task), gold(task), lf_targets(task.lfs, labels)
    models = {}
    for name in dict.fromkeys(("mv", cfg.label_model.name)):
        try:
            model = PerLabelModel(len(labels), targets, name=name, seed=cfg.seed,
                                  params=cfg.label_model.params.get("per_model", {}),
                                  cache_dir=task.run_dir / "cache" / "label_models")
            models[name] = model.fit(L["train"], Y["dev"], L["dev"])
        except (ValueError, TypeError, KeyError) as exc:
            raise LabelingError(f"{cfg.source}: label_model: {exc}") from None
    chosen = models[cfg.label_model.name]
    frames = []
    for split, L_split in L.items():
        proba = chosen.predict_proba(L_split)
        columns = {f"p_{n}": proba[:, c] for c, n in enumerate(labels)}
        columns |= {f"pred_{n}": (proba[:, c] >= chosen.thresholds_[c]).astype(np.int8)
                    for c, n in enumerate(labels)}
        mv = models["mv"].predict(L_split)
        columns |= {f"mv_{n}": mv[:, c] for c, n in enumerate(labels)}
        frames.append(_frame(task, split, columns))
    _write_table(pd.concat(frames), task.run_dir / PROBS_FILE)
    section = _section(task)
    section["label_model"] = {"name": cfg.label_model.name, "chosen_per_label": dict(
        zip(labels, chosen.chosen_)), "thresholds": dict(
        zip(labels, np.round(chosen.thresholds_, 4).tolist())),
        # the chosen model's F1 on out-of-fold dev probabilities (the figure auto chose
        # by): less in-sample than its dev score, for `labeling dev`
        "dev_oof_f1": {n: max(chosen.dev_f1_[c].values()) for c, n in enumerate(labels)}}
    scores = {k: v for k, v in section.get("scores", {}).items()
              if not k.startswith("label_model_")}
    for name, model in models.items():
        scores[f"label_model_{name}"] = _scores({s: model.predict(L[s]) for s in Y}, Y, labels)
    section["scores"] = scores
    if "end_model" in section:  # trained on the previous fit's labels
        section["end_model"]["stale"] = STALE
    return _save_section(task, section, "label_model", time.perf_counter() - start)


def read_probs(task, split: str, prefix: str = "p_") -> np.ndarray:
    """``n x k`` columns ``<prefix><label>`` of probs.parquet for ``split``."""
    table = pd.read_parquet(_require(task, PROBS_FILE, "fit"))
    part = table.xs(split, level="split")
    if list(part.index) != list(task.splits[split]["id"]):
        raise LabelingError(f"{task.run_dir / PROBS_FILE}: does not match the current "
                            f"{split} data; run `labeling fit` again")
    return part[[f"{prefix}{n}" for n in task.config.labels]].to_numpy()


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
    P_weak, Y = read_probs(task, "train"), gold(task)
    name = end_model_name(cfg)
    texts = {s: df["text"].tolist() for s, df in task.splits.items() if df is not None}
    if name == FINETUNE:
        model, proba, predict, gold_predict, fields = _train_finetune(task, P_weak, Y, texts)
    else:
        model, proba, predict, gold_predict, fields = _train_heads(task, name, P_weak, Y, texts)
    save_model(model, task.run_dir / END_MODEL_FILE)
    write_end_probs(task.run_dir, labels, task.splits, proba)
    section = _section(task)
    section["end_model"], section["gold_only"] = fields
    section["n_dev"] = int(len(Y["dev"]))
    section["scores"] = section.get("scores", {}) | {
        "end_model": _scores({s: predict(s) for s in Y}, Y, labels),
        "gold_only": _scores({s: gold_predict(s) for s in Y}, Y, labels)}
    _save_section(task, section, "end_model", time.perf_counter() - start)
    return model


def _per_label(labels, values) -> dict:
    return dict(zip(labels, np.round(values, 4).tolist()))


def _fold_label_model(task, P_weak, Y):
    """The fit step's label model (from its per-label cache), refit per fold of the end
    model's weak-weight CV (docs/gold_budget.md); None without dev."""
    cfg, L = task.config, _label_matrices(task)
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
    predict(split), gold-only predict(split), (end_model, gold_only) metrics fields)``."""
    cfg, labels = task.config, task.config.labels
    params = {k: v for k, v in cfg.end_model.params.items()
              if k in ("gold_weight", "n_folds", "weak_weights")}
    try:
        featurisers = fit_featurisers(texts, FEATURES[name])
    except KeyError:
        raise LabelingError(f"{cfg.source}: end_model: unknown multi-label end model "
                            f"{name!r}; available: {', '.join([*FEATURES, FINETUNE])}") from None
    end = OneVsRestEndModel(name, seed=cfg.seed, **params)
    try:  # the weak rows' weight is chosen by dev CV among these, gold-only (0) first
        end.candidates(P_weak)
    except ValueError as exc:
        raise LabelingError(f"{cfg.source}: end_model: {exc}") from None
    cache = task.run_dir / EMBEDDING_CACHE_DIR
    features = featurise(texts, FEATURES[name], cache, featurisers)
    end.fit(features, P_weak, Y["dev"], fold_probs=_fold_label_model(task, P_weak, Y))
    gold_only = OneVsRestEndModel(name, seed=cfg.seed, **params).fit(features, None, Y["dev"])
    fields = ({"name": name, "gold_weight": end.gold_weight,
               "weak_weight": weight_key(end.weak_weight_), "weak_weight_cv": end.cv_scores_,
               "thresholds": _per_label(labels, end.thresholds_),
               "dev_cv_f1": _per_label(labels, end.dev_cv_f1_)},
              {"dev_cv_f1": _per_label(labels, gold_only.dev_cv_f1_)})
    return (end.text_model(featurisers), {s: end.predict_proba(features, s) for s in texts},
            lambda s: end.predict(features, s), lambda s: gold_only.predict(features, s),
            fields)


def _train_finetune(task, P_weak, Y, texts):
    """``minilm_finetune`` (labeling/train/finetune_multilabel.py), as
    :func:`_train_heads` returns it: fit once, its thresholds and dev F1 from held-out
    dev rows; the gold-only baseline is the default family's, compared on those rows."""
    cfg = task.config
    try:
        model, gold_only, features, fields = fit_task(
            texts, P_weak, Y["dev"], cfg.end_model.params, cfg.labels, cfg.seed,
            task.run_dir / EMBEDDING_CACHE_DIR, _fold_label_model(task, P_weak, Y))
    except (ValueError, TypeError) as exc:  # bad params: checked before any fitting
        raise LabelingError(f"{cfg.source}: end_model: {exc}") from None
    proba = {s: model.predict_proba(t) for s, t in texts.items()}
    return (model, proba, lambda s: (proba[s] >= model.thresholds_).astype(np.int8),
            lambda s: gold_only.predict(features, s), fields)


def step_export(task, out_dir: Path | None = None) -> Path:
    """Export the trained end model with its multi-label model card."""
    start = time.perf_counter()
    out_dir = Path(out_dir) if out_dir else task.run_dir / MODEL_DIR
    check_writable(out_dir)
    model = load_model(_require(task, END_MODEL_FILE, "train"))
    section = _section(task)
    if "end_model" not in section:
        raise LabelingError(f"{task.run_dir}: no multi-label end model in metrics.json; "
                            "run `labeling train` first")
    card = build_card(task.config, section, task.lfs, thresholds_of(model),
                      read_probs(task, "train"), task.annotation_gold)
    parity = [t for s in ("dev", "test") if task.splits.get(s) is not None
              for t in task.splits[s]["text"]]
    with embedding_cache(model, task.run_dir / EMBEDDING_CACHE_DIR):  # parity re-predicts
        out = export_multilabel(model, out_dir, card, parity, task.config.export.int8_scales)
    _save_section(task, section, "export", time.perf_counter() - start)
    return out


def run(task, progress: bool = False, export: bool = True, **apply_overrides) -> dict:
    """Every step of a multi-label run; returns the metrics written."""
    step_apply(task, progress, **apply_overrides)
    step_fit(task)
    step_train(task)
    if export:
        step_export(task)
    return read_metrics(task.run_dir)


def summary(metrics: dict, run_dir) -> str:
    """Test (else dev) macro/micro F1 per model, and where the details are."""
    section = metrics["multi_label"]
    lines = ["model                  split  macro-F1  micro-F1"]
    for name, by_split in section.get("scores", {}).items():
        split = "test" if "test" in by_split else "dev"
        s = by_split[split]
        lines.append(f"{name:<22} {split:<6} {s['macro_f1']:8.3f}  {s['micro_f1']:8.3f}")
    seconds = ", ".join(f"{k} {v:.0f}s" for k, v in section.get("seconds", {}).items())
    lines.append(f"times: {seconds}; per-label tables in {run_dir}/metrics.json, "
                 f"LF analysis in {run_dir}/{LF_ANALYSIS_FILE}")
    if "export" in section.get("seconds", {}):
        lines.append(f"model exported to {Path(run_dir) / MODEL_DIR} "
                     "(`labeling predict -m` prints label sets)")
    return "\n".join(lines)


def command(task, step: str, out: Path | None = None, **apply_overrides) -> None:
    """``labeling apply|fit|train|evaluate|export`` on a multi-label task: the step, then
    its table (the LF loop's steps show dev only; evaluate shows test too)."""
    if step == "apply":
        step_apply(task, apply_overrides.pop("progress", True), **apply_overrides)
        report.print_multilabel_lfs(task.run_dir / LF_ANALYSIS_FILE)
        return
    if step == "export":
        report.console().print(f"exported to {step_export(task, out)}")
        return
    if step == "fit":
        metrics = step_fit(task)
    elif step == "train":
        step_train(task)
        metrics = read_metrics(task.run_dir)
    else:  # evaluate
        metrics = read_metrics(task.run_dir)
        if not (metrics.get("multi_label") or {}).get("scores"):
            raise LabelingError(f"{task.run_dir}: nothing to evaluate; run `labeling fit` "
                                "first")
    report.print_multilabel_scores(metrics, ("dev", "test") if step == "evaluate"
                                   else ("dev",))
