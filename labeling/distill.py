"""The distillation report: what the small end model saves against the LLM it replaces.

For a finished run, on the test split: the end model, the label model (all LFs, prompt
LFs included, then the label model), majority vote, and each prompt LF used directly as
a classifier. Per row: accuracy (and F1 of the positive label), coverage, latency per doc
and cost per 1M docs. Why these rows: a prompt LF alone is what a user would deploy
without weak supervision; the label model is what the run would cost at inference if the
end model did not exist; the end model is what they get instead.

How numbers are made (also written into the report, so nobody has to read this):

* scores: an abstaining row gets the most frequent class of the label model's train
  probabilities (the run's rule for ties and uncovered rows); accuracy on covered rows
  only is given next to it;
* end model latency: measured now, ``predict_proba`` over all test texts in one batch
  (best of 3) and one text at a time; its LLM cost is 0, its CPU time per 1M docs is given;
* prompt LF latency and tokens per doc: measured by the run's requests (metrics.json),
  else (a rerun answered from the cache) read from the response cache for the test
  prompts, else (local backend: no LLM answered) tokens *estimated* from the rendered
  test prompts with :func:`labeling.llm.plan.estimate_request` and flagged as such;
* the model, params and output mode are the ones the run asked with (metrics.json
  ``llm.settings``), also when labeling.toml's ``[llm]`` model was edited since (a note
  says so);
* cost per 1M docs: tokens per doc x the model's price per 1M tokens (``[llm.prices]``
  over the built-in table); one request per distinct doc (duplicates share one);
* label model and majority vote: the sum of the prompt LFs' costs and latencies (the
  prompts of one doc are called one after another; rule LFs are not timed).
"""

from __future__ import annotations

import copy
import datetime as _dt
import time
from pathlib import Path

import numpy as np
import pandas as pd

from labeling import pipeline
from labeling.apply import applied
from labeling.artifacts import check_gold_unchanged, check_step_order
from labeling.distill_output import (REPORT_JSON, REPORT_MD, format_markdown,  # noqa: F401
                                     print_report, timing_notes, write_report)
from labeling.errors import LabelingError
from labeling.export import load_exported, load_model
from labeling.llm.cache import ResponseCache
from labeling.llm.plan import estimate_request, price_of, token_rule
from labeling.llm.prompt import PromptLF
from labeling.llm.requests import build_requests, lf_model
from labeling.metrics import classification_scores
from labeling.train.end_model import predict_proba_full
from labeling.train.gold_budget import curve_means, nested_end_cv

RUN_FILES = (pipeline.L_FILE, pipeline.PROBS_FILE, pipeline.END_MODEL_FILE)


def asked_settings(task, metrics: dict):
    """The ``[llm]`` settings the run asked its prompt LFs with: labeling.toml's, with the
    model, params and output mode the run recorded (metrics.json ``llm.settings``), which
    its measured tokens, cached replies and L columns are of, also after the config's
    model was edited since; and a note for the report when they differ from the
    config's now (else None)."""
    now = task.config.llm
    asked = now.as_asked((metrics.get("llm") or {}).get("settings"))
    changed = [f"{key} {getattr(asked, key)!r} (labeling.toml: {getattr(now, key)!r} now)"
               for key in ("model", "params", "structured_output")
               if getattr(asked, key) != getattr(now, key)]
    note = (f"Prompt LFs as the run asked them: {'; '.join(changed)}; its votes, tokens "
            "and costs are of those settings (`labeling run` to report on the new ones)."
            if changed else None)
    return asked, note


def _check_run(task, asked) -> None:
    missing = [name for name in RUN_FILES if not (task.run_dir / name).is_file()]
    if missing:
        raise LabelingError(f"{task.run_dir}: no finished run (missing {', '.join(missing)}); "
                            "run `labeling run` first")
    if task.gold("test") is None:
        raise LabelingError(f"{task.config.source}: the report needs a test split with gold "
                            "labels (data.test with a label column)")
    # its rows come from different steps (the label models from fit, the gold-only scores
    # from train, the end model from export): all of one run, of the LFs applied and
    # against the test gold they were scored on, as the multi-label report checks
    check_step_order(task.run_dir, [*zip(RUN_FILES, ("apply", "fit", "train")),
                                    (f"{pipeline.MODEL_DIR}/model_card.json", "export")],
                     "report")
    check_lfs_as_asked(task, asked)
    check_gold_unchanged(task, pipeline.read_metrics(task.run_dir))


def check_lfs_as_asked(task, asked) -> None:
    """:func:`applied.check` of the LFs as the run asked them (``asked``:
    :func:`asked_settings`): an [llm] model edited since does not make its columns
    another LF's (the report is of the run), an edited prompt or LF still does."""
    as_run = copy.copy(task)
    as_run.config = task.config.model_copy(update={"llm": asked})
    applied.check(as_run, "report")


def _scores(y, pred, covered, cardinality: int, pos: int | None) -> dict:
    """Scores of ``pred`` on all rows, and accuracy on the ``covered`` rows only. The
    ``f1`` column is F1 of the positive label, or macro F1 on a task without one."""
    scores = classification_scores(y, pred, cardinality, pos)
    return {"accuracy": scores["accuracy"],
            "f1": scores["f1"] if pos is not None else scores["macro_f1"],
            "coverage": float(covered.mean()),
            "covered_accuracy": float((pred[covered] == y[covered]).mean())
            if covered.any() else None, **({"per_class": scores["per_class"]}
                                           if "per_class" in scores else {})}


def voted_classes(lf: PromptLF, labels: list[str]) -> set[int]:
    return {v for v in lf.resolve(labels).values() if v != -1}


def abstain_class(lf: PromptLF, labels: list[str], fallback: int) -> int:
    """The class a prompt LF's abstentions count as when it is used as a classifier: on a
    two-class task, a yes/no prompt voting one class only means the other class by
    "no"; otherwise ``fallback`` (the train-majority class). (A one-class prompt on a
    task of more classes is scored one-vs-rest instead: :func:`one_vs_rest_scores`.)"""
    voted = voted_classes(lf, labels)
    return 1 - voted.pop() if len(labels) == 2 and len(voted) == 1 else fallback


def one_vs_rest_scores(y, votes, c: int) -> dict:
    """A yes/no prompt voting only class ``c`` in a k > 2 task says "c" or nothing: its
    "no" names none of the other classes, so counting it as any one class (the train
    majority) makes accuracy that class's share. It is scored as a detector of ``c``:
    precision, recall and F1 of ``c`` against all other classes; accuracy is not given."""
    hit, gold = votes == c, y == c
    tp = int((hit & gold).sum())
    precision = tp / hit.sum() if hit.any() else 0.0
    recall = tp / gold.sum() if gold.any() else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"accuracy": None, "f1": float(f1), "precision": float(precision),
            "recall": float(recall), "coverage": float((votes != -1).mean()),
            "covered_accuracy": float(precision) if hit.any() else None}


def _per_doc(tokens_in: float, tokens_out: float, price) -> float | None:
    """USD per 1M docs: prices are per 1M tokens, so tokens/doc x price."""
    return None if price is None else tokens_in * price.input + tokens_out * price.output


def prompt_lf_cost(lf: PromptLF, stats: dict | None, settings, labels, test_df: pd.DataFrame,
                   cache_path: Path | None) -> dict:
    """Tokens, latency and cost per doc of one prompt LF; see the module doc for the order
    of sources. ``stats`` is the LF's entry in metrics.json's ``llm`` section."""
    model = (stats or {}).get("model") if (stats or {}).get("backend") == "openai" else None
    model = model or lf_model(lf, settings)[0]
    price = price_of(model, settings.prices)
    out = {"model": model, "price_per_1m_tokens": None if price is None
           else {"input": price.input, "output": price.output}}
    stats = stats or {}
    answered = stats.get("calls", 0) - stats.get("cache_hits", 0) - stats.get("failed", 0)
    if stats.get("backend") == "openai" and answered > 0 and stats.get("tokens_in"):
        latency = stats.get("latency_s") or {}
        out.update(source="measured: this run's requests", n=answered,
                   tokens_in=stats["tokens_in"] / answered,
                   tokens_out=stats["tokens_out"] / answered,
                   latency_s=latency.get("p50"), latency_mean_s=latency.get("mean"))
    else:
        reqs = build_requests(lf, test_df, settings, labels)
        entries = {}
        if stats.get("backend") == "openai" and cache_path is not None and cache_path.is_file():
            cache = ResponseCache(cache_path)
            try:
                entries = cache.get_many([r.key for r in reqs])
            finally:
                cache.close()
        if entries:
            got = list(entries.values())
            out.update(source="measured: response cache (test prompts)", n=len(got),
                       tokens_in=float(np.mean([e.tokens_in for e in got])),
                       tokens_out=float(np.mean([e.tokens_out for e in got])),
                       latency_s=float(np.median([e.latency for e in got])),
                       latency_mean_s=float(np.mean([e.latency for e in got])))
        elif reqs:
            est = [estimate_request(r.messages, list(r.answers), r.schema is not None, r.many)
                   for r in reqs]
            why = ("the run used the local backend" if stats.get("backend") == "local"
                   else "no measured request for this LF")
            out.update(source=f"estimated: {why}; tokens from the rendered test prompts",
                       n=len(reqs), tokens_in=float(np.mean([i for i, _ in est])),
                       tokens_out=float(np.mean([o for _, o in est])), latency_s=None,
                       latency_mean_s=None, latency_note=f"not measured: {why}")
        else:
            raise LabelingError(f"prompt LF '{lf.name}': the test split has no rows to cost")
    out["estimated"] = out["source"].startswith("estimated")
    out["cost_per_1m_docs"] = _per_doc(out["tokens_in"], out["tokens_out"], price)
    out["cost_note"] = (f"no price for model {model!r}: add it under [llm.prices]"
                        if price is None else f"priced as {model}: ${price.input:g} in, "
                        f"${price.output:g} out per 1M tokens")
    return out


ONE_VS_REST_NOTE = (
    "A yes/no prompt LF voting one class of more than two is scored one-vs-rest: its "
    "'test macro-F1' cell is the F1 of the class it votes against all other classes "
    "(precision and recall in report.json), 'acc covered' its precision; no accuracy is "
    "given, as its abstentions name no class.")


def gold_only_rows(metrics: dict) -> list[dict]:
    """The gold-only baseline's test scores (from the run: the model is not kept), as a
    report row: what the dev gold alone gives, at no LLM cost."""
    rows = []
    for key, title in (("gold_only", "gold-only baseline"),
                       ("gold_only_frozen", "gold-only, frozen family")):  # fit-once runs
        gold = metrics.get(key) or {}
        test = gold.get("test")
        if not test:
            continue
        rows.append({"name": f"{title} ({gold.get('name')}, {gold.get('n_dev')} dev labels)",
                     "kind": key, "accuracy": test["accuracy"],
                     "f1": test.get("f1", test.get("macro_f1")), "coverage": 1.0,
                     "covered_accuracy": test["accuracy"], "latency_s": None,
                     "latency_note": "not timed: trained on the dev gold alone",
                     "source": f"test scores of the run's {title} (metrics.json {key})",
                     "cost_per_1m_docs": 0.0, "estimated": False, "cost_note": "no LLM call",
                     **({"per_class": test["per_class"]} if "per_class" in test else {})})
    return rows


def gold_budget(metrics: dict) -> dict:
    """The dev-CV comparison with the gold-only baseline and what the LFs are worth."""
    gold, end = metrics.get("gold_only") or {}, metrics.get("end_model") or {}
    curve = metrics.get("learning_curve") or {}
    out = {"end_model_cv": end.get("cv"), "end_model_cv_nested": nested_end_cv(end),
           "gold_only_cv": gold.get("cv"),
           "metric": gold.get("metric"), "n_dev": gold.get("n_dev"),
           "verdict": gold.get("verdict"), "text": gold.get("text"),
           "loud": bool(gold.get("loud")), "worth": (curve.get("worth") or {}).get("text")}
    if curve.get("curve"):
        out["curve"] = curve_means(curve["curve"])
        out["curve_cost"] = {k: curve.get(k) for k in ("seconds", "seeds_done")}
    return out


def end_model_predictor(task):
    """``(predict_proba(texts), description)``: the exported model as ``labeling predict``
    serves it (sklearn runtime), else the run's end_model.skops."""
    model_dir = task.run_dir / pipeline.MODEL_DIR
    if (model_dir / "model_card.json").is_file():
        return (load_exported(model_dir, "sklearn").predict_proba,
                f"exported model {model_dir.name}/ as `labeling predict` serves it")
    model = load_model(task.run_dir / pipeline.END_MODEL_FILE)
    k = task.config.cardinality
    return (lambda texts: predict_proba_full(model, texts, k)), pipeline.END_MODEL_FILE


def time_end_model(predict_proba, texts: list[str], n_single: int = 200) -> dict:
    """Predictions and per-doc latency of the end model: batched (best of 3) and one text
    at a time (the first ``n_single`` texts), plus CPU seconds per doc of the batch."""
    best, cpu = float("inf"), float("inf")
    for _ in range(3):  # best of 3: the machine is shared, the minimum is the model's cost
        t0, c0 = time.perf_counter(), time.process_time()
        proba = predict_proba(texts)
        best = min(best, time.perf_counter() - t0)
        cpu = min(cpu, time.process_time() - c0)
    single = texts[:n_single]
    t0, c0 = time.perf_counter(), time.process_time()
    for text in single:
        predict_proba([text])
    one = (time.perf_counter() - t0) / max(len(single), 1)
    return {"pred": proba.argmax(axis=1), "latency_s": best / len(texts),
            "latency_single_s": one, "n_single": len(single), "n_batch": len(texts),
            "cpu_s_per_1m_docs": cpu / len(texts) * 1e6,
            "cpu_single_s": (time.process_time() - c0) / max(len(single), 1)}


def _sum(values):
    values = list(values)
    return None if any(v is None for v in values) else float(sum(values))


def _all_lfs_cost(prompt_rows: list[dict]) -> dict:
    """Latency and cost per doc of running every LF on a doc: its prompt LFs' sums."""
    if not prompt_rows:
        return {"latency_s": None, "latency_note": "no prompt LFs: not timed",
                "cost_per_1m_docs": 0.0, "estimated": False, "cost_note": "no prompt LFs"}
    latency = _sum(r["latency_s"] for r in prompt_rows)
    unmeasured = [r["name"] for r in prompt_rows if r["latency_s"] is None]
    return {"latency_s": latency,
            "latency_note": "sum of the prompt LFs' per-call latency; rule LFs and the label "
                            "model not timed" if not unmeasured
            else f"not measured: it is the sum of the prompt LFs' per-call latency, and "
                 f"{', '.join(unmeasured)} {'has' if len(unmeasured) == 1 else 'have'} no "
                 f"measured latency",
            "cost_per_1m_docs": _sum(r["cost_per_1m_docs"] for r in prompt_rows),
            "estimated": any(r["estimated"] for r in prompt_rows),
            "cost_note": "sum of its prompt LFs' costs"}


def build_report(task, n_single: int = 200) -> dict:
    """The report of ``task``'s finished run (see the module doc); nothing is written."""
    metrics = pipeline.read_metrics(task.run_dir)
    asked, asked_note = asked_settings(task, metrics)
    _check_run(task, asked)
    cfg = task.config
    k, pos = cfg.cardinality, cfg.positive_index
    test_df, y = task.splits["test"], np.asarray(task.gold("test"))
    L_test = pipeline.read_label_matrices(task)["test"]
    names = list(pd.read_parquet(task.run_dir / pipeline.L_FILE).columns)
    probs_test = pipeline.read_probs(task, "test")
    train_p = pipeline.read_probs(task, "train")[[f"p_{n}" for n in cfg.labels]].to_numpy()
    fallback = int(train_p.mean(axis=0).argmax())
    llm_stats = (metrics.get("llm") or {}).get("lfs", {})

    predict_proba, served = end_model_predictor(task)
    timing = time_end_model(predict_proba, test_df["text"].tolist(), n_single)
    end_name = metrics.get("end_model", {}).get("name", cfg.end_model.name)
    rows = [{"name": f"end model ({end_name})", "kind": "end_model",
             **_scores(y, timing["pred"], np.ones(len(y), bool), k, pos),
             **{key: timing[key] for key in ("latency_s", "latency_single_s", "n_batch",
                                             "cpu_single_s")},
             "source": f"predictions and latency of the {served}",
             "latency_note": f"measured now, wall-clock ms per doc: the test set in one "
                             f"batch of {len(y)} (best of 3) divided by {len(y)}, and one "
                             f"text at a time (mean over {timing['n_single']} texts)",
             "cost_per_1m_docs": 0.0, "estimated": False,
             "cost_note": f"no LLM call; ~{timing['cpu_s_per_1m_docs']:.0f} CPU-seconds per "
                          "1M docs on this machine",
             "cpu_s_per_1m_docs": timing["cpu_s_per_1m_docs"]}]

    prompt_rows = []
    for lf in (lf for lf in task.lfs if isinstance(lf, PromptLF)):
        if lf.name not in names:
            raise LabelingError(f"{task.run_dir / pipeline.L_FILE}: no column for prompt LF "
                                f"'{lf.name}'; run `labeling run` again")
        cost = prompt_lf_cost(lf, llm_stats.get(lf.name), asked, cfg.labels, test_df,
                              cfg.llm_cache_path)
        votes = L_test[:, names.index(lf.name)].astype(int)
        voted = voted_classes(lf, cfg.labels)
        if k > 2 and len(voted) == 1:
            c = voted.pop()
            prompt_rows.append({"name": f"prompt LF {lf.name} (one-vs-rest: {cfg.labels[c]})",
                                "kind": "prompt_lf", **one_vs_rest_scores(y, votes, c),
                                "abstain_scored_as": f"not {cfg.labels[c]}",
                                "scored_as": "one_vs_rest", "f1_of": cfg.labels[c], **cost})
            continue
        other = abstain_class(lf, cfg.labels, fallback)
        prompt_rows.append({"name": f"prompt LF {lf.name}", "kind": "prompt_lf",
                            **_scores(y, np.where(votes != -1, votes, other), votes != -1,
                                      k, pos), "abstain_scored_as": cfg.labels[other], **cost})

    covered = probs_test["covered"].to_numpy()
    lm_name = metrics.get("label_model", {}).get("name", cfg.label_model.name)
    if metrics.get("label_model", {}).get("chosen"):  # auto: the model it chose, as run says
        lm_name += f": {metrics['label_model']['chosen']}"
    for kind, title in (("label_model", f"label model ({lm_name})"),
                        ("majority_vote", "majority vote")):
        # the run's predictions hold its own decision on uncovered rows (the run's scores)
        pred = probs_test[f"{kind}_pred"].to_numpy().astype(int)
        rows.append({"name": title, "kind": kind, **_scores(y, pred, covered, k, pos),
                     **_all_lfs_cost(prompt_rows)})
    rows += prompt_rows
    rows += gold_only_rows(metrics)
    for row in rows:  # what the end model saves against this row
        cost = row["cost_per_1m_docs"]
        row["saves_per_1m_docs"] = None if cost is None else cost - rows[0]["cost_per_1m_docs"]
        row["latency_vs_end_model"] = (None if row["latency_s"] is None or row is rows[0]
                                       else row["latency_s"] / timing["latency_single_s"])
    return {
        "task": cfg.name, "run_dir": str(task.run_dir), "split": "test", "n": int(len(y)),
        "labels": cfg.labels, "positive_label": None if pos is None else cfg.labels[pos],
        "abstain_scored_as": cfg.labels[fallback],
        "token_rule": token_rule(),
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "rows": rows,
        "f1_column": "test F1" if pos is not None else "test macro-F1",
        "gold_budget": gold_budget(metrics),
        "notes": ([
            "A prompt LF used as a classifier: its abstentions count as the other class "
            "when it votes only one class of two (its 'no'), else as "
            f"'{cfg.labels[fallback]}', the most frequent class of the label model's train "
            "probabilities."] if any(r.get("scored_as") != "one_vs_rest"
                                     for r in prompt_rows) else []) + [
            "Label model and majority vote: as scored in the run. "
            "'acc covered': rows with a vote only.",
            "Cost per 1M docs = tokens per doc x price per 1M tokens; one request per "
            "distinct doc. End model: $0 of LLM, CPU time noted.",
            "'x slower' = per-doc latency / the end model's one-at-a-time latency.",
        ] + timing_notes(rows[0])
        + (["Costs marked ~ are estimated: token rule above, on the rendered test prompts."]
           if any(r["estimated"] for r in rows) else [])
        + ([ONE_VS_REST_NOTE] if any(r.get("scored_as") == "one_vs_rest" for r in rows) else [])
        + ([asked_note] if asked_note and prompt_rows else []),
    }
