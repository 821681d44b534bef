"""`labeling run` for multi-label tasks (``multi_label = true``; docs/multilabel.md).

Steps: apply the LFs (each targets one label and votes 1/0/-1), check the votes, fit
the per-label label models, train the one-vs-rest end model and its gold-only twin,
and write ``metrics.json`` (macro/micro F1 and per-label tables for every model and
split) and ``lf_analysis.csv`` (per LF and label: coverage, overlaps, conflicts, dev
precision/recall) in the run folder.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from labeling.apply.applier import apply_lfs
from labeling.artifacts import update_metrics
from labeling.errors import LFError
from labeling.files import atomic_write
from labeling.models.multilabel import PerLabelModel, indicator, multilabel_scores
from labeling.train.multilabel import FEATURES, OneVsRestEndModel, featurise

LF_ANALYSIS_FILE = "lf_analysis.csv"


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


def apply_all(task, progress: bool = False, **overrides) -> dict[str, np.ndarray]:
    """``{split: L}``; votes outside {-1, 0, 1} are errors naming the LF and row.
    ``overrides`` (the CLI's, None = the config's) win over ``[apply]``."""
    opts = task.config.apply.model_copy(
        update={k: v for k, v in overrides.items() if v is not None})
    cache = task.run_dir / "cache" if opts.cache else None
    return {split: apply_lfs(df, task.lfs, cardinality=2, engine=opts.engine,
                             n_jobs=opts.n_jobs, cache_dir=cache,
                             fault_tolerant=opts.fault_tolerant, split=split,
                             progress=progress)
            for split, df in task.splits.items() if df is not None}


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


def _scores(predict, Y: dict, labels) -> dict:
    return {split: multilabel_scores(Y[split], predict(split), labels) for split in Y}


def run(task, progress: bool = False, **apply_overrides) -> dict:
    """Every step of a multi-label run; returns the metrics written."""
    cfg, labels = task.config, task.config.labels
    if task.splits.get("dev") is None:
        raise LFError(f"{cfg.source}: a multi-label run needs data.dev gold label sets "
                      "(thresholds are tuned on dev)")
    k, times = len(labels), {}
    task.run_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    targets = lf_targets(task.lfs, labels)
    L = apply_all(task, progress, **apply_overrides)
    times["apply"] = time.perf_counter() - start
    Y = {s: indicator(task.splits[s]["label"].tolist(), k)
         for s in ("dev", "test") if task.splits.get(s) is not None}

    start = time.perf_counter()
    label_models = {}
    for name in ("mv", cfg.label_model.name):
        lm = PerLabelModel(k, targets, name=name, seed=cfg.seed,
                           params=cfg.label_model.params.get("per_model", {}))
        label_models[name] = lm.fit(L["train"], Y["dev"], L["dev"])
    chosen = label_models[cfg.label_model.name]
    times["label_model"] = time.perf_counter() - start

    start = time.perf_counter()
    end_name = cfg.end_model.name if cfg.end_model.name != "auto" else "tfidf_minilm_avg"
    params = {k_: v for k_, v in cfg.end_model.params.items() if k_ in ("gold_weight",
                                                                        "n_folds")}
    texts = {s: df["text"].tolist() for s, df in task.splits.items() if df is not None}
    features = featurise(texts, FEATURES[end_name], task.run_dir / "cache")
    end = OneVsRestEndModel(end_name, seed=cfg.seed, **params).fit(
        features, chosen.predict_proba(L["train"]), Y["dev"])
    gold_only = OneVsRestEndModel(end_name, seed=cfg.seed, **params).fit(
        features, None, Y["dev"])
    times["end_model"] = time.perf_counter() - start

    analysis = lf_analysis(L, targets, Y["dev"], task.lfs, labels)
    with atomic_write(task.run_dir / LF_ANALYSIS_FILE) as tmp:
        analysis.to_csv(tmp, index=False)
    models = {f"label_model_{n}": (lambda s, m=m: m.predict(L[s]))
              for n, m in label_models.items()}
    models["end_model"] = lambda s: end.predict(features, s)
    models["gold_only"] = lambda s: gold_only.predict(features, s)
    metrics = {"multi_label": {
        "labels": labels,
        "label_model": {"name": cfg.label_model.name, "chosen_per_label": dict(
            zip(labels, chosen.chosen_)), "thresholds": dict(
            zip(labels, np.round(chosen.thresholds_, 4).tolist()))},
        "end_model": {"name": end_name, "thresholds": dict(
            zip(labels, np.round(end.thresholds_, 4).tolist())),
            "dev_cv_f1": dict(zip(labels, np.round(end.dev_cv_f1_, 4).tolist()))},
        "scores": {name: _scores(f, Y, labels) for name, f in models.items()},
        "seconds": {s: round(t, 1) for s, t in times.items()},
        "notes": "dev scores of label and end models are in-sample (dev gold fit them and "
                 "tuned their thresholds); test is the held-out figure",
    }}
    return update_metrics(task.run_dir, **metrics)


def summary(metrics: dict, run_dir) -> str:
    """Test (else dev) macro/micro F1 per model, and where the details are."""
    section = metrics["multi_label"]
    lines = ["model                  split  macro-F1  micro-F1"]
    for name, by_split in section["scores"].items():
        split = "test" if "test" in by_split else "dev"
        s = by_split[split]
        lines.append(f"{name:<22} {split:<6} {s['macro_f1']:8.3f}  {s['micro_f1']:8.3f}")
    seconds = ", ".join(f"{k} {v:.0f}s" for k, v in section["seconds"].items())
    lines.append(f"times: {seconds}; per-label tables in {run_dir}/metrics.json, "
                 f"LF analysis in {run_dir}/{LF_ANALYSIS_FILE}")
    return "\n".join(lines)
