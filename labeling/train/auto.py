"""``[end_model] name = "auto"``: choose end model and label mode by repeated K-fold CV on dev.

Dev gold is used twice, so it cannot simply score the models: its rows are extra
training rows (``dev_weight`` copies each; they correct the LFs' systematic errors)
and it is the only gold allowed for choosing. So each candidate (end model x label
mode) is fit on the weak train rows + all dev folds but one and predicts the held-out
fold; the out-of-fold (OOF) predictions of all folds are pooled into one dev score
(steadier than a mean of per-fold F1s on a few hundred rows), and the K-fold split is
repeated with ``n_repeats`` fold seeds and the scores averaged: youtube's dev split is
120 rows, and a single 3-fold split chose MiniLM over TF-IDF on one or two rows.
By default the candidates are one end model (the TF-IDF + MiniLM average, soft labels)
at several weights of the weak rows against the gold rows, the gold-only model among
them (:data:`DEFAULT_CANDIDATES`). When more end models are listed, they go cheapest
first (TF-IDF, MiniLM, then their average), and a later one is chosen only if it beats
the best so far by ``min_gain``; with many candidates, successive halving scores the
weaker ones on the first CV repeat only. The choice is then refit on all of train and
dev. Test is never passed in. The cross-validation itself (out-of-fold predictions,
their scores, successive halving): :mod:`labeling.train.cross_validation`. The weak
rows' targets come from a label model fit on all of dev; given ``fold_label_model``,
each CV fold's weak rows get that label model refit on the fold's training dev rows
instead (:mod:`labeling.train.fold_label_model`), so the held-out gold never reaches
the weak candidates (`labeling train` passes it).

``weight_rule``: ``"best"`` takes the best CV score; ``"one_se"`` leaves the lightest
candidate only for a gain larger than its noise (:func:`lightest_within_se`).

For ``metric = "f1"`` the chosen model also gets a decision bias (a prior correction,
:mod:`labeling.train.ensemble`) fit on its pooled OOF probabilities; candidates are
scored with the bias fit on the other folds' OOF rows (nested), so the bias's own
optimism does not decide the choice. Set ``decision_bias = false`` to keep the argmax.
"""

from __future__ import annotations

import json
import time

import numpy as np

from labeling.metrics import fit_decision_bias, stratified_folds
from labeling.train.blas import on_one_blas_thread
from labeling.train.cross_validation import (DEFAULT_DEV_WEIGHT, DEFAULT_N_REPEATS,
                                             GOLD_ONLY, candidate_key, candidate_keys,
                                             fold_scores, nested_choice,
                                             oof_score, parse_key, resolve_params,
                                             successive_halving)
from labeling.train.end_model import (LABEL_MODES, cap_train_rows, check_no_seed,
                                      make_end_model, train_end_model)
from labeling.train.ensemble import apply_decision_bias
from labeling.train.finetune import schedule_record
from labeling.train.user_cv import any_oof_probabilities
from labeling.train.user_model import is_user_model, resolve_reference

AUTO_CANDIDATES = ("tfidf_logreg", "minilm_logreg", "tfidf_minilm_avg")  # auto may search
# What auto searches by default: the average, soft labels, the weak weight by CV. With
# 50-500 dev rows, dev CV scores many candidates within a row or two of each other, so
# the wider search (3 end models x soft/hard) picked on noise: scored on the dev rows
# outside a 50/100-row budget (not on test), it lost 2-15 points to this narrower one on
# sms and trec (docs/gold_budget.md). Widen with ``candidates`` / ``label_mode = "auto"``.
DEFAULT_CANDIDATES = ("tfidf_minilm_avg",)
DEFAULT_LABEL_MODE = "soft"
# A later (slower) candidate must beat the earlier ones by this much to be chosen: on a
# dev split of ~100 rows one row is ~0.01, and noise should not buy a 100x slower model.
DEFAULT_MIN_GAIN = 0.01
DEFAULT_WEAK_WEIGHTS = (0.0, 0.1, 0.3, 1.0, None)  # chosen among by dev CV (docs/gold_budget.md)
# Candidates kept past the first CV repeat (successive halving). Checked against the
# exhaustive search on the same folds (youtube/sms 50-all rows): keep 6 chose a model of
# the same CV score in 7 of 7 cases, keep 4 lost 0.007 and 0.014 in 2 of them.
DEFAULT_HALVING_KEEP = 6
# End models fit once when named, never cross-validated: a fit costs minutes (a fine-tuned
# transformer), and auto's CV would fit one per fold x repeat x weak weight. They keep
# the weak rows at weight 1 (or the one ``weak_weights`` value given) and get no
# decision bias (it is fit on CV predictions). docs/finetune.md: why not in auto.
FIT_ONCE = ("minilm_finetune",)
DEFAULT_N_FOLDS = 3
# How the weak weight is chosen from the CV scores: "best" (the highest) or "one_se" (the
# lightest within N_SE standard errors of it; docs/gold_budget.md). N_SE fixed at 1 (the
# classic one-standard-error rule) before it was measured, not tuned.
WEIGHT_RULES = ("best", "one_se")
DEFAULT_WEIGHT_RULE = "best"
N_SE = 1.0


def check_weight_rule(rule) -> str:
    if rule not in WEIGHT_RULES:
        raise ValueError(f"[end_model] params.weight_rule must be one of "
                         f"{', '.join(WEIGHT_RULES)}, got {rule!r}")
    return rule


def pick_best(scores: dict[str, float], min_gain: float = DEFAULT_MIN_GAIN) -> str:
    """The first candidate in order unless a later one beats the best so far by >= min_gain."""
    best = next(iter(scores))
    for name, score in scores.items():
        if score >= scores[best] + min_gain:
            best = name
    return best


def choose_candidate(scores: dict[str, float], min_gain: float = DEFAULT_MIN_GAIN) -> str:
    """The key to fit, from CV ``scores`` in :func:`candidate_keys` order.

    Per end model its best-scoring candidate (label mode x weak weight; ties go to the
    earlier: gold-only, then lighter weak weights); across end models, cheapest first,
    a slower one only if it wins by ``min_gain`` (:func:`pick_best`). The result never
    scores below the best gold-only candidate: if the ``min_gain`` rule would keep a
    cheaper model that does, the best-scoring candidate is taken instead, so on dev CV
    the weak rows can never make auto worse than the dev gold alone.
    """
    per_model: dict[str, str] = {}
    for key, score in scores.items():
        name = parse_key(key)[0]
        if name not in per_model or score > scores[per_model[name]]:
            per_model[name] = key
    best = pick_best({key: scores[key] for key in per_model.values()}, min_gain)
    gold = [scores[key] for key in scores if parse_key(key)[1] == GOLD_ONLY]
    if gold and scores[best] < max(gold):
        best = max(scores, key=scores.get)  # the first of the best, in candidate order
    return best


def same_fit_as(keys, n_weak: int, y_dev, dev_weight: float, n_folds: int,
                n_repeats: int, seed: int) -> dict[str, str]:
    """``{key: an earlier key it fits exactly as}``: a weak weight whose scale
    (:func:`labeling.train.end_model.weak_scale`) is capped at 1 in every CV fold of
    every repeat and in the final fit weighs each weak row 1, as ``None`` (1 per row)
    and any other such weight do. Judged on an upper bound of the weak rows' total
    weight (``n_weak``: each row's targets sum to at most 1) and the smallest gold part
    a fold trains on, so only candidates certain to be the same fit are named."""
    y_dev = np.asarray(y_dev, dtype=int)
    smallest = min(int(np.sum(folds != f)) for r in range(n_repeats)
                   for folds in [stratified_folds(y_dev, n_folds, seed + r)]
                   for f in np.unique(folds))
    gold = float(dev_weight) * smallest

    def full_weight(w):
        return w is None or gold <= 0 or (w > 0 and w * gold >= n_weak)

    first, same = {}, {}
    for key in keys:
        name, mode, w = parse_key(key)
        if mode != GOLD_ONLY and full_weight(w):
            if (name, mode) in first:
                same[key] = first[name, mode]
            else:
                first[name, mode] = key
    return same


def paired_gains(scores: dict[str, float], per_fold: dict, best: str,
                 n_folds: int) -> dict[str, dict]:
    """``{key: {"gain", "se"}}`` for ``best``'s end model's candidates: the CV score gain
    of ``best`` over the candidate (``scores``: pooled OOF scores) and its standard
    error from the paired per-fold differences ``d = per_fold[best] - per_fold[key]``
    (repeats x folds, :func:`fold_scores`): ``se = sd(d) / sqrt(n_folds)``. Not over
    sqrt(repeats x folds): the repeats re-split the same dev rows, which averages out the
    split's noise but adds no rows, so it cannot shrink the dev sample's noise."""
    name, out = parse_key(best)[0], {}
    for key in scores:
        if parse_key(key)[0] == name and key in per_fold:
            d = (np.asarray(per_fold[best]) - np.asarray(per_fold[key])).ravel()
            se = float(np.std(d, ddof=1) / np.sqrt(n_folds)) if d.size > 1 else 0.0
            out[key] = {"gain": round(scores[best] - scores[key], 4), "se": round(se, 4)}
    return out


def lightest_within_se(paired: dict[str, dict], scores: dict[str, float], best: str,
                       n_se: float = N_SE) -> str:
    """The one-SE rule: the first (lightest: gold-only, then lighter weak weights) of
    :func:`paired_gains`' candidates whose gain from the best is at most ``n_se``
    standard errors and whose CV score is at least every gold-only candidate's (the
    floor of :func:`choose_candidate`); else ``best`` (the best-scoring one)."""
    gold = max((v for key, v in scores.items() if parse_key(key)[1] == GOLD_ONLY),
               default=-np.inf)
    return next((key for key, p in paired.items()
                 if p["gain"] <= n_se * p["se"] and scores[key] >= gold), best)


def nested_gain(oofs, splits, y_dev, metric, pos_label, bias, min_gain, n_folds) -> dict:
    """The pipeline's lead over gold-only with the choice among candidates made without
    the scored fold (:func:`labeling.train.cross_validation.nested_choice`, by
    :func:`choose_candidate`; gold-only's by :func:`pick_best` among its own): the chosen
    candidate's ``cv`` is the best of several on the very rows it is scored on, so its
    lead is optimistic by that selection. ``se``: as :func:`paired_gains`', from the
    paired per-fold differences. ``choices``: the candidate each fold got."""
    def run(keys, choose):
        return nested_choice({key: oofs[key] for key in keys}, splits, y_dev, choose, metric,
                             pos_label, bias)

    pipe = run(list(oofs), lambda scores: choose_candidate(scores, min_gain))
    gold = run([key for key in oofs if parse_key(key)[1] == GOLD_ONLY],
               lambda scores: pick_best(scores, min_gain))
    d = (pipe["fold_scores"] - gold["fold_scores"]).ravel()
    se = float(np.std(d, ddof=1) / np.sqrt(n_folds)) if d.size > 1 else 0.0
    return {"end_model": round(pipe["cv"], 4), "gold_only": round(gold["cv"], 4),
            "gain": round(pipe["cv"] - gold["cv"], 4), "se": round(se, 4),
            "choices": pipe["choices"],
            "fold_scores": {"end_model": np.round(pipe["fold_scores"], 4).tolist(),
                            "gold_only": np.round(gold["fold_scores"], 4).tolist()}}


@on_one_blas_thread
def choose_end_model(texts, probs, covered, dev_texts, y_dev, name="auto",
                     label_mode=DEFAULT_LABEL_MODE,
                     dev_weight=DEFAULT_DEV_WEIGHT, n_folds=DEFAULT_N_FOLDS, metric="accuracy",
                     pos_label=1, seed=0, cache_dir=None, params=None,
                     min_gain=DEFAULT_MIN_GAIN, n_repeats=DEFAULT_N_REPEATS,
                     decision_bias=True, weak_weights=DEFAULT_WEAK_WEIGHTS,
                     halving_keep=DEFAULT_HALVING_KEEP, candidates=DEFAULT_CANDIDATES,
                     fold_label_model=None, weight_rule=DEFAULT_WEIGHT_RULE,
                     max_train_rows=None):
    """Fit the end model the config asks for, choosing what is ``auto`` by dev CV.

    ``name``/``label_mode``: a fixed value or ``auto``; ``name = "auto"`` chooses among
    ``candidates`` (default: the TF-IDF + MiniLM average alone; any of
    :data:`AUTO_CANDIDATES`), ``label_mode = "auto"`` between soft and hard labels
    (default: soft). ``weak_weights``: the weak rows'
    total weight relative to the dev gold rows' to choose among (``0``: the gold-only
    model, no weak rows; ``None``: every weak row at weight 1), see
    :func:`labeling.train.end_model.weak_scale`. Without dev gold nothing can be
    chosen: the first candidate with the first label mode, weak rows at weight 1, no
    decision bias.

    ``fold_label_model``: the label model behind ``probs``, to refit on each CV fold's
    training part of dev (:class:`labeling.train.fold_label_model.FoldLabelModel`), so
    the held-out fold's gold has not shaped the weak rows' targets in that fold (it has
    in ``probs``, fit on all of dev); None: every fold uses ``probs`` (biased towards
    the weak rows where the label model's fit reads dev). The final fit uses ``probs``.

    ``halving_keep``: successive halving over the CV repeats
    (:func:`successive_halving`; ``None`` or 0 scores every candidate on every repeat).

    Returns ``(model, report)``; the report (for metrics.json) names the choice
    (``name``, ``label_mode`` (``gold_only`` for the gold-only model), ``weak_weight``,
    ``dev_weight``, ``decision_bias``), its CV score ``cv``, every candidate's CV score,
    and, when gold-only candidates were scored, ``gold_only``: the gold-only baseline
    chosen by the same rule from the same folds (what
    :func:`labeling.train.gold_only.gold_only_baseline` reports). ``weight_rule``
    (``best``/``one_se``, :data:`WEIGHT_RULES`) and, after a CV, ``weight_rule_cv``:
    the best-scoring candidate and every candidate's paired gain/SE
    (:func:`paired_gains`) and per-fold scores (``fold_scores``), whichever rule chose;
    with rule ``best`` and both gold-only and weak candidates, ``cv_nested``
    (:func:`nested_gain`): the lead over gold-only with each fold's candidate chosen on
    the other folds, which the verdict states. A fit-once end model (:data:`FIT_ONCE`):
    ``cv_skipped`` and ``fit_seconds`` (its one fit, as its gold-only twin's).

    ``max_train_rows``: at most this many covered train rows, a seeded sample
    (:func:`labeling.train.end_model.cap_train_rows`), in the CV and the fit; the report's
    ``train_rows_cap`` says how many of how many, and the learning curve uses the same.
    """
    params = params or {}
    check_weight_rule(weight_rule)
    capped = cap_train_rows(covered, max_train_rows, seed)
    cap = None
    if capped.sum() < np.asarray(covered, dtype=bool).sum():
        cap = {"max_train_rows": int(max_train_rows), "seed": seed,
               "covered": int(np.asarray(covered, dtype=bool).sum()), "used": int(capped.sum())}
        covered = capped
    names = list(candidates) if name == "auto" else [name]
    outside = [n for n in names if n not in AUTO_CANDIDATES and not is_user_model(n)]
    if name == "auto" and (outside or not names):
        raise ValueError(f"candidates must be some of {', '.join(AUTO_CANDIDATES)} or "
                         f"functions of yours (file.py:function), got {outside or list(names)}")
    modes = list(LABEL_MODES) if label_mode == "auto" else [label_mode]
    for n in names:
        make_end_model(n, seed=seed, **resolve_params(n, params))  # unknown names, bad params
    has_dev = y_dev is not None and len(y_dev) >= n_folds
    weights = tuple(weak_weights) if has_dev else (None,)
    fit_once = name in FIT_ONCE
    if fit_once:  # one fit, no CV: the weak weight is fixed, not chosen
        weights = weights if len(weights) == 1 else (None,)
        decision_bias = False
    keys = candidate_keys(names, modes, weights)
    same = same_fit_as(keys, int(np.asarray(covered, dtype=bool).sum()), y_dev, dev_weight,
                       n_folds, n_repeats, seed) if has_dev and not fit_once else {}
    keys = [key for key in keys if key not in same]  # one fit and score for both
    use_bias = bool(decision_bias) and metric == "f1" and has_dev
    report = {"candidates": keys, "metric": metric, "weight_rule": weight_rule,
              "dev_weight": dev_weight if has_dev else 0.0, "cv_scores": {}}
    if same:
        report["candidates_same_fit"] = same
    if cap:
        report["train_rows_cap"] = cap
    best = keys[0] if len(keys) == 1 else candidate_key(names[0], modes[0], None)
    oofs = {}
    scores_gold_only = any(parse_key(key)[1] == GOLD_ONLY for key in keys)
    if fit_once:
        report["cv_skipped"] = f"{name} is fit once, not cross-validated (a fit costs minutes)"
    elif has_dev and (len(keys) > 1 or use_bias or scores_gold_only):
        def cross_validate(keys=None, repeats=None):
            return any_oof_probabilities(texts, probs, covered, dev_texts, y_dev, names,
                                         modes, dev_weight, n_folds, n_repeats, seed,
                                         cache_dir, params, weights, keys, repeats,
                                         fold_label_model)

        def score(oof_list, splits):
            return oof_score(oof_list, splits, y_dev, metric, pos_label, use_bias)

        oofs, splits, dropped = successive_halving(cross_validate, score, keys, n_repeats,
                                                   halving_keep)
        scores = {key: score(p, splits) for key, p in oofs.items()}
        best = choose_candidate(scores, min_gain)
        per_fold = {key: fold_scores(p, splits, y_dev, metric, pos_label, use_bias)
                    for key, p in oofs.items() if parse_key(key)[0] == parse_key(best)[0]}
        paired = paired_gains(scores, per_fold, best, n_folds)
        report["weight_rule_cv"] = {"best": best, "n_se": N_SE, "paired": paired,
                                    "fold_scores": {key: np.round(v, 4).tolist()
                                                    for key, v in per_fold.items()}}
        if weight_rule == "one_se":
            best = lightest_within_se(paired, scores, best)
        gold = {key: v for key, v in scores.items() if parse_key(key)[1] == GOLD_ONLY}
        if weight_rule == "best" and gold and len(gold) < len(oofs):
            report["cv_nested"] = nested_gain(oofs, splits, y_dev, metric, pos_label,
                                              use_bias, min_gain, n_folds)
        if any(parse_key(key)[1] != GOLD_ONLY for key in keys):  # what the CV's weak rows had
            report["cv_weak_targets"] = ("label model refit per fold on its training dev rows"
                                         if fold_label_model is not None else
                                         "label model fit on all of dev")
        report.update(cv_folds=n_folds, cv_repeats=n_repeats, cv=round(scores[best], 4),
                      cv_scores={key: round(v, 4) for key, v in scores.items()})
        if dropped:
            report["cv_scores_first_repeat_only"] = {key: round(v, 4)
                                                     for key, v in dropped.items()}
        if gold:
            gold_best = pick_best(gold, min_gain)
            report["gold_only"] = {"cv": round(gold[gold_best], 4),
                                   "name": parse_key(gold_best)[0], "n_dev": int(len(y_dev))}
    chosen_name, chosen_mode, weak_weight = parse_key(best)
    start = time.perf_counter()
    model = train_end_model(texts, probs, covered, chosen_name, seed,
                            "soft" if chosen_mode == GOLD_ONLY else chosen_mode,
                            dev_texts, y_dev if has_dev else None, report["dev_weight"],
                            cache_dir, weak_weight=weak_weight,
                            **resolve_params(chosen_name, params))
    if fit_once:  # as its gold-only twin's (gold_only.fit_once_gold_only)
        report["fit_seconds"] = round(time.perf_counter() - start, 1)
        report.update(schedule_record(model))  # epochs run, and whether max_time cut them
    bias = np.zeros(np.asarray(probs).shape[1])
    if use_bias:
        bias = fit_decision_bias(np.vstack(oofs[best]), np.tile(np.asarray(y_dev, int),
                                 len(oofs[best])), metric, pos_label)
        apply_decision_bias(model, bias[model.classes_.astype(int)])
    report.update(name=chosen_name, label_mode=chosen_mode, weak_weight=weak_weight,
                  decision_bias=[round(float(b), 2) for b in bias])
    return model, report


def end_model_cv_runs(name: str, params: dict, n_dev_gold: int) -> bool:
    """Whether :func:`choose_end_model` may cross-validate on dev for ``[end_model]``
    ``name`` and ``params`` with ``n_dev_gold`` dev gold rows: ``n_folds`` of them or
    more, and not a model fit once."""
    n_folds = params.get("n_folds", DEFAULT_N_FOLDS)
    n_folds = n_folds if isinstance(n_folds, int) else DEFAULT_N_FOLDS  # refused at train
    return name not in FIT_ONCE and n_dev_gold >= n_folds


OPTION_KEYS = ("label_mode", "dev_weight", "n_folds", "min_gain", "n_repeats", "decision_bias",
               "weak_weights", "halving_keep", "candidates", "weight_rule", "max_train_rows")


def end_model_options(name: str, params: dict, base_dir=None) -> dict:
    """``choose_end_model`` kwargs from the config's ``[end_model] name`` and ``params``.
    A ``file.py:function`` name of yours is read relative to ``base_dir`` (the config's
    folder; :func:`labeling.train.user_model.resolve_reference`).

    ``label_mode`` (soft/hard/auto; default soft), ``candidates`` (the end models ``auto``
    chooses among; default the average alone), ``weak_weights``, ``dev_weight`` (copies
    per dev gold row; 0 keeps dev out of training), ``n_folds``, ``n_repeats``,
    ``halving_keep``, ``min_gain``, ``decision_bias`` (true/false), ``weight_rule``
    (best/one_se) and ``max_train_rows`` (a cap on the weak rows) are options of the choice; the other params go to the end model: flat
    (``C = 1.0``) for a named model, per candidate for ``auto``
    (``params = {tfidf_logreg = {C = 3.0}}``).
    """
    check_no_seed(params)
    options = {key: params[key] for key in OPTION_KEYS if key in params}
    rest = {key: value for key, value in params.items() if key not in OPTION_KEYS}
    options.setdefault("label_mode", DEFAULT_LABEL_MODE)
    check_weight_rule(options.get("weight_rule", DEFAULT_WEIGHT_RULE))
    if isinstance(options.get("candidates"), str):  # not its letters
        raise ValueError(f"candidates = {json.dumps(options['candidates'])} is one name; write "
                         f"a list: candidates = [{json.dumps(options['candidates'])}]")
    if name == "auto":
        unknown = [key for key in rest if key not in AUTO_CANDIDATES and not is_user_model(key)]
        if unknown or not all(isinstance(v, dict) for v in rest.values()):
            raise ValueError(f"with name = auto, params other than {', '.join(OPTION_KEYS)} "
                             f"must be tables named after a candidate "
                             f"({', '.join(AUTO_CANDIDATES)}), got {unknown or list(rest)}")
        if "candidates" in options:
            options["candidates"] = [resolve_reference(c, base_dir)
                                     for c in options["candidates"]]
        return {"name": name, "params": rest, **options}
    name = resolve_reference(name, base_dir)
    return {"name": name, "params": {name: rest}, **options}
