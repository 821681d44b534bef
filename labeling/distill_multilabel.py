"""`labeling report` for multi-label tasks: the end model against the label models,
majority vote, the gold-only baseline and each prompt LF, on the test split.

Per row: macro and micro F1 (per-label tables in report.json), latency per doc and
cost per 1M docs, as the single-label report (:mod:`labeling.distill`) measures them:
the end model is the exported model as ``labeling predict`` serves it (its label sets:
the card's thresholds), timed now; a prompt LF targets one label, so it is scored as a
detector of that label (precision/recall/F1 of its "applies" votes; its abstentions
and "does not apply" votes both mean "not this label") and costed from the run's
requests, cache or an estimate; a multi-label prompt LF gives one such row per label
column, each with the cost of its one shared request per doc; label model and majority
vote cost the sum of the distinct prompts'. Writes report.json and report.md in the run folder.
"""

from __future__ import annotations

import datetime as _dt
import json

import numpy as np
import pandas as pd

from labeling import multilabel_steps as steps
from labeling.artifacts import (L_FILE, PROBS_FILE, check_gold_unchanged, check_step_order,
                                read_metrics)
from labeling.distill import (_all_lfs_cost, asked_settings, check_lfs_as_asked,
                              prompt_lf_cost, time_end_model)
from labeling.distill_output import (REPORT_JSON, REPORT_MD, end_model_ms, source_line,
                                     timing_notes)
from labeling.errors import LabelingError
from labeling.export import load_exported, load_model
from labeling.export.multilabel_io import multilabel_thresholds
from labeling.llm.plan import token_rule
from labeling.llm.prompt import PromptLF
from labeling.models.multilabel import multilabel_scores
from labeling.report import console
from labeling.train.multilabel_model import thresholds_of
from rich.markup import escape
from rich.table import Table


def _end_model(task):
    """``(predict_proba(texts), thresholds, description)``: the exported model, else
    the run's end_model.skops."""
    model_dir = task.run_dir / steps.MODEL_DIR
    if (model_dir / "model_card.json").is_file():
        exported = load_exported(model_dir, "sklearn")
        return (exported.predict_proba, multilabel_thresholds(exported),
                f"exported model {model_dir.name}/ as `labeling predict` serves it")
    model = load_model(task.run_dir / steps.END_MODEL_FILE)
    return model.predict_proba, thresholds_of(model), steps.END_MODEL_FILE


def _timed(predict_proba, texts: list[str], n_single: int = 200) -> tuple[np.ndarray, dict]:
    """The test set's probabilities and the end model timed as the single-label report
    times it (:func:`labeling.distill.time_end_model`: batch best of 3, one at a time)."""
    kept = {}

    def keep(batch):  # the batch's probabilities, not time_end_model's argmax
        proba = predict_proba(batch)
        if len(batch) == len(texts):
            kept["proba"] = proba
        return proba

    timing = time_end_model(keep, texts, n_single)
    timing.pop("pred")
    return kept["proba"], timing


def _detector(Y: np.ndarray, votes: np.ndarray, c: int) -> dict:
    hit, gold = votes == 1, Y[:, c] == 1
    tp = int((hit & gold).sum())
    p = tp / hit.sum() if hit.any() else 0.0
    r = tp / gold.sum() if gold.any() else 0.0
    return {"precision": float(p), "recall": float(r),
            "f1": float(2 * p * r / (p + r)) if p + r else 0.0,
            "coverage": float((votes != -1).mean())}


def build_report(task, n_single: int = 200) -> dict:
    """The multi-label report of ``task``'s finished run; nothing is written."""
    cfg, labels = task.config, task.config.labels
    missing = [n for n in (L_FILE, PROBS_FILE, steps.END_MODEL_FILE)
               if not (task.run_dir / n).is_file()]
    if missing:
        raise LabelingError(f"{task.run_dir}: no finished run (missing {', '.join(missing)}); "
                            "run `labeling run` first")
    Y = steps.gold(task).get("test")
    if Y is None:
        raise LabelingError(f"{cfg.source}: the report needs a test split with gold label "
                            "sets (data.test with a label column)")
    metrics = read_metrics(task.run_dir)
    # the prompt LFs as the run asked them (an [llm] model edited since), as distill.py
    asked, asked_note = asked_settings(task, metrics)
    # the rows come from different steps (the label models' decisions from fit, the
    # gold-only scores from train, the end model from export): all of the same run,
    # of the LFs applied and against the test gold they were scored on
    check_step_order(task.run_dir, [(L_FILE, "apply"), (PROBS_FILE, "fit"),
                                    (steps.END_MODEL_FILE, "train"),
                                    (f"{steps.MODEL_DIR}/model_card.json", "export")],
                     "report")
    check_lfs_as_asked(task, asked)
    check_gold_unchanged(task, metrics)
    section = metrics.get("multi_label") or {}
    test_df = task.splits["test"]
    predict_proba, thresholds, served = _end_model(task)
    proba, timing = _timed(predict_proba, test_df["text"].tolist(), n_single)
    rows = [{"name": f"end model ({section.get('end_model', {}).get('name')})",
             "kind": "end_model", **multilabel_scores(Y, (proba >= thresholds).astype(int),
                                                      labels),
             **timing, "source": f"label sets and latency of the {served}",
             "latency_note": f"measured now, wall-clock ms per doc: the test set in one "
                             f"batch of {len(Y)} (best of 3) divided by {len(Y)}, and one "
                             f"text at a time (mean over {timing['n_single']} texts)",
             "cost_per_1m_docs": 0.0, "estimated": False,
             "cost_note": f"no LLM call; ~{timing['cpu_s_per_1m_docs']:.0f} CPU-seconds per "
                          "1M docs on this machine"}]
    prompt_rows, costs = [], {}
    L_test = steps.label_matrices(task)["test"]
    llm_stats = (metrics.get("llm") or {}).get("lfs", {})
    for j, lf in enumerate(task.lfs):
        prompt = lf if isinstance(lf, PromptLF) else getattr(lf, "prompt_lf", None)
        if not isinstance(prompt, PromptLF):
            continue
        c = labels.index(lf.target_label)
        if prompt.name not in costs:  # a multi-label prompt's columns share its requests
            costs[prompt.name] = prompt_lf_cost(prompt, llm_stats.get(prompt.name), asked,
                                                labels, test_df, cfg.llm_cache_path)
        shared = {"shared_with": prompt.name} if prompt is not lf else {}
        prompt_rows.append({"name": f"prompt LF {lf.name} (detector of {labels[c]})",
                            "kind": "prompt_lf", "label": labels[c],
                            **_detector(Y, L_test[:, j].astype(int), c),
                            **costs[prompt.name], **shared})
    # every LF on a doc: each distinct prompt once
    one_per_prompt = list({r.get("shared_with", r["name"]): r for r in prompt_rows}.values())
    probs = pd.read_parquet(task.run_dir / PROBS_FILE).xs("test", level="split")
    for kind, prefix, title in (("label_model", "pred_",
                                 f"label model ({section.get('label_model', {}).get('name')})"),
                                ("majority_vote", "mv_", "majority vote")):
        pred = probs[[f"{prefix}{n}" for n in labels]].to_numpy()
        rows.append({"name": title, "kind": kind, **multilabel_scores(Y, pred, labels),
                     **_all_lfs_cost(one_per_prompt)})
    gold_only = (section.get("scores") or {}).get("gold_only", {}).get("test")
    if gold_only:
        name = (section.get("gold_only") or {}).get("name")
        rows.append({"name": f"gold-only baseline ({name + ', ' if name else ''}"
                             f"{section.get('n_dev')} dev label sets)",
                     "kind": "gold_only", **gold_only, "latency_s": None,
                     "latency_note": "not timed: the same model family as the end model",
                     "source": "test scores of the run's gold-only model (metrics.json)",
                     "cost_per_1m_docs": 0.0, "estimated": False, "cost_note": "no LLM call"})
    return {"task": cfg.name, "run_dir": str(task.run_dir), "split": "test",
            "n": int(len(Y)), "labels": labels, "multi_label": True,
            "thresholds": dict(zip(labels, np.round(thresholds, 4).tolist())),
            "token_rule": token_rule(),
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "rows": rows + prompt_rows,
            "notes": ["Macro F1: the mean of per-label F1s; micro F1: over all (row, label) "
                      "decisions. A prompt LF votes on one label: its F1 column is that "
                      "label's F1 as a detector (abstaining = 'not this label'). The "
                      "columns of a multi-label prompt LF (name:label) share one request "
                      "per doc: each shows the prompt's whole cost, counted once in the "
                      "label model's.",
                      "Cost per 1M docs = tokens per doc x price per 1M tokens; end model: "
                      "$0 of LLM, CPU time noted."] + timing_notes(rows[0])
            + ([asked_note] if asked_note and prompt_rows else [])}


def _cells(row: dict) -> list[str]:
    def num(value, fmt="{:.3f}"):
        return "-" if value is None else fmt.format(value)

    if row["kind"] == "prompt_lf":
        f1s = ["-", num(row["f1"])]
    else:
        f1s = [num(row["macro_f1"]), num(row["micro_f1"])]
    if row["kind"] == "end_model":
        ms = end_model_ms(row)  # as the single-label report: each latency named
    else:
        ms = "not measured" if row.get("latency_s") is None else f"{row['latency_s'] * 1e3:.1f}"
    cost = row.get("cost_per_1m_docs")
    return [row["name"], *f1s, ms, "?" if cost is None else
            ("~" if row.get("estimated") else "") + f"{cost:,.2f}"]


COLUMNS = ("model", "test macro-F1", "test micro-F1 (LF: F1)", "ms/doc", "$ / 1M docs")


def per_label_lines(report: dict) -> list[str]:
    models = [r for r in report["rows"] if "per_label" in r]
    lines = ["Per label on test (F1; end model: precision / recall / F1):", "",
             "| label | threshold | " + " | ".join(r["name"] for r in models) + " |",
             "|---|---|" + "---|" * len(models)]
    for label in report["labels"]:
        cells = []
        for r in models:
            s = r["per_label"][label]
            cells.append(f"{s['precision']:.2f} / {s['recall']:.2f} / {s['f1']:.2f}"
                         if r["kind"] == "end_model" else f"{s['f1']:.3f}")
        lines.append(f"| {label} | {report['thresholds'][label]:.3f} | "
                     + " | ".join(cells) + " |")
    return lines


def format_markdown(report: dict) -> str:
    lines = [f"# Distillation report: {report['task']} (multi-label)", "",
             f"Test split, {report['n']} docs; created {report['created']}.", "",
             "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(_cells(r)) + " |" for r in report["rows"]]
    lines += [""] + per_label_lines(report) + ["", "Sources per row:", ""]
    lines += [f"- {source_line(row)}" for row in report["rows"]]
    lines += ["", f"Token rule for estimates: {report['token_rule']}.", ""]
    return "\n".join(lines + [f"- {n}" for n in report["notes"]]) + "\n"


def command(task) -> None:
    """Build, write (report.json, report.md) and print the report."""
    report = build_report(task)
    (task.run_dir / REPORT_JSON).write_text(json.dumps(report, indent=2) + "\n",
                                            encoding="utf-8")
    (task.run_dir / REPORT_MD).write_text(format_markdown(report), encoding="utf-8")
    print_report(report)
    console().print(f"written: {task.run_dir / REPORT_JSON}, {task.run_dir / REPORT_MD}")


def print_report(report: dict) -> None:
    """The terminal's report: the table, the per-label table, the sources and notes."""
    table = Table(title=f"distillation report: {report['task']} (multi-label, test, "
                        f"{report['n']} docs)")
    for column in COLUMNS:
        table.add_column(column, justify="left" if column == "model" else "right")
    for row in report["rows"]:
        table.add_row(*_cells(row))
    console().print(table)
    for line in per_label_lines(report):
        console().print(line, markup=False, highlight=False)
    # as the single-label report: what the end model's two latencies are, and what a
    # prompt LF's cost is made of (a local-backend run's dollars: an estimate, none spent)
    for row in report["rows"]:
        if row["kind"] in ("end_model", "prompt_lf"):
            console().print(f"[dim]{escape(source_line(row))}[/]")
    if any(row.get("estimated") for row in report["rows"]):
        console().print(f"[dim]Token rule for estimates: {escape(report['token_rule'])}.[/]")
    for note in report["notes"]:
        console().print(f"[dim]{escape(note)}[/]")
