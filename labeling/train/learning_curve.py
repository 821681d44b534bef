"""What the LFs are worth, in hand labels: learning curves on nested dev subsamples.

For each seed, dev is put in one seeded order (every class once at the front, so even
the smallest subsample has each class), and the subsample of fraction ``f`` is its
first ``round(f * n)`` rows: smaller subsamples are subsets of larger ones. On each
subsample two models are fit: the gold-only model (dev gold alone) and the pipeline's
chosen end model (weak rows + the subsample's gold, same label mode and weak weight).
Both are scored on the **rest of dev** (the rows not in the subsample), the same rows
for both, so test is never used: the curve can run at decision time, in every run.
Fractions stop below 1 (default 0.25/0.5/0.75) because the full dev split leaves no
rows to score on; the pipeline's own ``cv`` is the number for all of dev. Neither model
gets a decision bias here (it would need a CV of its own per point), so on F1 tasks
both curves are argmax scores: lower than ``cv``, but comparable with each other.

:func:`labels_worth` reads the curves: the gold budget at which the gold-only curve
(piecewise linear in the number of labels, per seed) reaches the pipeline's score,
minus the gold the pipeline itself used, is what the LFs and prompts are worth in hand
labels. A larger budget leaves fewer rows to score on, so the pipeline fit on the
smallest budget is scored on every budget's rest of dev too (``pipeline_first_budget``)
and each gold-only point is compared with it on the same rows. If the pipeline beats gold-only at every measured budget, the answer is "more
than" the largest measured difference; if it loses to gold-only on as few labels as
the pipeline had, the LFs are worth nothing (or less).
"""

from __future__ import annotations

import numpy as np

from labeling.metrics import score_predictions
from labeling.train.blas import on_one_blas_thread
from labeling.train.cross_validation import resolve_params
from labeling.train.end_model import (cap_train_rows, embedding_cache, predict_proba_full,
                                      train_end_model)

DEFAULT_FRACTIONS = (0.25, 0.5, 0.75)
DEFAULT_CURVE_SEEDS = 3
# Per seed, the pipeline fit on the smallest budget scored on every budget's rest of dev:
# the rows the gold-only point at that budget is scored on (labels_worth pairs them).
FIRST_KEY = "pipeline_first_budget"


def nested_subsamples(y_dev, sizes, n_seeds: int = DEFAULT_CURVE_SEEDS,
                      seed: int = 0) -> list[list[np.ndarray]]:
    """``[seed][size] -> dev row indices``: per seed, the first ``size`` rows of one
    seeded order of dev, so each subsample contains every smaller one of its seed. The
    order starts with one row of every class (in shuffled order) so each subsample of
    at least ``k`` rows has every class, and ends with another row of every class that
    has two or more, so the rest of dev each subsample is scored on has them too (else a
    rare class's F1 there is 0 for both models whatever they do). The last row of a
    common class is already past the largest subsample: those subsamples are as before."""
    y_dev = np.asarray(y_dev, dtype=int)
    out = []
    for s in range(n_seeds):
        order = np.random.default_rng(seed + s).permutation(len(y_dev))
        _, first = np.unique(y_dev[order], return_index=True)
        _, last = np.unique(y_dev[order][::-1], return_index=True)
        last = len(order) - 1 - last
        front, back = order[np.sort(first)], order[np.sort(last[last != first])]
        order = np.concatenate([front, order[~np.isin(order, np.concatenate([front, back]))],
                                back])
        out.append([order[:min(int(size), len(order))] for size in sizes])
    return out


def fraction_sizes(n_dev: int, fractions=DEFAULT_FRACTIONS) -> list[int]:
    """Subsample sizes for ``fractions`` of ``n_dev`` rows (at least 2, distinct)."""
    return sorted({max(2, int(round(f * n_dev))) for f in fractions if f * n_dev < n_dev})


@on_one_blas_thread  # small logistic regressions: see labeling.train.blas
def learning_curve(texts, probs, covered, dev_texts, y_dev, pipeline: dict, gold_only: dict,
                   metric: str = "accuracy", pos_label: int = 1, seed: int = 0,
                   fractions=DEFAULT_FRACTIONS, n_seeds: int = DEFAULT_CURVE_SEEDS,
                   cache_dir=None, params: dict | None = None,
                   fold_label_model=None) -> dict:
    """The two curves on nested dev subsamples, each scored on the rest of dev.

    ``fold_label_model`` (:class:`labeling.train.fold_label_model.FoldLabelModel`): the
    pipeline's weak rows at each subsample get the label model refit on that subsample's
    dev rows alone; else ``probs`` (fit on all of dev, so the rest of dev it is scored
    on has shaped its weak targets: optimistic for the pipeline's curve).

    ``pipeline``: the pipeline's end-model choice, as ``choose_end_model``'s report
    gives it (``name``, ``label_mode``, ``weak_weight``, ``dev_weight``); ``gold_only``:
    the baseline's (``name``). ``params``: the end models' params by name (``auto``'s
    ``params``). Returns ``{"sizes": [...], "metric": .., "seeds": n, "pipeline":
    [[score per size] per seed], "gold_only": [[...] per seed]}`` for
    :func:`labels_worth`. Costs ``2 x len(sizes) x n_seeds`` end-model fits.
    """
    params, y_dev = params or {}, np.asarray(y_dev, dtype=int)
    cap = pipeline.get("train_rows_cap")  # the rows the pipeline's model was fit on
    if cap:
        covered = cap_train_rows(covered, cap["max_train_rows"], cap["seed"])
    dev_texts = np.asarray(list(dev_texts), dtype=object)
    k = np.asarray(probs).shape[1]
    sizes = fraction_sizes(len(y_dev), fractions)
    dev_weight = pipeline.get("dev_weight") or 3.0
    mode = pipeline.get("label_mode", "soft")
    fits = {"pipeline": dict(name=pipeline["name"], weak_weight=pipeline.get("weak_weight"),
                             label_mode="soft" if mode == "gold_only" else mode),
            "gold_only": dict(name=gold_only["name"], weak_weight=0.0, label_mode="soft")}
    if mode == "gold_only":
        fits["pipeline"]["weak_weight"] = 0.0
    curves = {which: [] for which in (*fits, FIRST_KEY)}
    for subsamples in nested_subsamples(y_dev, sizes, n_seeds, seed):
        rests = [np.setdiff1d(np.arange(len(y_dev)), idx) for idx in subsamples]
        for which, fit in fits.items():
            row = []
            for i, (idx, rest) in enumerate(zip(subsamples, rests)):
                weak = (probs if fold_label_model is None or which == "gold_only"
                        else fold_label_model.probs(idx))
                model = train_end_model(texts, weak, covered, fit["name"], seed,
                                        fit["label_mode"], dev_texts[idx], y_dev[idx],
                                        dev_weight, cache_dir, weak_weight=fit["weak_weight"],
                                        **resolve_params(fit["name"], params))
                with embedding_cache(model, cache_dir):  # dev texts are embedded once
                    pred = predict_proba_full(model, dev_texts[rest], k).argmax(axis=1)
                row.append(round(score_predictions(y_dev[rest], pred, metric, pos_label), 4))
                if which == "pipeline" and i == 0:  # rests[j] is a subset of rests[0]
                    curves[FIRST_KEY].append(row[:1] + [round(score_predictions(
                        y_dev[r], pred[np.searchsorted(rest, r)], metric, pos_label), 4)
                        for r in rests[1:]])
            curves[which].append(row)
    return {"sizes": sizes, "metric": metric, "seeds": n_seeds, "scored_on": "rest of dev",
            **curves}


def crossing(sizes, gold_scores, target) -> float | None:
    """The number of labels at which the piecewise-linear gold-only curve first reaches
    ``target``; ``None`` if it never does within ``sizes``; ``sizes[0]`` or less if it
    already does at the first size (returned as ``sizes[0]``). ``target``: one score, or
    one per size (the pipeline scored on the rows each gold-only point is scored on):
    then the curve of their paired differences is followed to its first zero."""
    sizes, gold_scores = np.asarray(sizes, float), np.asarray(gold_scores, float)
    diff = gold_scores - np.broadcast_to(np.asarray(target, float), gold_scores.shape)
    if diff[0] >= 0:
        return float(sizes[0])
    for i in range(1, len(sizes)):
        if diff[i] >= 0:
            lo, hi = diff[i - 1], diff[i]
            return float(sizes[i - 1] + -lo / (hi - lo) * (sizes[i] - sizes[i - 1]))
    return None


def labels_worth(curve: dict) -> dict:
    """What the pipeline's weak rows are worth in hand labels, from :func:`learning_curve`.

    Taken at the smallest budget (where the gold-only curve has the most room above it):
    per seed, ``crossing(gold-only curve, pipeline score) - budget``, 0 where gold-only is
    already ahead on the same labels (``gold_only_ahead`` counts those seeds). The
    pipeline's score is paired with each gold-only point: the smallest budget's pipeline
    scored on the rows that point is scored on (``pipeline_first_budget``; a curve
    without it, from an older run, uses its score on its own rest of dev). The median
    is over every seed, a seed where gold-only never catches up counting as more than
    the largest measured difference (so it is not dropped from the median). Returns
    ``{"budget": labels the pipeline had, "labels": median over seeds or None, "low": ..,
    "high": .., "more_than": a lower bound when the median seed never crosses (else
    None), "text": one line for the report}``.
    """
    sizes, budget = curve["sizes"], curve["sizes"][0]
    if curve.get("metric") == "f1" and not np.any(curve["pipeline"] + curve["gold_only"]):
        # every score 0: no row of the positive label was called right by either model
        # outside any budget (with one dev row of it, none is ever outside): no comparison
        return {"budget": int(budget), "labels": None, "low": None, "high": None,
                "more_than": None, "gold_only_ahead": 0,
                "text": ("the learning curve cannot say what your LFs and prompts are "
                         "worth: both models scored F1 0 at every budget ("
                         + ", ".join(map(str, sizes)) + " dev labels) on the dev rows "
                         "outside it; too few dev rows of the positive label to compare on")}
    firsts = curve.get(FIRST_KEY) or [pipe[:1] for pipe in curve["pipeline"]]
    worth, beyond, losses = [], 0, 0
    for first, gold in zip(firsts, curve["gold_only"]):
        target = first if len(first) == len(sizes) else first[0]
        at = crossing(sizes, gold, target)
        if at is None:
            beyond += 1
        else:  # gold-only ahead already at the same budget: worth 0 (not extrapolated)
            losses += gold[0] > first[0]
            worth.append(at - budget)
    out = {"budget": int(budget), "labels": None, "low": None, "high": None,
           "more_than": None, "gold_only_ahead": losses}
    cap = sizes[-1] - budget  # a seed that never crosses: worth more than this
    median = float(np.median(worth + [np.inf] * beyond))
    if np.isinf(median):
        out["more_than"] = int(round(np.median(worth + [cap] * beyond)))
        out["text"] = (f"with {budget} dev labels, your LFs and prompts are worth more than "
                       f"{out['more_than']} hand labels (gold-only never caught up within "
                       f"{sizes[-1]} labels in {beyond} of {beyond + len(worth)} subsamples)")
        return out
    worth = np.asarray(worth, float)
    out.update(labels=int(round(median)), low=int(round(worth.min())),
               high=int(round(worth.max())))
    spread = f"{out['low']} to {out['high']} in {len(worth)} of {len(curve['pipeline'])} subsamples"
    if beyond:
        spread += f"; in {beyond} more, gold-only never caught up within {sizes[-1]} labels"
    if losses:
        spread += f"; gold-only alone was better in {losses}"
    out["text"] = (f"with {budget} dev labels, your LFs and prompts are worth about "
                   f"{out['labels']} hand labels ({spread})")
    return out
