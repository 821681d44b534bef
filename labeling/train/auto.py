"""``[end_model] name = "auto"``: choose end model and label mode by repeated K-fold CV on dev.

Dev gold is used twice, so it cannot simply score the models: its rows are extra
training rows (``dev_weight`` copies each; they correct the LFs' systematic errors)
and it is the only gold allowed for choosing. So each candidate (end model x label
mode) is fit on the weak train rows + all dev folds but one and predicts the held-out
fold; the out-of-fold (OOF) predictions of all folds are pooled into one dev score
(steadier than a mean of per-fold F1s on a few hundred rows), and the K-fold split is
repeated with ``n_repeats`` fold seeds and the scores averaged: youtube's dev split is
120 rows, and a single 3-fold split chose MiniLM over TF-IDF on one or two rows.
Candidates are listed cheapest first (soft before hard, TF-IDF, MiniLM, then their
average); a later one is chosen only if it beats the best so far by ``min_gain``. The
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

from labeling.models.auto import stratified_folds
from labeling.train.end_model import (LABEL_MODES, MEMBERS, embedding_cache,
                                      expand_soft_labels, make_end_model, train_end_model,
                                      training_rows)
from labeling.train.ensemble import apply_decision_bias, biased_predictions, fit_decision_bias
from labeling.train.metrics import score_predictions

AUTO_CANDIDATES = ("tfidf_logreg", "minilm_logreg", "tfidf_minilm_avg")
DEFAULT_DEV_WEIGHT = 3.0  # measured on WRENCH: 3 >= 1 > 0 on youtube, sms, trec
# A later (slower) candidate must beat the earlier ones by this much to be chosen: on a
# dev split of ~100 rows one row is ~0.01, and noise should not buy a 100x slower model.
DEFAULT_MIN_GAIN = 0.01
DEFAULT_N_REPEATS = 3


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


def oof_probabilities(texts, probs, covered, dev_texts, y_dev, candidates, label_modes,
                      dev_weight=DEFAULT_DEV_WEIGHT, n_folds=3, n_repeats=DEFAULT_N_REPEATS,
                      seed=0, cache_dir=None, params=None):
    """``({"<name>/<mode>": [OOF probabilities (n_dev x k) per repeat]}, [fold ids per
    repeat])``; repeat ``r`` uses the stratified folds of seed ``seed + r`` (the label
    models' CV folds too)."""
    params, y_dev = params or {}, np.asarray(y_dev, dtype=int)
    dev_texts = np.asarray(list(dev_texts), dtype=object)
    k = np.asarray(probs).shape[1]
    splits = [stratified_folds(y_dev, n_folds, seed + r) for r in range(n_repeats)]
    bases = {}  # (base model, its params' repr) -> (base model, its params)
    for name in candidates:
        for key, base, base_params in _base_models(name, params):
            bases.setdefault(key, (base, base_params))
    train_texts, _ = training_rows(texts, probs, covered)
    base_oof = {}
    for key, (base, base_params) in bases.items():
        pipeline = make_end_model(base, seed=seed, **base_params)
        features = pipeline.named_steps["features"]
        with embedding_cache(pipeline, cache_dir):
            features.fit(np.concatenate([train_texts, dev_texts]))
            X_train, X_dev = features.transform(train_texts), features.transform(dev_texts)
        for mode in label_modes:
            _, targets = training_rows(texts, probs, covered, mode)
            base_oof[key, mode] = [
                _oof(pipeline, X_train, targets, X_dev, y_dev, fold_of, n_folds, dev_weight, k)
                for fold_of in splits]
    out = {}
    for name in candidates:
        keys = [key for key, _, _ in _base_models(name, params)]
        for mode in label_modes:
            out[f"{name}/{mode}"] = [np.mean([base_oof[key, mode][r] for key in keys], axis=0)
                                     for r in range(n_repeats)]
    return out, splits


def _oof(pipeline, X_train, targets, X_dev, y_dev, fold_of, n_folds, dev_weight, k):
    stack = sparse.vstack if sparse.issparse(X_train) else np.vstack
    proba = np.zeros((len(y_dev), k))
    for f in range(n_folds):
        fit_idx, held_idx = np.flatnonzero(fold_of != f), np.flatnonzero(fold_of == f)
        X = stack([X_train, X_dev[fit_idx]])
        Y = np.vstack([targets, np.eye(k)[y_dev[fit_idx]] * dev_weight])
        rows, y, w = expand_soft_labels(np.arange(X.shape[0]), Y)
        classifier = clone(pipeline.named_steps["classifier"])
        classifier.fit(X[rows.astype(int)], y, sample_weight=w)
        proba[np.ix_(held_idx, classifier.classes_.astype(int))] = (
            classifier.predict_proba(X_dev[held_idx]))
    return proba


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


def choose_end_model(texts, probs, covered, dev_texts, y_dev, name="auto", label_mode="auto",
                     dev_weight=DEFAULT_DEV_WEIGHT, n_folds=3, metric="accuracy",
                     pos_label=1, seed=0, cache_dir=None, params=None,
                     min_gain=DEFAULT_MIN_GAIN, n_repeats=DEFAULT_N_REPEATS,
                     decision_bias=True):
    """Fit the end model the config asks for, choosing what is ``auto`` by dev CV.

    ``name``/``label_mode``: a fixed value or ``auto``. Without dev gold nothing can be
    chosen: ``tfidf_logreg`` with soft labels, no decision bias. Returns ``(model,
    report)``; the report (for metrics.json) names the choice, every candidate's CV
    score and the decision bias.
    """
    params = params or {}
    names = list(AUTO_CANDIDATES) if name == "auto" else [name]
    modes = list(LABEL_MODES) if label_mode == "auto" else [label_mode]
    for n in names:
        make_end_model(n, **resolve_params(n, params))  # unknown names, bad params fail here
    has_dev = y_dev is not None and len(y_dev) >= n_folds
    use_bias = bool(decision_bias) and metric == "f1" and has_dev
    report = {"candidates": [f"{n}/{m}" for n in names for m in modes], "metric": metric,
              "dev_weight": dev_weight if has_dev else 0.0, "cv_scores": {}}
    best = (f"{names[0] if len(names) == 1 else 'tfidf_logreg'}/"
            f"{modes[0] if len(modes) == 1 else 'soft'}")
    oofs = {}
    if has_dev and (len(names) * len(modes) > 1 or use_bias):
        oofs, splits = oof_probabilities(texts, probs, covered, dev_texts, y_dev, names, modes,
                                         dev_weight, n_folds, n_repeats, seed, cache_dir,
                                         params)
        scores = {key: oof_score(p, splits, y_dev, metric, pos_label, use_bias)
                  for key, p in oofs.items()}
        best = pick_best(scores, min_gain)
        report.update(cv_folds=n_folds, cv_repeats=n_repeats,
                      cv_scores={k: round(v, 4) for k, v in scores.items()})
    chosen_name, chosen_mode = best.split("/")
    model = train_end_model(texts, probs, covered, chosen_name, seed, chosen_mode,
                            dev_texts, y_dev if has_dev else None, report["dev_weight"],
                            cache_dir, **resolve_params(chosen_name, params))
    bias = np.zeros(np.asarray(probs).shape[1])
    if use_bias:
        bias = fit_decision_bias(np.vstack(oofs[best]), np.tile(np.asarray(y_dev, int),
                                 len(oofs[best])), metric, pos_label)
        apply_decision_bias(model, bias[model.classes_.astype(int)])
    report.update(name=chosen_name, label_mode=chosen_mode,
                  decision_bias=[round(float(b), 2) for b in bias])
    return model, report


OPTION_KEYS = ("label_mode", "dev_weight", "n_folds", "min_gain", "n_repeats", "decision_bias")


def end_model_options(name: str, params: dict) -> dict:
    """``choose_end_model`` kwargs from the config's ``[end_model] name`` and ``params``.

    ``label_mode`` (soft/hard/auto), ``dev_weight`` (copies per dev gold row; 0 keeps dev
    out of training), ``n_folds``, ``n_repeats``, ``min_gain`` and ``decision_bias``
    (true/false) are options of the choice; the other params go to the end model: flat
    (``C = 1.0``) for a named model, per candidate for ``auto``
    (``params = {tfidf_logreg = {C = 3.0}}``).
    """
    options = {key: params[key] for key in OPTION_KEYS if key in params}
    rest = {key: value for key, value in params.items() if key not in OPTION_KEYS}
    options.setdefault("label_mode", "auto")
    if name == "auto":
        unknown = [key for key in rest if key not in AUTO_CANDIDATES]
        if unknown or not all(isinstance(v, dict) for v in rest.values()):
            raise ValueError(f"with name = auto, params other than {', '.join(OPTION_KEYS)} "
                             f"must be tables named after a candidate "
                             f"({', '.join(AUTO_CANDIDATES)}), got {unknown or list(rest)}")
        return {"name": name, "params": rest, **options}
    return {"name": name, "params": {name: rest}, **options}
