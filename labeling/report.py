"""Readable terminal output for runs: the LF summary and the scores table."""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.table import Table
from rich.text import Text

SCORE_ROWS = (("majority vote", "majority_vote"), ("label model", "label_model"),
              ("end model", "end_model"))


@functools.lru_cache(maxsize=1)
def console() -> Console:
    plain = Console(highlight=False)
    # Piped output would wrap at 80 columns and truncate LF names; tables want more.
    return plain if plain.is_terminal else Console(highlight=False, width=140)


def _fmt(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def print_lf_summary(run_dir: Path) -> None:
    summary = pd.read_csv(Path(run_dir) / "lf_summary.csv", index_col="lf")
    table = Table(title="labeling functions (train: coverage/overlaps/conflicts; dev: accuracy)")
    headers = {"polarity": "votes", "coverage": "cov", "overlaps": "overlap",
               "conflicts": "conflict", "dev_accuracy": "dev acc", "learned_accuracy": "learned",
               "faults": "faults"}
    columns = [c for c in headers if c in summary.columns]
    table.add_column("lf", no_wrap=True)
    for column in columns:
        table.add_column(headers[column], justify="right", no_wrap=True)
    if "dev_accuracy_low" in summary.columns:
        table.add_column("dev acc 95% CI", justify="right", no_wrap=True)
    for name, row in summary.iterrows():
        cells = [_fmt(row[c]) for c in columns]
        if "dev_accuracy_low" in summary.columns:
            cells.append(f"{_fmt(row['dev_accuracy_low'])}-{_fmt(row['dev_accuracy_high'])}")
        table.add_row(str(name), *cells)
    console().print(table)
    metrics_path = Path(run_dir) / "metrics.json"
    if metrics_path.is_file():
        metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
        for warning in metrics.get("leakage", {}).get("warnings", []):
            console().print(f"[yellow]warning:[/] {warning}", markup=True, highlight=False)
        lfs = metrics.get("lfs", {})
        for warning in lfs.get("warnings", []):
            console().print(f"[yellow]warning:[/] {warning}")
        for name, first in lfs.get("first_faults", {}).items():
            console().print(f"[yellow]faults:[/] LF '{name}' raised on "
                            f"{lfs['fault_counts'][name]} rows; first: {first}")


def print_scores(metrics: dict, splits: tuple[str, ...] = ("dev", "test")) -> None:
    """The scores table. The LF loop (apply, fit, train, dev) passes ``("dev",)``: test
    is shown only by run, evaluate and report, so nobody tunes LFs on it by accident."""
    title = "scores (all rows; ties and uncovered rows go to the majority class)"
    if "test" not in splits:
        title += "; test is shown by `labeling evaluate`"
    table = Table(title=title)
    table.add_column("model")
    for split in splits:
        table.add_column(f"{split} accuracy", justify="right")
        table.add_column(f"{split} F1", justify="right")
    for title, key in SCORE_ROWS:
        section = metrics.get(key)
        if not section:
            continue
        name = f"{title} ({section['name']})" if key != "majority_vote" else title
        if key == "label_model" and section.get("chosen"):
            name = f"{title} ({section['name']}: {section['chosen']})"
        if section.get("stale"):
            name += " (stale)"
        cells = []
        for split in splits:
            scores = section.get(split, {})
            cells += [_fmt(scores.get("accuracy")), _fmt(scores.get("f1"))]
        table.add_row(name, *cells)
    console().print(table)


def print_timings(metrics: dict) -> None:
    timings = metrics.get("timings_s", {})
    if timings:
        console().print("step seconds: " + ", ".join(f"{step} {seconds:.1f}"
                                                     for step, seconds in timings.items()))


def print_llm_stats(metrics: dict) -> None:
    """Per prompt LF: backend, calls, cache hits, tokens, cost, failures, latency."""
    section = metrics.get("llm")
    if not section or not section.get("lfs"):
        return
    table = Table(title=f"prompt LFs (backend: {section['backend']}, spent ${section['spent']:.4f})")
    for column in ("lf", "backend", "model", "calls", "cache hits", "tokens in", "tokens out",
                   "cost $", "failures", "p50 latency s"):
        table.add_column(column, justify="left" if column in ("lf", "backend", "model",
                                                              "failures") else "right")
    for name, s in section["lfs"].items():
        failures = ", ".join(f"{k} {v}" for k, v in (s.get("errors") or {}).items()) or "-"
        latency = (s.get("latency_s") or {}).get("p50")
        table.add_row(name, s.get("backend", section["backend"]), str(s.get("model", "")),
                      str(s.get("calls", 0)), str(s.get("cache_hits", 0)),
                      str(s.get("tokens_in", 0)), str(s.get("tokens_out", 0)),
                      "-" if s.get("cost") is None else f"{s['cost']:.4f}", failures,
                      _fmt(latency))
    console().print(table)


def print_examples(table: pd.DataFrame, lf: str, kind: str, split: str, limit: int,
                   other: str | None = None) -> None:
    """``labeling show``: the rows, each with its id, gold, the LF's and the label
    model's label, and the text (printed literally, never as markup)."""
    what = {"fires": "fires on", "wrong": "is wrong on", "abstains": "abstains on",
            "conflicts": f"disagrees with {other if other not in (None, 'any') else 'another LF'} on"}
    console().print(f"{lf} {what[kind]} {len(table)} {split} rows"
                    + (f" (first {limit})" if len(table) > limit else ""), markup=False)
    out = Table(show_lines=False)
    for column in ("id", "gold", lf, "label_model", "text"):
        if column in table:
            out.add_column("vote" if column == lf else column, overflow="fold")
    for _, row in table.head(limit).iterrows():
        out.add_row(*[Text(str(row[c])) for c in ("id", "gold", lf, "label_model", "text")
                      if c in table])
    console().print(out)
