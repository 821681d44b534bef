"""The apply step of a multi-label run: every LF on every split -> L.parquet (each LF
targets one label and votes 1/0/-1) and lf_analysis.csv."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from labeling.apply import applied
from labeling.apply.applier import apply_lfs
from labeling.apply.dask_engine import one_local_cluster  # dask itself: only if used
from labeling.apply.votes import FaultLog
from labeling.artifacts import (L_FILE, _write_table, gold_digests, leakage_section,
                                record_annotations, rows_digests, update_metrics)
from labeling.errors import LFError
from labeling.files import atomic_write, check_writable
from labeling.multilabel_steps.common import (LF_ANALYSIS_FILE, frame, gold, lf_targets,
                                              load_section, save_section)
from labeling.pipeline import llm_runtime


def apply_all(task, progress: bool = False, lfs=None, faults: FaultLog | None = None,
              cache_use: dict | None = None, **overrides) -> dict[str, np.ndarray]:
    """``{split: L}`` of ``lfs`` (default: all the task's); votes outside {-1, 0, 1} are
    errors naming the LF and row. With ``fault_tolerant``, an LF raising abstains on that
    row and ``faults`` counts it.
    ``overrides`` (the CLI's, None = the config's) win over ``[apply]``. Prompt LFs are
    answered in one LLM runtime (the task's cache and budget, checked before any call);
    its stats go to metrics.json ``llm``, also when a split fails."""
    lfs = task.lfs if lfs is None else lfs
    opts = task.config.apply.model_copy(
        update={k: v for k, v in overrides.items() if v is not None})
    cache = task.run_dir / "cache" if opts.cache else None
    splits = {split: df for split, df in task.splits.items() if df is not None}
    with llm_runtime(task, progress) as runtime, one_local_cluster():
        if runtime is not None:
            runtime.check_budget(runtime.plan(lfs, splits))
        try:
            matrices = {}
            for split, df in splits.items():
                if runtime is not None:
                    runtime.split = split  # named in its messages
                matrices[split] = apply_lfs(df, lfs, cardinality=2, engine=opts.engine,
                                            n_jobs=opts.n_jobs, cache_dir=cache,
                                            fault_tolerant=opts.fault_tolerant,
                                            faults=faults, split=split, progress=progress,
                                            cache_use=cache_use if cache else None)
            return matrices
        finally:
            if runtime is not None:
                update_metrics(task.run_dir, llm=runtime.report())


def lf_analysis(L: dict, targets, Y_dev, lfs, labels,
                fault_counts: dict | None = None) -> pd.DataFrame:
    """Per LF: its label; coverage, overlap (another LF on the same label also votes)
    and conflict (one votes 1, another 0 on that label) on train; dev precision and
    recall of its "applies" votes against the label's gold; with ``fault_counts`` (when
    an LF raised in a fault-tolerant apply) the rows it raised on, ``faults``."""
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
        if fault_counts:
            row["faults"] = int(fault_counts.get(lf.name, 0))
        rows.append(row)
    return pd.DataFrame(rows).round(4)


def label_warnings(targets, Y_dev: np.ndarray, labels: list[str], dev) -> list[str]:
    """What makes a label unlearnable or the task not multi-label, one line each: labels
    no LF targets (the label model gives every row the label's dev prevalence), labels
    no dev gold set names (nothing tunes their threshold or weak weight), and dev gold
    sets that all name one label (a single-label task declared ``multi_label``)."""
    out = []
    untargeted = [n for c, n in enumerate(labels) if c not in set(np.asarray(targets).tolist())]
    if untargeted:
        names = ", ".join(map(repr, untargeted))
        out.append(f"no LF targets {names}: the label model gives every row its dev "
                   "prevalence, so its label-model decision is the same on every row; add "
                   f"an LF for it (for_label({untargeted[0]!r}, ...)), or only its dev gold "
                   "rows teach it to the end model")
    absent = [n for c, n in enumerate(labels) if not Y_dev[:, c].any()]
    if absent:
        out.append(f"{dev}: no dev gold label set names {', '.join(map(repr, absent))}: its "
                   "dev F1 is 0 whatever is predicted, so dev CV cannot tune its threshold "
                   "or its weak weight and the end model learns it from the gold alone, "
                   "where it has no row (it will almost never be predicted); add dev rows "
                   "that carry it")
    if len(Y_dev) >= 20 and (Y_dev.sum(axis=1) == 1).all():
        out.append(f"{dev}: every one of the {len(Y_dev)} dev gold label sets names exactly "
                   "one label: if each row has one label, drop `multi_label = true` (a "
                   "single-label task weighs the LFs of all labels against each other and "
                   "predicts one label per row)")
    return out


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
    lfs, previous = applied.lfs_to_apply(task, only)
    faults, cache_use = FaultLog(), {}
    L = apply_all(task, progress, lfs, faults, cache_use, **overrides)
    if previous is not None:  # splice the applied columns into the last full apply
        columns = [names.index(lf.name) for lf in lfs]
        for split, part in L.items():
            L[split] = previous[split].astype(part.dtype, copy=True)
            L[split][:, columns] = part
    _write_table(pd.concat([frame(task, s, dict(zip(names, L[s].T))) for s in L]),
                 task.run_dir / L_FILE)
    section = load_section(task)
    kept = {} if previous is None else section.get("faults", {})  # the LFs not re-applied
    names_now = {lf.name for lf in lfs}
    section["faults"] = {key: {n: v for n, v in kept.get(key, {}).items()
                               if n not in names_now and n in names} | new
                         for key, new in (("counts", faults.counts), ("first", faults.first))}
    analysis = lf_analysis(L, targets, gold(task)["dev"], task.lfs, cfg.labels,
                           section["faults"]["counts"])
    with atomic_write(task.run_dir / LF_ANALYSIS_FILE) as tmp:
        analysis.to_csv(tmp, index=False)
    # the annotations merged into dev, as the single-label apply records them: the app
    # and `labeling show` rebuild exactly this run's dev split from it (sets as lists)
    record_annotations(task)
    update_metrics(task.run_dir, applied_lfs=task.applied_lfs, leakage=leakage_section(task),
                   gold_at_summary=gold_digests(task),  # the gold of lf_analysis.csv
                   rows_at_apply=rows_digests(task))
    section["cache_use"] = cache_use  # `labeling apply` prints it
    section["label_warnings"] = label_warnings(targets, gold(task)["dev"], cfg.labels,
                                               cfg.data.dev)  # apply and run print them
    save_section(task, section, "apply", time.perf_counter() - start)
    return L
