"""How the distillation report (:mod:`labeling.distill`) is shown: report.json, report.md
and the terminal table, with the gold-only comparison, the learning curve as a table,
and per-class scores on tasks of more than two classes."""

from __future__ import annotations

import json
from pathlib import Path

from rich.markup import escape
from rich.table import Table
from rich.text import Text

from labeling.metrics import per_class_cell
from labeling.report import console
from labeling.train.gold_budget import dev_cv_text

REPORT_JSON, REPORT_MD = "report.json", "report.md"


def write_report(report: dict, run_dir: Path) -> tuple[Path, Path]:
    """report.json and report.md in ``run_dir``."""
    run_dir = Path(run_dir)
    json_path, md_path = run_dir / REPORT_JSON, run_dir / REPORT_MD
    json_path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    md_path.write_text(format_markdown(report), encoding="utf-8")
    return json_path, md_path


COLUMNS = ("model", "test acc", "test F1", "coverage", "acc covered", "ms/doc",
           "$ / 1M docs", "saves $ / 1M", "x slower")


def _cells(row: dict) -> list[str]:
    def num(value, fmt="{:.3f}"):
        return "-" if value is None else fmt.format(value)

    if row["kind"] == "end_model":
        ms = end_model_ms(row)
    else:
        ms = "not measured" if row["latency_s"] is None else f"{row['latency_s'] * 1e3:.1f}"
    tilde = "~" if row.get("estimated") else ""
    cost = row["cost_per_1m_docs"]
    f1 = num(row["f1"]) + (f" (F1 of {row['f1_of']})" if row.get("f1_of") else "")
    return [row["name"], num(row["accuracy"]), f1, num(row["coverage"]),
            num(row["covered_accuracy"]), ms,
            "?" if cost is None else f"{tilde}{cost:,.2f}",
            "?" if row["saves_per_1m_docs"] is None else f"{tilde}{row['saves_per_1m_docs']:,.2f}",
            num(row["latency_vs_end_model"],  # 0.3x, not "0x", for a prompt LF faster
                "{:,.0f}x" if (row["latency_vs_end_model"] or 0) >= 10 else "{:.1f}x")]


def end_model_ms(row: dict) -> str:
    """The end model's two per-doc latencies, each named by how it was timed:
    ``0.417 in a batch of 264; 31.204 one at a time`` (a bare ``0.417 (1-by-1 31.204)``
    read as two measures of one thing, or the first as a batch's time)."""
    batch = f" of {row['n_batch']}" if row.get("n_batch") else ""
    return (f"{row['latency_s'] * 1e3:.3f} in a batch{batch}; "
            f"{row['latency_single_s'] * 1e3:.3f} one at a time")


def timing_notes(row: dict) -> list[str]:
    """A note when the end model's batch took longer per doc than one text alone: most
    likely wall clock on a busy machine, so with the CPU time per doc of each, which
    other processes do not inflate."""
    batch, one = row.get("latency_s"), row.get("latency_single_s")
    if batch is None or one is None or batch <= one:
        return []
    cpu_batch, cpu_one = row.get("cpu_s_per_1m_docs"), row.get("cpu_single_s")
    cpu = (f" (CPU time per doc: {cpu_batch / 1e3:.3f} ms in the batch, {cpu_one * 1e3:.3f} "
           "ms one at a time)" if cpu_batch is not None and cpu_one is not None else "")
    return [f"End model timing: a doc took longer in the batch ({batch * 1e3:.3f} ms) than "
            f"alone ({one * 1e3:.3f} ms) in wall-clock time, most likely as the machine was "
            f"busy while it was timed{cpu}; run `labeling report` again on a quiet machine "
            "for latencies to rely on."]


def columns(report: dict) -> tuple[str, ...]:
    return tuple(report.get("f1_column", "test F1") if c == "test F1" else c for c in COLUMNS)


def gold_budget_lines(report: dict) -> list[str]:
    """The gold-only comparison and the learning curve (a table: one row per dev budget)."""
    budget = report.get("gold_budget") or {}
    lines = []
    if budget.get("gold_only_cv") is not None:
        lines += [dev_cv_text(budget["metric"], budget["end_model_cv"], budget["gold_only_cv"],
                              budget["n_dev"], budget.get("end_model_cv_nested")) + "."]
    if budget.get("text"):
        lines += [("**WARNING: " + budget["text"] + "**") if budget["loud"] else budget["text"]]
    if budget.get("worth"):
        lines += [budget["worth"][0].upper() + budget["worth"][1:] + "."]
    if budget.get("curve"):
        lines += ["", "Learning curve (scored on the dev rows outside each budget; mean "
                      "[min-max] over seeds):", "", "| dev labels | pipeline | gold-only |",
                  "|---|---|---|"]
        by_size = {}
        for row in budget["curve"]:
            by_size.setdefault(row["labels"], {})[row["model"]] = (
                f"{row['mean']:.3f} [{row['min']:.3f}-{row['max']:.3f}]")
        lines += [f"| {n} | {r.get('pipeline', '-')} | {r.get('gold_only', '-')} |"
                  for n, r in by_size.items()]
    return lines + ([""] if lines else [])


def per_class_lines(report: dict) -> list[str]:
    rows = [r for r in report["rows"] if r.get("per_class")]
    if not rows:
        return []
    lines = ["Per class on test (precision / recall / F1; '-': no test gold row of the "
             "class, left out of macro-F1):", "",
             "| model | " + " | ".join(report["labels"]) + " |",
             "|---|" + "---|" * len(report["labels"]),
             "| test gold rows | " + " | ".join(str(c["support"]) for c in rows[0]["per_class"])
             + " |"]
    for r in rows:
        lines.append(f"| {r['name']} | " + " | ".join(per_class_cell(c) for c in r["per_class"])
                     + " |")
    return lines + [""]


def format_markdown(report: dict) -> str:
    cols = columns(report)
    lines = [f"# Distillation report: {report['task']}", "",
             f"Test split, {report['n']} docs; created {report['created']}.", "",
             "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(_cells(row)) + " |" for row in report["rows"]]
    lines += [""] + gold_budget_lines(report) + per_class_lines(report)
    lines += ["", "Sources per row:", ""]
    lines += [f"- {source_line(row)}" for row in report["rows"]]
    lines += ["", f"Token rule for estimates: {report['token_rule']}.", ""]
    lines += [f"- {note}" for note in report["notes"]]
    return "\n".join(lines) + "\n"


def source_line(row: dict) -> str:
    """``name: where its numbers come from; latency note; cost note``."""
    source, latency = row.get("source") or "", row.get("latency_note") or ""
    if latency.startswith("not measured: ") and latency.split(": ", 1)[1] in source:
        latency = "latency not measured"  # its reason, said once ("the run used the local ...")
    bits = (source, latency, row.get("cost_note"))
    return f"{row['name']}: " + "; ".join(b for b in bits if b)


def print_report(report: dict) -> None:
    table = Table(title=f"distillation report: {report['task']} (test, {report['n']} docs)")
    for column in columns(report):
        table.add_column(column, justify="left" if column == "model" else "right")
    for row in report["rows"]:  # a name is not markup: "ask[spam]" stays
        table.add_row(*map(Text, _cells(row)))
    console().print(table)
    for line in gold_budget_lines(report) + per_class_lines(report):
        if line.startswith("**WARNING"):
            console().print(f"[bold red]{line.strip('*')}[/]", markup=True)
        elif line:
            console().print(line, markup=False)
    # what a prompt LF's cost is made of (report.md has every row's): a local-backend
    # run's dollars are an estimate at the endpoint model's price, nothing spent
    for row in report["rows"]:  # the end model's: what its two latencies are
        if row["kind"] in ("end_model", "prompt_lf"):
            console().print(f"[dim]{escape(source_line(row))}[/]")
    if any(row.get("estimated") for row in report["rows"]):
        console().print(f"[dim]Token rule for estimates: {escape(report['token_rule'])}.[/]")
    for note in report["notes"]:
        console().print(f"[dim]{escape(note)}[/]")
