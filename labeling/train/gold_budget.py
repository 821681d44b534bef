"""A run's gold budget: the gold-only baseline next to the pipeline's end model, and
what the LFs and prompts are worth in hand labels.

Weak supervision must beat what its own dev gold gives without any LF (Zhu et al., ACL
2023), so the train step fits :func:`labeling.train.gold_only.gold_only_baseline` with the
pipeline's own options (same end-model family, same dev rows, same CV folds) and says
which is ahead on dev CV (:func:`verdict`): test never decides anything here, it is only
scored. Then it runs :func:`labeling.train.learning_curve.learning_curve` seed by seed
while a time budget lasts, and :func:`labels_worth` reads it.

An end model fit once, not cross-validated (``minilm_finetune``: a fit costs minutes)
gets its own gold-only twin instead (:func:`labeling.train.gold_only.fit_once_gold_only`:
the same model and params on the dev gold alone, fit once). Neither is cross-validated,
and their early-stopping rows differ (and the gold stage trains on every dev row), so
no dev score compares them: the verdict says so, and the twin's test score, shown next
to the end model's by ``labeling run``/``evaluate``/``report``, the card and the app, is
the comparison (a final score, not a basis for any choice). No learning curve either.

Options (``[end_model] params = {learning_curve = {seeds = 3, budget_s = 60}}``, or
``learning_curve = false`` to skip it; ``gold_only = false`` skips the baseline, and
with it the curve, said in every output) are taken out of the end-model params before
those reach the end-model choice (:func:`split_curve_options`,
:func:`split_gold_only_option`).
"""

from __future__ import annotations

import inspect
import time

import numpy as np

from labeling.train.auto import DEFAULT_DEV_WEIGHT, FIT_ONCE
from labeling.train.cross_validation import GOLD_ONLY, resolve_params
from labeling.train.gold_only import fit_once_gold_only, gold_only_baseline
from labeling.train.learning_curve import (DEFAULT_CURVE_SEEDS, FIRST_KEY, labels_worth,
                                           learning_curve)

CURVE_KEY = "learning_curve"
GOLD_ONLY_KEY = "gold_only"  # params.gold_only = false: no gold-only baseline (nor curve)
SKIPPED_TEXT = ("no gold-only baseline: params.gold_only = false, so this run does not say "
                "whether the LFs and prompts beat the same model on the {n} dev labels alone")
FIT_ONCE_TEXT = ("the end model ({name}) and its gold-only twin ({name}, same params, on the "
                 "{n} dev labels alone, no weak row; fit in {s:.0f} s) were each fit once, "
                 "not cross-validated: no dev score compares them; their test scores "
                 "(`labeling evaluate`) do")
# Seconds of curve fits: a seed (3 pipeline + 3 gold-only end-model fits and their
# predictions on the rest of dev) is started only if the seeds done so far say it ends
# within the budget, so the curve costs at most one seed more than this. On the bundled
# task all 3 seeds took 4.4 s (docs/scores.md), the predictions going through the embedding
# cache; a seed took 55-64 s before that, most of it re-embedding the dev texts.
DEFAULT_CURVE_BUDGET_S = 60.0
_BASELINE_OPTIONS = set(inspect.signature(gold_only_baseline).parameters)

LOUD = ("gold_only_ahead", "gold_only_chosen")  # verdicts every output must shout
VERDICT_TEXT = {
    "pipeline_ahead": "the pipeline beats the gold-only baseline on dev CV by {gap:+.3f} "
                      "{metric}",
    "tie": "the pipeline only ties the gold-only baseline on dev CV ({cv:.3f} vs {gold:.3f} "
           "{metric}): "
           "the LFs and prompts add nothing measurable to the {n} dev labels",
    "gold_only_ahead": "the pipeline LOSES to the gold-only baseline on dev CV ({cv:.3f} vs "
                       "{gold:.3f} {metric}): a model on the {n} dev labels alone is better; "
                       "fix the LFs or drop the weak rows",
    "gold_only_chosen": "the end model IS the gold-only model: dev CV found the weak labels "
                        "made it worse ({gold:.3f} {metric} on the {n} dev labels alone), so "
                        "no LF or prompt trained it",
}


def split_curve_options(params: dict) -> tuple[dict, dict | None]:
    """``(end-model params without the curve key, curve options or None to skip)``."""
    params = dict(params or {})
    raw = params.pop(CURVE_KEY, True)
    if raw is False:
        return params, None
    raw = {} if raw is True else raw
    if not isinstance(raw, dict) or set(raw) - {"seeds", "budget_s"}:
        raise ValueError(f"params.{CURVE_KEY} must be false or a table with seeds and "
                         f"budget_s, got {raw!r}")
    return params, {"seeds": int(raw.get("seeds", DEFAULT_CURVE_SEEDS)),
                    "budget_s": float(raw.get("budget_s", DEFAULT_CURVE_BUDGET_S))}


def split_gold_only_option(params: dict) -> tuple[dict, bool]:
    """``(end-model params without the gold_only key, whether to fit the baseline)``."""
    params = dict(params or {})
    raw = params.pop(GOLD_ONLY_KEY, True)
    if not isinstance(raw, bool):
        raise ValueError(f"params.{GOLD_ONLY_KEY} must be true or false (false: no gold-only "
                         f"baseline), got {raw!r}")
    return params, raw


def dev_cv_text(metric: str, end_cv: float | None, gold_cv: float, n_dev: int,
                nested_cv: float | None = None) -> str:
    """The line every output gives the two dev CV scores in (run, report.md, the app),
    three digits each. ``nested_cv``: the choice's nested score (:func:`nested_end_cv`),
    which the verdict states: the end model's ``cv`` is then said to be of a weak weight
    picked on the very folds that score it, so two end-model CV scores on adjacent lines
    do not read as one number printed twice, differently.

    >>> dev_cv_text("accuracy", 0.79, 0.7578, 300)
    'Dev CV (accuracy): end model 0.790, gold-only baseline 0.758 (300 dev labels, same model family and folds)'
    >>> dev_cv_text("f1", 0.9473, 0.9421, 264, 0.9426)[:106]
    'Dev CV (f1): end model 0.947 (its weak weight picked on these folds; on folds it was not picked on: 0.943)'
    """
    end = "-" if end_cv is None else f"{end_cv:.3f}"
    if end_cv is not None and nested_cv is not None:
        end += (" (its weak weight picked on these folds; on folds it was not picked on: "
                f"{nested_cv:.3f})")
    return (f"Dev CV ({metric}): end model {end}, gold-only baseline {gold_cv:.3f} "
            f"({n_dev} dev labels, same model family and folds)")


def nested_end_cv(end: dict) -> float | None:
    """The end model's nested dev CV score (metrics.json ``end_model.cv_nested``) where
    :func:`verdict` states it instead of ``cv`` (not for the gold-only choice), else None."""
    if end.get("label_mode") == "gold_only" or end.get("cv") is None:
        return None
    return (end.get("cv_nested") or {}).get("end_model")


def verdict(pipeline: dict, gold_cv: float, n_dev: int) -> dict:
    """``{"verdict": code, "text": ..., "loud": bool}`` from the pipeline's choice report
    (``cv``, ``label_mode``, ``metric``) and the baseline's CV."""
    cv, nested = pipeline.get("cv"), pipeline.get("cv_nested")
    chosen_lead = None
    if nested and pipeline.get("label_mode") != "gold_only" and cv is not None:
        # the chosen candidate's cv was the best of several on the rows it is scored on;
        # the nested one's choice never saw the scored fold (auto.nested_gain)
        chosen_lead, cv, gold_cv = cv - gold_cv, nested["end_model"], nested["gold_only"]
    if pipeline.get("label_mode") == "gold_only":
        code = "gold_only_chosen"
    elif cv is None:
        return {"verdict": "not_compared", "loud": False,
                "text": "the pipeline's end model was not cross-validated: no comparison"}
    else:  # to the 3 digits printed: a lead of 0.0004 is no "beats ... by +0.000"
        lead = round(cv - gold_cv, 3)
        code = "pipeline_ahead" if lead > 0 else "tie" if lead == 0 else "gold_only_ahead"
    text = VERDICT_TEXT[code].format(gap=(cv or 0) - gold_cv, cv=cv or gold_cv, gold=gold_cv,
                                     n=n_dev, metric=pipeline.get("metric", "accuracy"))
    scores = list((pipeline.get("cv_scores") or {}).values())
    if code == "gold_only_chosen" and len(scores) > 1 and max(scores) - min(scores) < 1e-9:
        text = (f"the end model IS the gold-only model: every candidate scored {gold_cv:.3f} "
                f"{pipeline.get('metric', 'accuracy')} on dev CV (a tie, not a loss of the "
                "weak labels), and ties go to the gold-only model, so no LF or prompt "
                "trained it")
    se = nested["se"] if chosen_lead is not None else _paired_se(pipeline)
    if code == "pipeline_ahead" and se is not None:  # a lead inside its noise is no win
        text += (f" (paired SE {se:.3f}: inside one SE, not a clear win)"
                 if cv - gold_cv < se else f" (paired SE {se:.3f})")
    if chosen_lead is not None and code != "gold_only_chosen":
        text += (f"; each fold scored with the weak weight chosen on the other folds (the "
                 f"chosen weight's own CV lead, picked on these folds: {chosen_lead:+.3f})")
    return {"verdict": code, "text": text, "loud": code in LOUD}


def _paired_se(pipeline: dict) -> float | None:
    """The standard error of the chosen candidate's CV lead over gold-only, paired over
    the same out-of-fold rows (``weight_rule_cv``), when the choice is the best-scoring
    candidate (the lead it reports is then the one the verdict states)."""
    rule_cv = pipeline.get("weight_rule_cv") or {}
    if pipeline.get("weight_rule", "best") != "best":
        return None
    paired = [p for key, p in (rule_cv.get("paired") or {}).items()
              if key.endswith(f"/{GOLD_ONLY}")]
    return paired[0]["se"] if paired else None


def gold_only_section(dev_texts, y_dev, cardinality: int, options: dict, pipeline: dict,
                      metric: str, pos_label: int, seed: int, cache_dir=None,
                      enabled: bool = True):
    """``(fitted gold-only model or None, metrics section)``. ``options``: what the
    pipeline's ``choose_end_model`` got (``end_model_options``); the baseline takes the
    ones that make its folds and models the pipeline's. A fit-once end model gets its
    twin (:func:`fit_once_section`). ``enabled=False`` (``params.gold_only = false``):
    none, with a text every output shows."""
    n_dev = 0 if y_dev is None else len(y_dev)
    if not enabled:
        text = SKIPPED_TEXT.format(n=n_dev)
        return None, {"skipped": f"params.{GOLD_ONLY_KEY} = false", "text": text,
                      "verdict": "not_compared", "loud": False}
    if y_dev is None or len(y_dev) < options.get("n_folds", 3):
        return None, {"skipped": "no dev gold to train or cross-validate a baseline on",
                      "verdict": "not_compared", "loud": False}
    kwargs = {k: v for k, v in options.items() if k in _BASELINE_OPTIONS}
    if kwargs.get("name") in FIT_ONCE:  # never cross-validated: its own twin, fit once
        return fit_once_section(dev_texts, y_dev, cardinality, options, pipeline, metric,
                                seed, cache_dir)
    start = time.perf_counter()
    model, report = gold_only_baseline(dev_texts, y_dev, cardinality, metric=metric,
                                       pos_label=pos_label, seed=seed, cache_dir=cache_dir,
                                       **kwargs)
    section = {**report, "metric": metric, "seconds": round(time.perf_counter() - start, 3),
               "pipeline_cv": pipeline.get("cv")}
    section.update(verdict(pipeline, report["cv"], report["n_dev"]))
    return model, section


def fit_once_section(dev_texts, y_dev, cardinality: int, options: dict, pipeline: dict,
                     metric: str, seed: int, cache_dir=None):
    """A fit-once end model's gold-only twin (:func:`fit_once_gold_only`) and its section:
    no ``cv``, verdict ``not_compared`` with a text saying why."""
    name = options["name"]
    if pipeline.get("label_mode") == "gold_only":  # weak_weights = [0]: it IS the twin
        return None, {"skipped": f"the end model is {name} on the dev gold alone",
                      "verdict": "gold_only_chosen", "loud": True,
                      "text": f"the end model IS the gold-only model ({name} on the "
                              f"{len(y_dev)} dev labels alone, weak_weights = [0]): no LF "
                              "or prompt trained it"}
    try:
        model, report = fit_once_gold_only(
            name, dev_texts, y_dev, cardinality, resolve_params(name, options.get("params")
                                                                or {}),
            options.get("dev_weight", DEFAULT_DEV_WEIGHT), seed, cache_dir)
    except ValueError as exc:  # e.g. one class in dev: said, not a traceback after the fit
        return None, {"skipped": f"the gold-only twin ({name}) could not be fit: {exc}",
                      "text": f"no gold-only baseline: {name} on the dev gold alone could "
                              f"not be fit ({exc})", "verdict": "not_compared", "loud": False}
    text = FIT_ONCE_TEXT.format(name=name, n=report["n_dev"], s=report["fit_seconds"])
    return model, {**report, "metric": metric, "seconds": report["fit_seconds"],
                   "pipeline_cv": pipeline.get("cv"), "verdict": "not_compared",
                   "loud": False, "text": text}


def frozen_section(dev_texts, y_dev, cardinality: int, options: dict, metric: str,
                   pos_label: int, seed: int, cache_dir=None):
    """A fit-once end model's second baseline, ``(model or None, section or None)``: the
    default frozen family (the one ``auto`` fits) cross-validated on the dev gold alone,
    as ``metrics.json`` ``gold_only_frozen``. A fine-tune on a few hundred rows alone can
    be a weak baseline that flatters the LFs (bundled task: the twin 0.888 test F1, the
    frozen family on the same rows 0.923), so the run shows both; it costs seconds.
    None for an end model that is cross-validated (its baseline is already this family
    or the same model) or without enough dev gold."""
    if options.get("name") not in FIT_ONCE or y_dev is None \
            or len(y_dev) < options.get("n_folds", 3):
        return None, None
    kwargs = {k: v for k, v in options.items() if k in _BASELINE_OPTIONS}
    kwargs.update(name="auto", params={})
    kwargs.pop("candidates", None)
    model, report = gold_only_baseline(dev_texts, y_dev, cardinality, metric=metric,
                                       pos_label=pos_label, seed=seed, cache_dir=cache_dir,
                                       **kwargs)
    text = (f"the default frozen family ({report['name']}) on the {report['n_dev']} dev "
            f"labels alone: dev CV {report['cv']:.3f} {metric} (the fine-tune has no dev CV "
            "to compare with; its test score does)")
    return model, {**report, "metric": metric, "text": text}


def curve_section(texts, proba, covered, dev_texts, y_dev, pipeline: dict, gold: dict,
                  metric: str, pos_label: int, seed: int, curve_options: dict | None,
                  cache_dir=None, params: dict | None = None,
                  fold_label_model=None) -> dict:
    """The learning curve (seed by seed, within ``budget_s``) and :func:`labels_worth`,
    with what it cost: ``{"curve": .., "worth": .., "seconds": .., "seeds_done": ..}``
    or ``{"skipped": why}``."""
    if curve_options is None:
        return {"skipped": f"params.{CURVE_KEY} = false"}
    if "skipped" in gold:
        return {"skipped": gold["skipped"]}
    if pipeline.get("cv_skipped"):  # its fits cost minutes each; the curve needs 6 a seed
        return {"skipped": f"{pipeline['cv_skipped']}: no learning curve (it would fit "
                           "the model 6 times a seed, 3 dev budgets x with and without "
                           "the weak rows)"}
    if pipeline.get("label_mode") == "gold_only":
        return {"skipped": "the end model is the gold-only model: the LFs trained nothing",
                "worth": {"labels": 0, "text": "your LFs and prompts are worth 0 hand labels "
                                               "here: the end model uses none of their labels"}}
    start, curves, spent = time.perf_counter(), [], []
    for s in range(curve_options["seeds"]):
        if spent and (time.perf_counter() - start) + max(spent) > curve_options["budget_s"]:
            break  # the next seed would overrun the budget
        t0 = time.perf_counter()
        # seed + s with one seed is exactly seed s of a multi-seed curve (same dev order)
        curves.append(learning_curve(texts, proba, covered, dev_texts, y_dev, pipeline, gold,
                                     metric, pos_label, seed + s, n_seeds=1,
                                     cache_dir=cache_dir, params=params,
                                     fold_label_model=fold_label_model))
        spent.append(time.perf_counter() - t0)
    curve = {**curves[0], "seeds": len(curves),
             **{key: [row for c in curves for row in c[key]]
                for key in ("pipeline", "gold_only", FIRST_KEY)}}
    return {"curve": curve, "worth": labels_worth(curve),
            "seconds": round(time.perf_counter() - start, 3), "seeds_done": len(curves),
            "seeds_asked": curve_options["seeds"], "budget_s": curve_options["budget_s"]}


def curve_means(curve: dict) -> list[dict]:
    """Per dev budget: mean, min and max over seeds of both curves (for tables and plots)."""
    rows = []
    for i, size in enumerate(curve["sizes"]):
        for which in ("pipeline", "gold_only"):
            values = np.asarray([row[i] for row in curve[which]], float)
            rows.append({"labels": int(size), "model": which, "mean": float(values.mean()),
                         "min": float(values.min()), "max": float(values.max())})
    return rows
