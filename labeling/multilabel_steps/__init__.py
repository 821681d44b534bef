"""The steps of a multi-label run (``multi_label = true``; docs/multilabel.md), each
reading and writing artifacts in the run folder as the single-label steps do:

    apply  -> L.parquet (each LF targets one label and votes 1/0/-1), lf_analysis.csv
    fit    -> probs.parquet (per label: the chosen label model's probability and
              decision, majority vote's decision), metrics.json ``multi_label``
    train  -> end_model.skops (one-vs-rest heads and their gold-only twin's scores),
              end_probs.parquet, metrics.json
    export -> model/ (model.skops, model.onnx for TF-IDF, model_card.json, MODEL_CARD.md)

One module per step (apply.py, fit.py, train.py, export.py; common.py what they share);
``run`` does all four. ``lf_analysis.csv``: per LF and label, coverage, overlaps,
conflicts (train) and dev precision/recall. Scores: macro/micro F1 and per-label tables
for every model and split in ``metrics.json``'s ``multi_label`` section.
"""

from __future__ import annotations

from pathlib import Path

from labeling import report
from labeling.apply.applier import cache_use_line
from labeling.artifacts import check_gold_unchanged, read_metrics
from labeling.errors import LabelingError
from labeling.multilabel_steps.apply import apply_all, lf_analysis, step_apply
from labeling.multilabel_steps.common import (END_MODEL_FILE, LF_ANALYSIS_FILE, MODEL_DIR,
                                              gold, label_matrices, lf_targets, read_probs)
from labeling.multilabel_steps.export import step_export
from labeling.multilabel_steps.fit import step_fit
from labeling.multilabel_steps.train import BASELINES, end_model_name, step_train

__all__ = ["END_MODEL_FILE", "LF_ANALYSIS_FILE", "MODEL_DIR", "apply_all", "command",
           "end_model_name", "gold", "label_matrices", "lf_analysis", "lf_targets",
           "read_probs", "run", "step_apply", "step_export", "step_fit", "step_train",
           "summary"]


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
    lines, in_sample = ["model                  split  macro-F1  micro-F1"], False
    for name, by_split in section.get("scores", {}).items():
        split = "test" if "test" in by_split else "dev"
        s, mark = by_split[split], "*" if split == "dev" else ""  # every model's dev
        in_sample = in_sample or bool(mark)  # thresholds were tuned on the dev gold
        lines.append(f"{name:<22} {split:<6} {s['macro_f1']:8.3f}{mark:1} "
                     f"{s['micro_f1']:8.3f}{mark}")
    if in_sample:
        lines.append("* in-sample: fit on the dev gold, thresholds tuned there; no test "
                     "split, so no held-out score (the dev CV line below is the estimate)")
    gold = section.get("gold_only") or {}
    if gold.get("text") and not (section.get("end_model") or {}).get("stale"):
        lines.append(f"[bold red]WARNING: {gold['text']}[/]" if gold.get("loud")
                     else f"gold-only baseline: {gold['text']}")
    lines += [f"{kind}: {line}" for kind, line in _warnings(metrics)]
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
        report.console().print(cache_use_line(read_metrics(task.run_dir)["multi_label"]
                                              .get("cache_use")), highlight=False)
        for kind, line in _warnings(read_metrics(task.run_dir)):  # as the single-label apply
            report.console().print(f"[yellow]{kind}:[/] {line}", highlight=False)
        return
    if step == "export":
        report.console().print(f"exported to {step_export(task, out)}")
        return
    if step == "fit":
        metrics = step_fit(task)
        if "end_model" in metrics["multi_label"]:  # trained on the previous fit's labels:
            # its scores beside the new label model's would read as one consistent run
            report.print_multilabel_scores(_without_end_model(metrics), ("dev",))
            report.console().print("end model: not shown (stale: trained before this "
                                   "fit); run `labeling train` and `labeling export` to "
                                   "update it")
            return
    elif step == "train":
        step_train(task)
        metrics = read_metrics(task.run_dir)
    else:  # evaluate
        metrics = read_metrics(task.run_dir)
        if not (metrics.get("multi_label") or {}).get("scores"):
            raise LabelingError(f"{task.run_dir}: nothing to evaluate; run `labeling fit` "
                                "first")
        check_gold_unchanged(task, metrics)  # scores computed against gold since corrected
    report.print_multilabel_scores(metrics, ("dev", "test") if step == "evaluate"
                                   else ("dev",))


def _without_end_model(metrics: dict) -> dict:
    """``metrics`` with the end model and its gold-only twins left out of the
    ``multi_label`` section (what ``labeling fit`` shows once they are stale)."""
    section = {k: v for k, v in metrics["multi_label"].items()
               if k not in ("end_model", *BASELINES)}
    section["scores"] = {k: v for k, v in section.get("scores", {}).items()
                         if k not in ("end_model", *BASELINES)}
    return metrics | {"multi_label": section}


def _warnings(metrics: dict) -> list[tuple[str, str]]:
    """What the last apply found, as ``(kind, line)``: labels the run cannot learn
    (:func:`labeling.multilabel_steps.apply.label_warnings`), leakage (dev or test rows
    whose id or text is also in an earlier split, labeling.data.leakage_report) and
    faults (an LF that raised in a fault-tolerant apply: its count and first error)."""
    section = metrics.get("multi_label") or {}
    out = [("warning", w) for w in section.get("label_warnings", [])]
    out += [("warning", w) for w in (metrics.get("leakage") or {}).get("warnings", [])]
    faults = section.get("faults") or {}
    return out + [("faults", f"{report.raised_on(name, faults['counts'][name])} "
                             f"(abstained there); first: {first}")
                  for name, first in (faults.get("first") or {}).items()]
