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
the best so far by ``min_gain``; with many candidates, successive halving
(:func:`successive_halving`) scores the weaker ones on the first CV repeat only. The
choice is then refit on all of train and dev. Test is never passed in.

For ``metric = "f1"`` the chosen model also gets a decision bias (a prior correction,
:mod:`labeling.train.ensemble`) fit on its pooled OOF probabilities; candidates are
scored with the bias fit on the other folds' OOF rows (nested), so the bias's own
optimism does not decide the choice. Set ``decision_bias = false`` to keep the argmax.

Speed: the features step is unsupervised, so it is fit once per end model on every
text the folds may train on (covered train + dev) and only the classifier is refit
per fold; embeddings are computed once per text. The average's OOF probabilities are
the mean of its members' (fit on the same rows), so it costs no fits of its own.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse
from sklearn.base import clone

from labeling.metrics import (biased_predictions, fit_decision_bias, score_predictions,
                              stratified_folds)
from labeling.train.blas import on_one_blas_thread
from labeling.train.embeddings import MiniLMEmbedder
from labeling.train.end_model import (LABEL_MODES, MEMBERS, embedding_cache,
                                      make_end_model, train_end_model, training_rows,
                                      weighted_targets)
from labeling.train.ensemble import apply_decision_bias

AUTO_CANDIDATES = ("tfidf_logreg", "minilm_logreg", "tfidf_minilm_avg")  # auto may search
# What auto searches by default: the average, soft labels, the weak weight by CV. With
# 50-500 dev rows, dev CV scores many candidates within a row or two of each other, so
# the wider search (3 end models x soft/hard) picked on noise: scored on the dev rows
# outside a 50/100-row budget (not on test), it lost 2-15 points to this narrower one on
# sms and trec (docs/gold_budget.md). Widen with ``candidates`` / ``label_mode = "auto"``.
DEFAULT_CANDIDATES = ("tfidf_minilm_avg",)
DEFAULT_LABEL_MODE = "soft"
DEFAULT_DEV_WEIGHT = 3.0  # measured on WRENCH: 3 >= 1 > 0 on youtube, sms, trec
# A later (slower) candidate must beat the earlier ones by this much to be chosen: on a
# dev split of ~100 rows one row is ~0.01, and noise should not buy a 100x slower model.
DEFAULT_MIN_GAIN = 0.01
DEFAULT_N_REPEATS = 3
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


def pick_best(scores: dict[str, float], min_gain: float = DEFAULT_MIN_GAIN) -> str:
    """The first candidate in order unless a later one beats the best so far by >= min_gain."""
    best = next(iter(scores))
    for name, score in scores.items():
        if score >= scores[best] + min_gain:
            best = name
    return best


def resolve_params(name: str, params: dict) -> dict:
    """``name``'s params; an average's members default to the candidates' own params."""
    own = dict(params.get(name, {}))
    for member in MEMBERS.get(name, ()):
        own.setdefault(member, params.get(member, {}))
    return own


def _base_models(name: str, params: dict) -> list:
    """``[(key, base model, its params)]`` behind candidate ``name``: itself, or an
    average's members; equal keys are the same fits, shared between candidates."""
    own = resolve_params(name, params)
    members = [(m, own.get(m, {})) for m in MEMBERS[name]] if name in MEMBERS else [(name, own)]
    return [((base, repr(sorted(p.items()))), base, p) for base, p in members]


GOLD_ONLY = "gold_only"  # the label-mode slot of a candidate fit on the dev gold alone


def candidate_key(name: str, mode: str, weak_weight: float | None) -> str:
    """``name/mode`` (weak rows at weight 1), ``name/mode/w0.3`` (weak rows' total weight
    0.3x the gold rows'), or ``name/gold_only`` (weak weight 0: no weak rows at all)."""
    if weak_weight is None:
        return f"{name}/{mode}"
    return f"{name}/{GOLD_ONLY}" if weak_weight <= 0 else f"{name}/{mode}/w{weak_weight:g}"


def parse_key(key: str) -> tuple[str, str, float | None]:
    """``(name, label mode, weak weight)`` of a :func:`candidate_key`."""
    name, mode, *weight = key.split("/")
    if mode == GOLD_ONLY:
        return name, mode, 0.0
    return name, mode, float(weight[0][1:]) if weight else None


def candidate_keys(names, modes, weak_weights) -> list[str]:
    """Every candidate, per end model: gold-only first, then label mode x weak weight
    (the order ties are broken in)."""
    keys = []
    for name in names:
        for w in sorted(weak_weights, key=lambda w: -1 if w is None else w):
            for mode in modes:
                key = candidate_key(name, mode, w)
                if key not in keys:
                    keys.append(key)
        if None in weak_weights:  # the unscaled rows go last: the heaviest weak weight
            keys += [keys.pop(keys.index(candidate_key(name, m, None))) for m in modes]
    return keys


def oof_probabilities(texts, probs, covered, dev_texts, y_dev, candidates, label_modes,
                      dev_weight=DEFAULT_DEV_WEIGHT, n_folds=3, n_repeats=DEFAULT_N_REPEATS,
                      seed=0, cache_dir=None, params=None, weak_weights=(None,), keys=None,
                      repeats=None):
    """``({candidate key: [OOF probabilities (n_dev x k) per repeat]}, [fold ids per
    repeat])``; repeat ``r`` uses the stratified folds of seed ``seed + r`` (the label
    models' CV folds too). One key per end model x label mode x weak weight
    (:func:`candidate_key`); a weak weight of 0 is the gold-only model, whose features
    are fit on the dev texts alone, as its refit's are. ``keys``: only these candidates
    (default: all); ``repeats``: only these repeat indices (default: ``range(n_repeats)``),
    for successive halving."""
    params, y_dev = params or {}, np.asarray(y_dev, dtype=int)
    dev_texts = np.asarray(list(dev_texts), dtype=object)
    k = np.asarray(probs).shape[1]
    repeats = list(range(n_repeats)) if repeats is None else list(repeats)
    splits = [stratified_folds(y_dev, n_folds, seed + r) for r in repeats]
    all_keys = candidate_keys(candidates, label_modes, weak_weights)
    keys = all_keys if keys is None else [key for key in all_keys if key in set(keys)]
    bases, needed = {}, {}  # base key -> (base model, params); base key -> [(mode, w)]
    for cand in keys:
        name, mode, w = parse_key(cand)
        for key, base, base_params in _base_models(name, params):
            bases.setdefault(key, (base, base_params))
            needed.setdefault(key, [])
            if (mode, w) not in needed[key]:
                needed[key].append((mode, w))
    if any(mode != GOLD_ONLY for fits in needed.values() for mode, _ in fits):
        train_texts, _ = training_rows(texts, probs, covered)
    base_oof = {}
    for key, (base, base_params) in bases.items():
        pipeline = make_end_model(base, seed=seed, **base_params)
        features = pipeline.named_steps["features"]
        weak = [(mode, w) for mode, w in needed[key] if mode != GOLD_ONLY]
        with embedding_cache(pipeline, cache_dir):
            if (GOLD_ONLY, 0.0) in needed[key]:
                base_oof[key, GOLD_ONLY, 0.0] = [
                    _gold_only_oof(pipeline, dev_texts, y_dev, fold_of, dev_weight, k)
                    for fold_of in splits]
            if weak:
                features.fit(np.concatenate([train_texts, dev_texts]))
                X_train, X_dev = features.transform(train_texts), features.transform(dev_texts)
        for mode in dict.fromkeys(mode for mode, _ in weak):
            _, targets = training_rows(texts, probs, covered, mode)
            classifier = pipeline.named_steps["classifier"]
            for w in (w for m, w in weak if m == mode):
                base_oof[key, mode, w] = _oof_repeats(classifier, X_train, targets, X_dev,
                                                      y_dev, splits, dev_weight, w, k)
    out = {}
    for cand in keys:
        name, mode, w = parse_key(cand)
        members = [key for key, _, _ in _base_models(name, params)]
        out[cand] = [np.mean([base_oof[key, mode, w][r] for key in members], axis=0)
                     for r in range(len(splits))]
    return out, splits


def _oof_repeats(classifier, X_train, targets, X_dev, y_dev, splits, dev_weight, weak_weight,
                 k):
    """:func:`_oof` per repeat; with no gold rows in training (``dev_weight`` 0) every
    fold's fit is the same fit, so it is fit once and predicts all of dev."""
    if dev_weight and dev_weight > 0:
        return [_oof(classifier, X_train, targets, X_dev, y_dev, fold_of, dev_weight,
                     weak_weight, k) for fold_of in splits]
    n_weak, proba = X_train.shape[0], np.zeros((len(y_dev), k))
    rows, weights = weighted_targets(np.arange(n_weak), targets, [], [], 0.0, weak_weight)
    _fit_predict(clone(classifier), X_train[rows.astype(int)], weights, X_dev,
                 np.arange(len(y_dev)), proba)
    return [proba] * len(splits)


def _oof(classifier, X_train, targets, X_dev, y_dev, fold_of, dev_weight, weak_weight, k):
    """Out-of-fold probabilities of ``classifier``, fit per fold on the weak
    rows (``X_train``/``targets``, weighted by ``weak_weight``) + the other folds' gold.
    Every fit starts cold: one warm-started from another fold's solution (fit on this
    fold's held-out rows) stops early near it, and its CV score is optimistic (measured
    on trec: +0.03 for the weak rows at full weight, a different choice)."""
    proba = np.zeros((len(y_dev), k))
    n_weak = X_train.shape[0]
    X = (sparse.vstack([X_train, X_dev]).tocsr() if sparse.issparse(X_dev)
         else np.vstack([X_train, X_dev]))
    for f in np.unique(fold_of):
        fit_idx, held_idx = np.flatnonzero(fold_of != f), np.flatnonzero(fold_of == f)
        rows, weights = weighted_targets(np.arange(n_weak), targets, n_weak + fit_idx,
                                         y_dev[fit_idx], dev_weight, weak_weight)
        _fit_predict(clone(classifier), X[rows.astype(int)], weights, X_dev[held_idx],
                     held_idx, proba)
    return proba


def _gold_only_oof(pipeline, dev_texts, y_dev, fold_of, dev_weight, k):
    """Out-of-fold probabilities of the gold-only model, exactly as it is refit: TF-IDF
    features fit per fold on that fold's training texts (a few hundred, so cheap);
    MiniLM embeddings depend on nothing but the text, so they are computed once."""
    features = pipeline.named_steps["features"]
    X_all = features.transform(dev_texts) if isinstance(features, MiniLMEmbedder) else None
    proba = np.zeros((len(y_dev), k))
    for f in np.unique(fold_of):
        fit_idx, held_idx = np.flatnonzero(fold_of != f), np.flatnonzero(fold_of == f)
        if X_all is None:
            fold_features = clone(features).fit(dev_texts[fit_idx])
            X_fit, X_held = (fold_features.transform(dev_texts[fit_idx]),
                             fold_features.transform(dev_texts[held_idx]))
        else:
            X_fit, X_held = X_all[fit_idx], X_all[held_idx]
        _fit_predict(clone(pipeline.named_steps["classifier"]), X_fit,
                     np.eye(k)[y_dev[fit_idx]] * float(dev_weight), X_held, held_idx, proba)
    return proba


def _fit_predict(classifier, X, targets, X_held, held_idx, proba) -> None:
    """Fit ``classifier`` on ``X`` with ``targets`` (per row, its weight on each class)
    and write its probabilities for ``X_held`` into ``proba[held_idx]`` (one class: all
    on it)."""
    present = np.flatnonzero(targets.sum(axis=0) > 0)
    if len(present) < 2:
        proba[np.ix_(held_idx, present)] = 1.0
        return
    classifier.fit(X, targets)
    proba[np.ix_(held_idx, classifier.classes_.astype(int))] = classifier.predict_proba(X_held)


def oof_score(oofs, splits, y_dev, metric="accuracy", pos_label=1, bias=False) -> float:
    """Mean over repeats of the pooled OOF score; with ``bias``, each fold's predictions
    use the decision bias fit on the other folds' OOF rows (nested: no peeking)."""
    y_dev, scores = np.asarray(y_dev, dtype=int), []
    for proba, fold_of in zip(oofs, splits):
        if not bias:
            pred = proba.argmax(axis=1)
        else:
            pred = np.empty_like(y_dev)
            for f in np.unique(fold_of):
                rest, held = fold_of != f, fold_of == f
                b = fit_decision_bias(proba[rest], y_dev[rest], metric, pos_label)
                pred[held] = biased_predictions(proba[held], b)
        scores.append(score_predictions(y_dev, pred, metric, pos_label))
    return float(np.mean(scores))


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


def successive_halving(cross_validate, score, keys, n_repeats, keep=None):
    """``(oofs, splits, dropped)``: every candidate ``key`` is cross-validated on the first
    repeat, and only the survivors on the other repeats (the CV's cost is mostly the weak
    candidates' fits, ~0.5-2 s each on 5,000 rows). Survivors: the ``keep`` best on the
    first repeat, the best of each end model (so the cheap-first ``min_gain`` rule still
    sees every model) and every gold-only candidate (cheap, and the floor
    :func:`choose_candidate` keeps). ``dropped``: the others' first-repeat scores.
    ``cross_validate(keys, repeats)`` is :func:`oof_probabilities` with those arguments;
    ``score(oof list, splits)`` a CV score. ``keep`` None/0 or one repeat: exhaustive."""
    if not keep or n_repeats < 2 or len(keys) <= keep:
        oofs, splits = cross_validate(keys)
        return oofs, splits, {}
    first, first_split = cross_validate(keys, [0])
    scores = {key: score(oof, first_split) for key, oof in first.items()}
    ranked = sorted(keys, key=lambda key: -scores[key])  # stable: ties in candidate order
    survivors = set(ranked[:keep]) | {key for key in keys if parse_key(key)[1] == GOLD_ONLY}
    for name in dict.fromkeys(parse_key(key)[0] for key in keys):
        survivors.add(next(key for key in ranked if parse_key(key)[0] == name))
    survivors = [key for key in keys if key in survivors]
    rest, rest_splits = cross_validate(survivors, range(1, n_repeats))
    oofs = {key: first[key] + rest[key] for key in survivors}
    dropped = {key: scores[key] for key in keys if key not in oofs}
    return oofs, first_split + rest_splits, dropped


@on_one_blas_thread
def choose_end_model(texts, probs, covered, dev_texts, y_dev, name="auto",
                     label_mode=DEFAULT_LABEL_MODE,
                     dev_weight=DEFAULT_DEV_WEIGHT, n_folds=3, metric="accuracy",
                     pos_label=1, seed=0, cache_dir=None, params=None,
                     min_gain=DEFAULT_MIN_GAIN, n_repeats=DEFAULT_N_REPEATS,
                     decision_bias=True, weak_weights=DEFAULT_WEAK_WEIGHTS,
                     halving_keep=DEFAULT_HALVING_KEEP, candidates=DEFAULT_CANDIDATES):
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

    ``halving_keep``: successive halving over the CV repeats
    (:func:`successive_halving`; ``None`` or 0 scores every candidate on every repeat).

    Returns ``(model, report)``; the report (for metrics.json) names the choice
    (``name``, ``label_mode`` (``gold_only`` for the gold-only model), ``weak_weight``,
    ``dev_weight``, ``decision_bias``), its CV score ``cv``, every candidate's CV score,
    and, when gold-only candidates were scored, ``gold_only``: the gold-only baseline
    chosen by the same rule from the same folds (what
    :func:`labeling.train.gold_only.gold_only_baseline` reports).
    """
    params = params or {}
    names = list(candidates) if name == "auto" else [name]
    outside = [n for n in names if n not in AUTO_CANDIDATES]
    if name == "auto" and (outside or not names):
        raise ValueError(f"candidates must be some of {', '.join(AUTO_CANDIDATES)}, "
                         f"got {outside or list(names)}")
    modes = list(LABEL_MODES) if label_mode == "auto" else [label_mode]
    for n in names:
        make_end_model(n, **resolve_params(n, params))  # unknown names, bad params fail here
    has_dev = y_dev is not None and len(y_dev) >= n_folds
    weights = tuple(weak_weights) if has_dev else (None,)
    fit_once = name in FIT_ONCE
    if fit_once:  # one fit, no CV: the weak weight is fixed, not chosen
        weights = weights if len(weights) == 1 else (None,)
        decision_bias = False
    keys = candidate_keys(names, modes, weights)
    use_bias = bool(decision_bias) and metric == "f1" and has_dev
    report = {"candidates": keys, "metric": metric,
              "dev_weight": dev_weight if has_dev else 0.0, "cv_scores": {}}
    best = keys[0] if len(keys) == 1 else candidate_key(names[0], modes[0], None)
    oofs = {}
    scores_gold_only = any(parse_key(key)[1] == GOLD_ONLY for key in keys)
    if fit_once:
        report["cv_skipped"] = f"{name} is fit once, not cross-validated (a fit costs minutes)"
    elif has_dev and (len(keys) > 1 or use_bias or scores_gold_only):
        def cross_validate(keys=None, repeats=None):
            return oof_probabilities(texts, probs, covered, dev_texts, y_dev, names, modes,
                                     dev_weight, n_folds, n_repeats, seed, cache_dir, params,
                                     weights, keys, repeats)

        def score(oof_list, splits):
            return oof_score(oof_list, splits, y_dev, metric, pos_label, use_bias)

        oofs, splits, dropped = successive_halving(cross_validate, score, keys, n_repeats,
                                                   halving_keep)
        scores = {key: score(p, splits) for key, p in oofs.items()}
        best = choose_candidate(scores, min_gain)
        gold = {key: v for key, v in scores.items() if parse_key(key)[1] == GOLD_ONLY}
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
    model = train_end_model(texts, probs, covered, chosen_name, seed,
                            "soft" if chosen_mode == GOLD_ONLY else chosen_mode,
                            dev_texts, y_dev if has_dev else None, report["dev_weight"],
                            cache_dir, weak_weight=weak_weight,
                            **resolve_params(chosen_name, params))
    bias = np.zeros(np.asarray(probs).shape[1])
    if use_bias:
        bias = fit_decision_bias(np.vstack(oofs[best]), np.tile(np.asarray(y_dev, int),
                                 len(oofs[best])), metric, pos_label)
        apply_decision_bias(model, bias[model.classes_.astype(int)])
    report.update(name=chosen_name, label_mode=chosen_mode, weak_weight=weak_weight,
                  decision_bias=[round(float(b), 2) for b in bias])
    return model, report


OPTION_KEYS = ("label_mode", "dev_weight", "n_folds", "min_gain", "n_repeats", "decision_bias",
               "weak_weights", "halving_keep", "candidates")


def end_model_options(name: str, params: dict) -> dict:
    """``choose_end_model`` kwargs from the config's ``[end_model] name`` and ``params``.

    ``label_mode`` (soft/hard/auto; default soft), ``candidates`` (the end models ``auto``
    chooses among; default the average alone), ``weak_weights``, ``dev_weight`` (copies
    per dev gold row; 0 keeps dev out of training), ``n_folds``, ``n_repeats``,
    ``halving_keep``, ``min_gain`` and ``decision_bias`` (true/false) are options of the
    choice; the other params go to the end model: flat
    (``C = 1.0``) for a named model, per candidate for ``auto``
    (``params = {tfidf_logreg = {C = 3.0}}``).
    """
    options = {key: params[key] for key in OPTION_KEYS if key in params}
    rest = {key: value for key, value in params.items() if key not in OPTION_KEYS}
    options.setdefault("label_mode", DEFAULT_LABEL_MODE)
    if name == "auto":
        unknown = [key for key in rest if key not in AUTO_CANDIDATES]
        if unknown or not all(isinstance(v, dict) for v in rest.values()):
            raise ValueError(f"with name = auto, params other than {', '.join(OPTION_KEYS)} "
                             f"must be tables named after a candidate "
                             f"({', '.join(AUTO_CANDIDATES)}), got {unknown or list(rest)}")
        return {"name": name, "params": rest, **options}
    return {"name": name, "params": {name: rest}, **options}
