"""Readable terminal output for runs: the LF summary and the scores table."""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from labeling.analysis import ABSTAIN_MARK, grouped_warnings, shown_dev_accuracy
from labeling.artifacts import read_lf_summary
from labeling.llm.runtime import spent_words
from labeling.metrics import classes_without_gold, per_class_cell
from labeling.train.gold_budget import dev_cv_text, nested_end_cv

SCORE_ROWS = (("majority vote", "majority_vote"), ("label model", "label_model"),
              ("end model", "end_model"))
# a fit-once end model (minilm_finetune) has two: its own twin and the frozen family's
BASELINE_ROWS = (("gold-only baseline", "gold_only"), ("gold-only, frozen", "gold_only_frozen"))


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
    summary = read_lf_summary(Path(run_dir) / "lf_summary.csv")
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
        cells = [Text(_fmt(shown_dev_accuracy(row) if c == "dev_accuracy" else row[c]))
                 for c in columns]
        if "dev_accuracy_low" in summary.columns:
            cells.append(Text(f"{_fmt(row['dev_accuracy_low'])}-{_fmt(row['dev_accuracy_high'])}"))
        table.add_row(Text(str(name)), *cells)  # a name is not markup: kw[spam] stays
    console().print(table)
    metrics_path = Path(run_dir) / "metrics.json"
    if metrics_path.is_file():
        metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
        for warning in metrics.get("leakage", {}).get("warnings", []):
            console().print(f"[yellow]warning:[/] {escape(warning)}", highlight=False)
        moved = (metrics.get("data", {}).get("dev", {}).get("annotations") or {}).get(
            "text_changed")
        if moved:
            console().print(f"[yellow]warning:[/] {moved} annotation(s) not used: their id now "
                            "names another text than the one labeled (a data file edited "
                            "since; with row-number ids, rows inserted or removed shift "
                            "them); label those rows again in the app", highlight=False)
        lfs = metrics.get("lfs", {})
        unvoted = lfs.get("unvoted") or []  # labeling.pipeline.step_apply
        if unvoted:
            console().print(f"[yellow]warning:[/] no LF votes for "
                            f"{escape(', '.join(repr(n) for n in unvoted))}: the label model "
                            "gives such a class only the rows it decides by the class balance "
                            "(no votes, ties), so almost none; add an LF for it, or only its "
                            "dev gold rows teach it to the end model",
                            highlight=False)
        for warning in grouped_warnings(lfs.get("warnings", [])):
            console().print(f"[yellow]warning:[/] {escape(warning)}", highlight=False)
        for name, first in lfs.get("first_faults", {}).items():
            line = raised_on(name, lfs["fault_counts"][name])
            console().print(f"[yellow]faults:[/] {escape(line)}; first: {escape(first)}",
                            highlight=False)


def raised_on(name: str, count: int) -> str:
    """``LF 'x' raised on 3 rows`` (``1 row``): the fault line's start, single- and
    multi-label."""
    return f"LF '{name}' raised on {count} row{'' if count == 1 else 's'}"


def _f1_key(metrics: dict) -> tuple[str, str]:
    """(score key, column title) of the F1 column: F1 of the positive label when the task
    has one, else macro F1 (a k-class task without ``positive_label``)."""
    has_f1 = any("f1" in (metrics.get(key) or {}).get(split, {})
                 for _, key in SCORE_ROWS for split in ("dev", "test"))
    return ("f1", "F1") if has_f1 else ("macro_f1", "macro-F1")


def print_scores(metrics: dict, splits: tuple[str, ...] = ("dev", "test")) -> None:
    """The scores table. The LF loop (apply, fit, train, dev) passes ``("dev",)``: test
    is shown only by run, evaluate and report, so nobody tunes LFs on it by accident.
    In-sample scores (dev rows the end model was trained on) are marked ``*``; the
    gold-only baseline's row shows test only (its dev scores are all in-sample)."""
    title = "scores (all rows; ties and uncovered rows go to the majority class)"
    if "test" not in splits:
        title += "; test is shown by `labeling evaluate`"
    f1_key, f1_title = _f1_key(metrics)
    table = Table(title=title)
    table.add_column("model")
    for split in splits:
        table.add_column(f"{split} accuracy", justify="right")
        table.add_column(f"{split} {f1_title}", justify="right")
    in_sample = False
    for title, key in SCORE_ROWS + BASELINE_ROWS:
        section = metrics.get(key)
        if not section or "skipped" in section or (key.startswith("gold_only")
                                                   and "end_model" not in metrics):
            continue
        name = f"{title} ({section['name']})" if key != "majority_vote" else title
        if key == "label_model" and section.get("chosen"):
            name = f"{title} ({section['name']}: {section['chosen']})"
        if section.get("stale"):
            name += " (stale)"
        cells = []
        for split in splits:
            scores = section.get(split, {})
            mark = "*" if scores.get("in_sample") else ""
            in_sample = in_sample or bool(mark)
            cells += [_fmt(scores.get("accuracy")) + mark, _fmt(scores.get(f1_key)) + mark]
        table.add_row(name, *cells)
    console().print(table)
    if in_sample:
        console().print(in_sample_note(metrics))
    print_gold_budget(metrics)
    for split in splits:
        print_per_class(metrics, split)


def in_sample_note(metrics: dict) -> str:
    """The footnote of in-sample (``*``) dev scores: which models were fit on the dev rows,
    and where the held-out estimate is, or that there is none yet (after ``fit``: no end
    model, or a stale one) or at all (a fit-once end model such as ``minilm_finetune``)."""
    end = metrics.get("end_model") or {}
    fresh = bool(end) and not end.get("stale")
    who = [name for name, key in (("the end model", "end_model"),
                                  ("a label model that learns from dev", "label_model"))
           if ((metrics.get(key) or {}).get("dev") or {}).get("in_sample")]
    lead = f"* in-sample: fit on these dev rows ({'; '.join(who) or 'the models marked'}); "
    if not fresh and end.get("cv_skipped"):  # a fit-once model: no dev CV after train either
        return lead + ("`labeling train` refits the end model; it is not cross-validated, so "
                       "its test score (`labeling evaluate`) is the held-out one")
    if not fresh:  # `labeling fit`: the end model's dev CV comes with `labeling train`
        return lead + ("`labeling train` cross-validates the end model on dev for a "
                       "held-out estimate")
    if end.get("cv") is not None:
        return lead + "the end model's dev CV score below is the held-out estimate"
    return (lead + "the end model was not cross-validated: no dev score here is a held-out "
            "estimate; its test score (`labeling evaluate`) is the held-out one")


def print_gold_budget(metrics: dict) -> None:
    """Dev CV of the end model against the gold-only baseline (loud when the baseline
    wins), and what the LFs are worth in hand labels."""
    gold, end = metrics.get("gold_only") or {}, metrics.get("end_model") or {}
    if not end or end.get("stale"):  # the comparison is with the end model it was run with
        return
    for section in (end, gold):  # a fine-tune whose max_time cut its epochs says so
        if section.get("stopped_text"):
            console().print(section["stopped_text"], markup=False)
    if "cv" in gold:
        console().print(dev_cv_text(gold.get("metric"), end.get("cv"), gold["cv"],
                                    gold.get("n_dev"), nested_end_cv(end)), markup=False)
    if end.get("weight_rule_cv"):
        console().print(weight_rule_text(end), markup=False)
    if gold.get("text"):
        if gold.get("loud"):
            console().print(f"[bold red]WARNING: {gold['text']}[/]", markup=True)
        else:
            console().print(gold["text"], markup=False)
    frozen = metrics.get("gold_only_frozen") or {}
    if frozen.get("text"):
        console().print(f"and {frozen['text']}", markup=False)
    worth = (metrics.get("learning_curve") or {}).get("worth") or {}
    if worth.get("text"):
        curve = metrics["learning_curve"]
        cost = (f" [learning curve: {curve['seeds_done']} seeds, {curve['seconds']:.0f} s]"
                if "seconds" in curve else "")
        console().print(worth["text"] + cost, markup=False)


def weight_rule_text(end: dict) -> str:
    """The end model's weak weight, the rule that chose it and the paired CV gains (and
    their SE) of the best-scoring candidate over each (``weight_rule_cv``)."""
    cv = end["weight_rule_cv"]
    weight = ("gold only" if end.get("label_mode") == "gold_only" else "1 per row"
              if end.get("weak_weight") is None else f"{end['weak_weight']:g}")
    # "X +0.021" and "leads X by, Y by" both read as X's (Y's) own gain; each is the
    # best's lead over X, so every number says "over" whom
    models = {key.split("/", 1)[0] for key in cv["paired"]}
    leads = ", ".join(f"{p['gain']:+.3f} over {_weight_name(key, models)} (SE {p['se']:.3f})"
                      for key, p in cv["paired"].items() if key != cv["best"])
    shares = any("/w" in key for key in cv["paired"])
    return (f"end model weak weight: {weight} (rule {end.get('weight_rule', 'best')}); on dev "
            f"CV {_weight_name(cv['best'], models)} scored best: {leads}"
            + (" (weights: the weak rows' total weight as a share of the gold rows')"
               if shares else ""))


def _weight_name(key: str, models: set) -> str:
    """A CV candidate (``model/soft/w0.3``) named as the weak weight is: ``0.3``,
    ``1 per row`` (``soft``), ``gold only``; its mode when not soft and its model when
    the candidates' models differ (``soft`` read as another option than "1 per row")."""
    model, _, rest = key.partition("/")
    mode, _, share = rest.partition("/w")
    name = ("gold only" if mode == "gold_only" else share or "1 per row") + (
        f" ({mode})" if mode not in ("soft", "gold_only") else "")
    return f"{model} {name}" if len(models) > 1 else name


def print_per_class(metrics: dict, split: str) -> None:
    """Per class precision/recall/F1 of majority vote, label model, end model and (on
    test) the gold-only baseline on ``split``, for tasks with more than two classes (where
    one F1 hides which class fails, and which class the LFs help against the dev labels
    alone)."""
    rows = [(title + ("*" if scores.get("in_sample") else ""), scores.get("per_class"))
            for title, key in SCORE_ROWS + BASELINE_ROWS
            if not (metrics.get(key) or {}).get("stale")
            for scores in [(metrics.get(key) or {}).get(split) or {}]]
    rows = [(title, per) for title, per in rows if per]
    labels = metrics.get("labels")
    if not rows:
        return
    # a model fit on these rows (the end model, a label model learning from dev) scores
    # them in-sample: marked `*` as in the scores table, whose footnote says so
    table = Table(title=f"per class on {split} (precision / recall / F1"
                  + ("; *: in-sample" if any(t.endswith("*") for t, _ in rows) else "") + ")")
    table.add_column("class")
    table.add_column("gold rows", justify="right")  # the same gold for every model
    for title, _ in rows:
        table.add_column(title, justify="right")
    names = [labels[c] if labels and c < len(labels) else str(c)
             for c in range(len(rows[0][1]))]
    for c, name in enumerate(names):
        table.add_row(Text(name), str(rows[0][1][c]["support"]),
                      *[per_class_cell(per[c]) for _, per in rows])
    console().print(table)
    absent = classes_without_gold(rows[0][1])
    if absent:
        console().print(absent_classes_note(split, [names[c] for c in absent], len(names)),
                        markup=False)


def absent_classes_note(split: str, absent: list[str], k: int) -> str:
    """The line under a per-class table when some classes have no gold row in ``split``:
    their cells are ``-`` and macro-F1 averages the other classes; on dev, the choices
    dev cross-validation makes cannot see them either."""
    names = ", ".join(repr(name) for name in absent)
    line = (f"no {split} gold row of {names}: '-' above, and {split} macro-F1 is the mean "
            f"of the other {k - len(absent)} classes")
    if split == "dev":
        line += ("; dev CV, which chooses the label model and the end model and compares "
                 "them with the gold-only baseline, cannot measure them either")
    return line


def print_timings(metrics: dict) -> None:
    timings = metrics.get("timings_s", {})
    if timings:
        console().print("step seconds: " + ", ".join(f"{step} {seconds:.1f}"
                                                     for step, seconds in timings.items()))


def print_llm_stats(metrics: dict) -> None:
    """Per prompt LF: model, calls, cache hits, tokens, cost, prompts with no answer,
    rejected replies, failed tries by kind, latency (the backend in the title)."""
    section = metrics.get("llm")
    if not section or not section.get("lfs"):
        return
    title = f"prompt LFs (backend: {section['backend']}, {spent_words(section)})"
    table = Table(title=escape(title))  # "[llm] prices" is no markup
    # "no answer": prompts unanswered after their retries; "rejected": replies that are no
    # allowed answer (both abstain); "failed tries": by kind, the retried ones included
    for column in ("lf", "model", "calls", "cached", "tokens in", "tokens out", "cost $",
                   "no answer", "rejected", "failed tries", "p50 s"):
        table.add_column(column, no_wrap=column != "failed tries", overflow="fold",
                         justify="left" if column in ("lf", "model", "failed tries") else "right")
    for name, s in section["lfs"].items():
        failures = ", ".join(f"{k} {v}" for k, v in (s.get("errors") or {}).items()) or "-"
        latency = (s.get("latency_s") or {}).get("p50")
        model = f"{s['model']} (local)" if s.get("backend", section["backend"]) == "local" \
            else str(s.get("model", ""))
        table.add_row(name, model, str(s.get("calls", 0)), str(s.get("cache_hits", 0)),
                      str(s.get("tokens_in", 0)), str(s.get("tokens_out", 0)),
                      "-" if s.get("cost") is None else f"{s['cost']:.4f}",
                      str(s.get("failed", 0)), str(sum((s.get("rejected") or {}).values())),
                      failures, _fmt(latency))
    console().print(table)


def print_examples(table: pd.DataFrame, lf: str, kind: str, split: str, limit: int,
                   other: str | None = None, lf_names: list[str] = ()) -> None:
    """``labeling show``: the rows, each with its id, gold, the LF's and the label
    model's label, and the text (printed literally, never as markup); for conflicts, the
    LFs (of ``lf_names``) voting otherwise on the row and their votes."""
    what = {"fires": "fires on", "wrong": "is wrong on", "abstains": "abstains on",
            "conflicts": f"disagrees with {other if other not in (None, 'any') else 'another LF'} on"}
    console().print(f"{lf} {what[kind]} {len(table)} {split} rows"
                    + (f" (first {limit})" if len(table) > limit else ""), markup=False)
    table = table.head(limit).copy()
    if kind == "conflicts":  # which LFs disagree, with what: the row alone does not say
        others = [n for n in lf_names if n != lf and n in table
                  and (other in (None, "any") or n == other)]
        table["voted otherwise"] = [
            ", ".join(f"{n}: {row[n]}" for n in others
                      if row[n] not in (ABSTAIN_MARK, row[lf])) for _, row in table.iterrows()]
    columns = [c for c in ("id", "gold", lf, "voted otherwise", "label_model", "text")
               if c in table]
    out = Table(show_lines=False)
    for column in columns:
        out.add_column("vote" if column == lf else column, overflow="fold")
    for _, row in table.iterrows():
        out.add_row(*[Text(str(row[c])) for c in columns])
    console().print(out)


def print_multilabel_lfs(path: Path) -> None:
    """``labeling apply`` on a multi-label task: lf_analysis.csv as a table."""
    analysis = pd.read_csv(path)
    table = Table(title="labeling functions per label (train: coverage/overlaps/conflicts "
                        "with LFs on the same label; dev: precision/recall of 'applies')")
    for column in analysis.columns:
        table.add_column(column, justify="left" if column in ("lf", "label") else "right",
                         no_wrap=True)
    for _, row in analysis.iterrows():
        table.add_row(*[_fmt(row[c]) for c in analysis.columns])
    console().print(table)


def print_multilabel_scores(metrics: dict, splits: tuple[str, ...] = ("dev", "test")) -> None:
    """Multi-label scores: macro/micro F1 per model and split, then per label on the
    last of ``splits`` (end model precision/recall/F1, the others' F1). As for
    single-label tasks, the LF loop passes ``("dev",)``; dev scores of models fit on the
    dev gold are in-sample (marked ``*``)."""
    section = metrics.get("multi_label") or {}
    scores, labels = section.get("scores", {}), section.get("labels", [])
    table = Table(title="multi-label scores" + ("" if "test" in splits else
                                                "; test is shown by `labeling evaluate`"))
    table.add_column("model")
    for split in splits:
        table.add_column(f"{split} macro-F1", justify="right")
        table.add_column(f"{split} micro-F1", justify="right")
    for name, by_split in scores.items():
        title = name + (" (stale)" if name == "end_model"
                        and (section.get("end_model") or {}).get("stale") else "")
        mark = "*"  # every model's thresholds were tuned on dev
        cells = []
        for split in splits:
            s = by_split.get(split) or {}
            m = mark if split == "dev" and s else ""
            cells += [_fmt(s.get("macro_f1")) + m, _fmt(s.get("micro_f1")) + m]
        table.add_row(title, *cells)
    console().print(table)
    if "dev" in splits:
        console().print("* in-sample: fit on the dev gold, thresholds tuned there")
    end, gold = section.get("end_model") or {}, section.get("gold_only") or {}
    if gold.get("text") and not end.get("stale"):  # a fine-tune's twin: its dev verdict
        console().print(f"[bold red]WARNING: {gold['text']}[/]" if gold.get("loud")
                        else gold["text"], markup=bool(gold.get("loud")))
    weights = end.get("weak_weight")
    weights = weights if isinstance(weights, dict) else {}  # per label (else one, or none)
    macro = (end.get("weak_weight_cv_macro") or {}).get(end.get("weak_weight_shared"))
    if weights and macro is not None and end.get("dev_cv_f1"):
        mine = sum(end["dev_cv_f1"].values()) / len(end["dev_cv_f1"])
        console().print("end model weak weight (dev CV): "
                        + (f"per label (macro-F1 {mine:.3f}); one for all labels would be "
                           f"{end['weak_weight_shared']} ({macro:.3f})"
                           if end.get("weak_weight_per_label", True) else
                           f"{end['weak_weight_shared']} for all labels ({macro:.3f})"))
    split = splits[-1]
    models = [m for m in scores if split in scores[m]]
    if not models or not labels:
        return
    per = Table(title=f"per label on {split} (end model: precision / recall / F1; "
                      "others: F1)")
    per.add_column("label")
    per.add_column("support", justify="right")
    if weights:
        per.add_column("weak weight", justify="right")
    for m in models:
        per.add_column(m, justify="right")
    for label in labels:
        rows = [scores[m][split]["per_label"].get(label, {}) for m in models]
        cells = [f"{r['precision']:.2f} / {r['recall']:.2f} / {r['f1']:.2f}"
                 if m == "end_model" and r else _fmt(r.get("f1")) for m, r in zip(models, rows)]
        per.add_row(label, str(rows[0].get("support", "-")),
                    *([str(weights.get(label, "-"))] if weights else []), *cells)
    console().print(per)
