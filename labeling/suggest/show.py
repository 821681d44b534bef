"""Suggestions for people: the terminal tables of ``labeling suggest`` and the notebook's
DataFrame (one row per proposal, the columns of :mod:`labeling.suggest.score`)."""

from __future__ import annotations

import math

import pandas as pd
from rich.table import Table

from labeling.report import console
from labeling.suggest.engine import Result
from labeling.suggest.task import accept as task_accept
from labeling.suggest.task import reject as task_reject
from labeling.suggest.task import runtime_for, suggest_for_task

COLUMNS = ("id", "label", "kind", "what", "source", "dev_fires", "dev_correct",
           "dev_precision", "dev_precision_low", "dev_precision_high", "dev_coverage",
           "dev_conflicts", "dev_new", "dev_fixes", "dev_harms", "held_rows", "held_fixes",
           "held_harms", "train_coverage", "train_new", "train_conflicts", "lm_dev_before",
           "lm_dev_after", "weak_dev_before", "weak_dev_after", "weak_gains", "weak_losses",
           "score")


def frame(result: Result, labels: list[str]) -> pd.DataFrame:
    """The ranked proposals as a DataFrame indexed by id, with ``examples`` (dev and
    train rows it fires on) and ``rationale``."""
    rows = []
    for r in result.rows:
        p = r["proposal"]
        row = {"id": p.id, "label": labels[p.label], "kind": p.kind, "what": p.describe(),
               "source": p.source, **{c: r.get(c) for c in COLUMNS[5:]},
               "rationale": p.rationale, "examples": r.get("examples")}
        rows.append(row)
    return pd.DataFrame(rows, columns=[*COLUMNS, "rationale", "examples"]).set_index("id")


def _f(value, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}f}"


def print_result(result: Result, labels: list[str], metric: str, examples: bool = True) -> None:
    out = console()
    weak = Table(title="where the current LFs are weakest (dev gold)")
    for column in ("label", "dev rows", "no LF votes it", "label model recall", "precision",
                   "missed", "wrongly given"):
        weak.add_column(column, justify="left" if column == "label" else "right")
    for w in result.weakness:
        weak.add_row(w["label"], str(w["dev_rows"]), str(w["unvoted"]), _f(w["recall"]),
                     _f(w.get("precision")), str(w.get("missed", "-")),
                     str(w.get("wrongly_given", "-")))
    out.print(weak)
    for note in result.notes:
        out.print(f"[yellow]note:[/] {note}")
    if result.llm:
        llm = result.llm
        cost = "cached" if llm.get("cached") else (
            f"{llm.get('calls', 0)} request(s), {llm.get('tokens_in', 0)}+"
            f"{llm.get('tokens_out', 0)} tokens, ${llm.get('cost') or 0:.4f}")
        out.print(f"LLM ({llm.get('model')}): {cost}")
        scoring = llm.get("prompt_scoring")
        if scoring:
            spent = "?" if scoring["cost"] is None else f"${scoring['cost']:.4f}"
            out.print(f"LLM prompt proposals scored on train and dev: {scoring['prompts']} "
                      f"prompt(s), {scoring['calls']} distinct rows, {scoring['cached']} "
                      f"cached, {scoring['requests']} request(s), {spent}")
    reasons: dict[str, int] = {}
    for d in result.dropped:
        why = d["why"].split(" (")[0].split(":")[0]
        reasons[why] = reasons.get(why, 0) + 1
    if reasons:
        out.print("left out: " + "; ".join(f"{count} {why}" for why, count in
                                           sorted(reasons.items(), key=lambda kv: -kv[1])),
                  markup=False, highlight=False)
    if not result.rows:
        out.print("no proposal passed the checks: nothing the dev gold says would help")
        return
    weak_now = result.rows[0]["weak_dev_before"]
    table = Table(title=f"proposed LFs, in the order to accept them (each scored on dev "
                        f"with the ones above it accepted; now: label model "
                        f"{result.label_model} dev {metric} {_f(result.lm_dev_before, 3)}, "
                        f"weak-label model {_f(weak_now, 3)})")
    for column in ("id", "label", "LF", "dev prec", "95% interval", "dev n", "conflicts",
                   "train cov", f"LM dev {metric}", f"weak dev {metric}", "held-out +/-",
                   "score"):
        table.add_column(column, justify="left" if column in ("id", "label", "LF") else "right",
                         overflow="fold")
    for r in result.rows:
        p = r["proposal"]
        table.add_row(p.id, labels[p.label], p.describe(), _f(r["dev_precision"]),
                      f"{_f(r['dev_precision_low'])}-{_f(r['dev_precision_high'])}",
                      str(r["dev_fires"]), str(r["dev_conflicts"]),
                      f"{100 * r['train_coverage']:.1f}%", _f(r["lm_dev_after"], 3),
                      _f(r["weak_dev_after"], 3),
                      f"+{r['held_fixes'] + r['weak_gains']}"
                      f"/-{r['held_harms'] + r['weak_losses']}",
                      _f(r["score"], 3))
    out.print(table)
    if examples:
        for r in result.rows:
            p = r["proposal"]
            out.print(f"[bold]{p.id}[/] {p.describe()} -> {labels[p.label]}  ({p.source})",
                      highlight=False)
            if p.rationale:
                out.print(f"    why: {p.rationale}", markup=False, highlight=False)
            for ex in r["examples"]["dev"]:
                mark = "right" if ex["correct"] else "WRONG"
                out.print(f"    dev   {mark:5} gold {ex['gold']}: {_clip(ex['text'])}",
                          markup=False, highlight=False)
            for ex in r["examples"]["train"]:
                out.print(f"    train label model {ex['label_model']}: {_clip(ex['text'])}",
                          markup=False, highlight=False)
    out.print("accept: labeling suggest --accept ID (appends the LF to your "
              "<task>_suggested.py); reject: labeling suggest --reject ID")


def _clip(text: str, limit: int = 110) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def command(task, label: str | None, n: int, source: str, accept: list[str],
            reject: list[str]) -> None:
    """``labeling suggest``: accept/reject the named proposals, or propose new ones."""
    out = console()
    for proposal_id in reject:
        rec = task_reject(task, proposal_id)
        out.print(f"rejected {proposal_id} ({rec['what']}): it will not be proposed again",
                  markup=False, highlight=False)
    for proposal_id in accept:
        name, entry = task_accept(task, proposal_id)
        out.print(f"accepted {proposal_id}: LF {name} appended to {entry}", markup=False,
                  highlight=False)
    if accept:
        out.print("next: labeling apply && labeling fit (then labeling suggest for more)")
    if accept or reject:
        return
    cfg = task.config
    with runtime_for(task, source) as runtime:
        result = suggest_for_task(task, n, label, source, runtime)
    print_result(result, list(cfg.labels), "f1" if cfg.positive_label else "accuracy")
