"""Cross-validating end-model candidates on dev: out-of-fold (OOF) probabilities.

A candidate is an end model x label mode x weak weight (:func:`candidate_key`). Each is
fit on the weak train rows + all dev folds but one and predicts the held-out fold; the
folds' predictions are pooled into one dev score (:func:`oof_score`), and the K-fold
split is repeated with ``n_repeats`` fold seeds. :mod:`labeling.train.auto` chooses
among the candidates with these scores; :func:`successive_halving` scores the weaker
candidates on the first repeat only.

Features per fold: each fold's are fit on the covered train texts and the fold's
training dev texts, never its held-out texts, as the refit's never see a test text
(:class:`labeling.train.fold_features.FoldFeatures`: TF-IDF derived from counts made
once, MiniLM embeddings computed once); the classifier is refit per fold, on soft
targets (one row per text,
:class:`labeling.train.soft_logreg.SoftLogisticRegression`); embeddings are computed
once per text. The average's OOF probabilities are the mean of its members' (fit on the
same rows), so it costs no fits of its own.

Weak targets per fold: the label model that made the weak rows' targets was fit with
all of dev's gold, held-out folds included, which favours the candidates with weak rows
over gold-only in this CV. Given ``fold_probs``
(:class:`labeling.train.fold_label_model.FoldLabelModel`), each fold's weak rows instead
get the probabilities of the label model refit on that fold's training part of dev only
(one refit per fold, shared by all candidates); where those equal the all-dev ones (a
label model whose covered-row probabilities ignore dev, such as majority vote), the CV
is exactly as without them.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse
from sklearn.base import clone

from labeling.metrics import (biased_predictions, fit_decision_bias, score_predictions,
                              stratified_folds)
from labeling.train.embeddings import MiniLMEmbedder
from labeling.train.end_model import (MEMBERS, embedding_cache, make_end_model,
                                      training_rows, weighted_targets)
from labeling.train.fold_features import FoldFeatures

DEFAULT_DEV_WEIGHT = 3.0  # measured on WRENCH: 3 >= 1 > 0 on youtube, sms, trec
DEFAULT_N_REPEATS = 3


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
    # from the right: a name of yours may hold "/" (models/svm.py:make_svm)
    head, _, last = key.rpartition("/")
    if last == GOLD_ONLY:
        return head, last, 0.0
    if last.startswith("w"):  # the weak weight (label modes: soft, hard)
        name, _, mode = head.rpartition("/")
        return name, mode, float(last[1:])
    return head, last, None


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


def cv_setup(params, y_dev, dev_texts, probs, candidates, label_modes, weak_weights, keys,
             n_folds, n_repeats, seed, repeats):
    """What :func:`oof_probabilities` and the CV of end models of yours
    (:mod:`labeling.train.user_cv`) start from: ``params`` (a dict), ``y_dev`` and
    ``dev_texts`` as arrays, the class count ``k``, the stratified folds of each repeat
    (seed ``seed + r``) and the candidate keys to score."""
    params, y_dev = params or {}, np.asarray(y_dev, dtype=int)
    dev_texts = np.asarray(list(dev_texts), dtype=object)
    repeats = list(range(n_repeats)) if repeats is None else list(repeats)
    splits = [stratified_folds(y_dev, n_folds, seed + r) for r in repeats]
    all_keys = candidate_keys(candidates, label_modes, weak_weights)
    keys = all_keys if keys is None else [key for key in all_keys if key in set(keys)]
    return params, y_dev, dev_texts, np.asarray(probs).shape[1], splits, keys


def oof_probabilities(texts, probs, covered, dev_texts, y_dev, candidates, label_modes,
                      dev_weight=DEFAULT_DEV_WEIGHT, n_folds=3, n_repeats=DEFAULT_N_REPEATS,
                      seed=0, cache_dir=None, params=None, weak_weights=(None,), keys=None,
                      repeats=None, fold_probs=None):
    """``({candidate key: [OOF probabilities (n_dev x k) per repeat]}, [fold ids per
    repeat])``; repeat ``r`` uses the stratified folds of seed ``seed + r`` (the label
    models' CV folds too). One key per end model x label mode x weak weight
    (:func:`candidate_key`); a weak weight of 0 is the gold-only model, whose features
    are fit on the dev texts alone, as its refit's are. ``keys``: only these candidates
    (default: all); ``repeats``: only these repeat indices (default: ``range(n_repeats)``),
    for successive halving. ``fold_probs``: an object whose ``probs(dev rows)`` gives
    the train rows' label-model probabilities refit on those dev rows (module doc);
    None: every fold's weak rows get ``probs``."""
    params, y_dev, dev_texts, k, splits, keys = cv_setup(
        params, y_dev, dev_texts, probs, candidates, label_modes, weak_weights, keys,
        n_folds, n_repeats, seed, repeats)
    bases, needed = {}, {}  # base key -> (base model, params); base key -> [(mode, w)]
    for cand in keys:
        name, mode, w = parse_key(cand)
        for key, base, base_params in _base_models(name, params):
            bases.setdefault(key, (base, base_params))
            needed.setdefault(key, [])
            if (mode, w) not in needed[key]:
                needed[key].append((mode, w))
    train_texts = []
    if any(mode != GOLD_ONLY for fits in needed.values() for mode, _ in fits):
        train_texts, _ = training_rows(texts, probs, covered)
    n_fits = sum(mode != GOLD_ONLY for fits in needed.values() for mode, _ in fits) \
        * len(splits) * n_folds
    bar = _bar(n_fits, len(train_texts))
    base_oof, weak_targets = {}, {}  # weak_targets: label mode -> fold_targets(...)
    for key, (base, base_params) in bases.items():
        pipeline = make_end_model(base, seed=seed, **base_params)
        features = pipeline.named_steps["features"]
        weak = [(mode, w) for mode, w in needed[key] if mode != GOLD_ONLY]
        with embedding_cache(pipeline, cache_dir):
            if (GOLD_ONLY, 0.0) in needed[key]:
                base_oof[key, GOLD_ONLY, 0.0] = [
                    _gold_only_oof(pipeline, dev_texts, y_dev, fold_of, dev_weight, k)
                    for fold_of in splits]
            if weak:  # fit per fold without the held-out texts, as the refit never sees test
                fold_x = FoldFeatures(features, train_texts, dev_texts)
        for mode in dict.fromkeys(mode for mode, _ in weak):
            if mode not in weak_targets:
                weak_targets[mode] = fold_targets(texts, probs, covered, mode, splits,
                                                  fold_probs)
            targets, per_fold = weak_targets[mode]
            classifier = pipeline.named_steps["classifier"]
            for w in (w for m, w in weak if m == mode):
                base_oof[key, mode, w] = _oof_repeats(classifier, fold_x, targets, y_dev,
                                                      splits, dev_weight, w, k, per_fold, bar)
    if bar is not None:
        bar.close()
    out = {}
    for cand in keys:
        name, mode, w = parse_key(cand)
        members = [key for key, _, _ in _base_models(name, params)]
        out[cand] = [np.mean([base_oof[key, mode, w][r] for key in members], axis=0)
                     for r in range(len(splits))]
    return out, splits


def fold_targets(texts, probs, covered, mode, splits, fold_probs=None):
    """``(the weak targets from probs, per-fold targets or None)``: per repeat,
    ``{fold: targets}`` from ``fold_probs.probs(that fold's training dev rows)``; None
    without ``fold_probs`` or where every fold's targets equal the all-dev ones (the
    uncovered rows are dropped, so a label model whose dev use only sets the uncovered
    rows' prior, as majority vote's, changes nothing)."""
    _, targets = training_rows(texts, probs, covered, mode)
    if fold_probs is None:
        return targets, None
    per_fold, same = [], True
    for fold_of in splits:
        per_fold.append({})
        for f in np.unique(fold_of):
            refit = fold_probs.probs(np.flatnonzero(fold_of != f))
            _, per_fold[-1][f] = training_rows(texts, refit, covered, mode)
            same = same and np.array_equal(per_fold[-1][f], targets)
    return targets, None if same else per_fold


PROGRESS_MIN_ROWS = 20_000  # weak rows from which the CV's fits get a progress bar


def _bar(n_fits: int, n_rows: int):
    """A progress bar (rate, ETA) over the CV's weak-candidate fits, on stderr, when there
    are enough weak rows for them to take minutes; else None."""
    if n_rows < PROGRESS_MIN_ROWS or not n_fits:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=n_fits, desc=f"end model CV ({n_rows:,} weak rows)", unit="fit",
                leave=False)


def _oof_repeats(classifier, fold_x, targets, y_dev, splits, dev_weight, weak_weight,
                 k, per_fold=None, bar=None):
    """:func:`cross_fit_proba` per repeat (``per_fold``: per repeat, each fold's own weak
    targets, :func:`fold_targets`; ``fold_x``: the features per fold,
    :class:`labeling.train.fold_features.FoldFeatures`); with no gold rows in training
    (``dev_weight`` 0), the same targets and the same features in every fold, every
    fold's fit is the same fit, so it is fit once and predicts all of dev."""
    if (dev_weight and dev_weight > 0) or per_fold is not None or fold_x.fixed is None:
        return [cross_fit_proba(classifier, None,
                                targets if per_fold is None else per_fold[r],
                                None, y_dev, fold_of, dev_weight, weak_weight, k,
                                fold_x.matrices, bar)
                for r, fold_of in enumerate(splits)]
    X_train, X_dev = fold_x.fixed
    n_weak, proba = X_train.shape[0], np.zeros((len(y_dev), k))
    rows, weights = weighted_targets(np.arange(n_weak), targets, [], [], 0.0, weak_weight)
    _fit_predict(clone(classifier), X_train[rows.astype(int)], weights, X_dev,
                 np.arange(len(y_dev)), proba)
    if bar is not None:  # one fit stands for every fold's
        bar.update(sum(len(np.unique(fold_of)) for fold_of in splits))
    return [proba] * len(splits)


def cross_fit_proba(classifier, X_train, targets, X_dev, y_dev, fold_of, dev_weight,
                    weak_weight, k, fold_features=None, bar=None):
    """Out-of-fold probabilities of ``classifier``, fit per fold on the weak
    rows (``X_train``/``targets``, weighted by ``weak_weight``; ``targets`` may be
    ``{fold: targets}``, each fold's own) + the other folds' gold. ``fold_features``:
    ``fit dev rows -> (X_train, X_dev)``, each fold's features fit without its held-out
    texts (:meth:`labeling.train.fold_features.FoldFeatures.matrices`), in place of
    ``X_train``/``X_dev``. ``bar``: a progress bar, moved one step per fit.
    Every fit starts cold: one warm-started from another fold's solution (fit on this
    fold's held-out rows) stops early near it, and its CV score is optimistic (measured
    on trec: +0.03 for the weak rows at full weight, a different choice)."""
    proba = np.zeros((len(y_dev), k))
    for f in np.unique(fold_of):
        fit_idx, held_idx = np.flatnonzero(fold_of != f), np.flatnonzero(fold_of == f)
        if fold_features is not None:
            X_train, X_dev = fold_features(fit_idx)
        n_weak = X_train.shape[0]
        weak = targets[f] if isinstance(targets, dict) else targets
        rows, weights = weighted_targets(np.arange(n_weak), weak, n_weak + fit_idx,
                                         y_dev[fit_idx], dev_weight, weak_weight)
        _fit_predict(clone(classifier), _stack_rows(X_train, X_dev, rows.astype(int)),
                     weights, X_dev[held_idx], held_idx, proba)
        if bar is not None:
            bar.update(1)
    return proba


def _stack_rows(X_train, X_dev, rows):
    """Rows ``rows`` (ascending) of ``X_train`` stacked on ``X_dev``, in one copy: stacking
    both whole and then taking the rows made two copies of the weak rows' features."""
    n_weak = X_train.shape[0]
    weak, gold = rows[rows < n_weak], rows[rows >= n_weak] - n_weak
    parts = [X_train if len(weak) == n_weak else X_train[weak], X_dev[gold]]
    return sparse.vstack(parts, format="csr") if sparse.issparse(X_dev) else np.vstack(parts)


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


def oof_predictions(proba, fold_of, y_dev, metric="accuracy", pos_label=1, bias=False):
    """One repeat's OOF decisions; with ``bias``, each fold's use the decision bias fit on
    the other folds' OOF rows (nested: no peeking)."""
    if not bias:
        return proba.argmax(axis=1)
    pred = np.empty_like(y_dev)
    for f in np.unique(fold_of):
        rest, held = fold_of != f, fold_of == f
        b = fit_decision_bias(proba[rest], y_dev[rest], metric, pos_label)
        pred[held] = biased_predictions(proba[held], b)
    return pred


def oof_score(oofs, splits, y_dev, metric="accuracy", pos_label=1, bias=False) -> float:
    """Mean over repeats of the pooled OOF score (decisions: :func:`oof_predictions`)."""
    y_dev = np.asarray(y_dev, dtype=int)
    return float(np.mean([score_predictions(y_dev, oof_predictions(proba, fold_of, y_dev,
                                                                   metric, pos_label, bias),
                                            metric, pos_label)
                          for proba, fold_of in zip(oofs, splits)]))


def fold_scores(oofs, splits, y_dev, metric="accuracy", pos_label=1, bias=False):
    """``(repeats x folds)`` array: each held-out fold's own score, with the decisions
    :func:`oof_score` pools (for paired per-fold differences between candidates)."""
    y_dev = np.asarray(y_dev, dtype=int)
    out = []
    for proba, fold_of in zip(oofs, splits):
        pred = oof_predictions(proba, fold_of, y_dev, metric, pos_label, bias)
        out.append([score_predictions(y_dev[fold_of == f], pred[fold_of == f], metric,
                                      pos_label) for f in np.unique(fold_of)])
    return np.asarray(out, dtype=float)


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


def nested_choice(oofs, splits, y_dev, choose, metric="accuracy", pos_label=1, bias=False):
    """The CV score of the *choice* among candidates, not of the candidate it chose:
    per repeat and held-out fold, ``choose({key: score on the other folds' rows})``
    picks a candidate and that candidate's OOF decisions on the held-out fold are kept
    (:func:`oof_predictions`). The chosen candidate's own pooled CV score was picked
    as the best of several on the rows it is scored on, so it is optimistic by the
    selection; here no fold's rows decide the candidate it is scored with. ``oofs``:
    ``{key: [OOF probabilities per repeat]}`` (the candidates that ran every repeat).
    Returns ``{"cv": mean over repeats of the pooled score, "fold_scores": repeats x
    folds, "choices": [[key per fold] per repeat]}``."""
    y_dev = np.asarray(y_dev, dtype=int)
    pooled, per_fold, choices = [], [], []
    for r, fold_of in enumerate(splits):
        preds = {key: oof_predictions(oofs[key][r], fold_of, y_dev, metric, pos_label, bias)
                 for key in oofs}
        pred, scores, chosen = np.empty_like(y_dev), [], []
        for f in np.unique(fold_of):
            other, held = fold_of != f, fold_of == f
            key = choose({k: score_predictions(y_dev[other], p[other], metric, pos_label)
                          for k, p in preds.items()})
            pred[held] = preds[key][held]
            scores.append(score_predictions(y_dev[held], pred[held], metric, pos_label))
            chosen.append(key)
        pooled.append(score_predictions(y_dev, pred, metric, pos_label))
        per_fold.append(scores)
        choices.append(chosen)
    return {"cv": float(np.mean(pooled)), "fold_scores": np.asarray(per_fold, float),
            "choices": choices}
