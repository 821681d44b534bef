"""Cross-validating an end model of yours (:mod:`labeling.train.user_model`) on dev.

The same candidates, folds and scores as the built-in end models'
(:func:`labeling.train.cross_validation.oof_probabilities`): per weak weight (``0``,
the gold-only model, included) and label mode, per repeat (stratified folds of seed
``seed + r``) and fold, a fresh clone of the whole estimator is fit on the weak rows
plus the other folds' dev gold rows and predicts the held-out fold. Your estimator's
features are fit inside each fold's fit, so a held-out text never shapes them (the
built-ins reach the same by :class:`labeling.train.fold_features.FoldFeatures`).
"""

from __future__ import annotations

import numpy as np
from sklearn.base import clone

from labeling.train.cross_validation import (DEFAULT_DEV_WEIGHT, GOLD_ONLY, candidate_keys,
                                             cv_setup, fold_targets, oof_probabilities,
                                             parse_key, resolve_params)
from labeling.train.end_model import make_end_model, training_rows, weighted_targets
from labeling.train.user_model import is_user_model


def any_oof_probabilities(texts, probs, covered, dev_texts, y_dev, candidates, label_modes,
                          dev_weight, n_folds, n_repeats, seed, cache_dir, params,
                          weak_weights, keys=None, repeats=None, fold_probs=None):
    """``oof_probabilities`` over built-in candidates and :func:`user_oof_probabilities`
    over yours (``auto``'s ``candidates`` may mix them), on the same folds; keys in
    :func:`candidate_keys` order (the order ties are broken in)."""
    common = (dev_weight, n_folds, n_repeats, seed, cache_dir, params, weak_weights, keys,
              repeats, fold_probs)
    out, splits = {}, None
    for cv, names in ((oof_probabilities, [n for n in candidates if not is_user_model(n)]),
                      (user_oof_probabilities, [n for n in candidates if is_user_model(n)])):
        if names:
            part, splits = cv(texts, probs, covered, dev_texts, y_dev, names, label_modes,
                              *common)
            out.update(part)
    order = candidate_keys(candidates, label_modes, weak_weights)
    return {key: out[key] for key in order if key in out}, splits


def user_oof_probabilities(texts, probs, covered, dev_texts, y_dev, candidates, label_modes,
                           dev_weight=DEFAULT_DEV_WEIGHT, n_folds=3, n_repeats=3, seed=0,
                           cache_dir=None, params=None, weak_weights=(None,), keys=None,
                           repeats=None, fold_probs=None):
    """:func:`labeling.train.cross_validation.oof_probabilities` for end models of
    yours (same arguments, same ``({key: [OOF probabilities per repeat]}, [fold ids per
    repeat])``; ``cache_dir`` is not used)."""
    params, y_dev, dev_texts, k, splits, keys = cv_setup(
        params, y_dev, dev_texts, probs, candidates, label_modes, weak_weights, keys,
        n_folds, n_repeats, seed, repeats)
    weak_texts = np.zeros(0, dtype=object)
    if any(parse_key(key)[1] != GOLD_ONLY for key in keys):
        weak_texts, _ = training_rows(texts, probs, covered)
    targets = {}  # label mode -> fold_targets(...)
    out = {}
    for key in keys:
        name, mode, w = parse_key(key)
        model = make_end_model(name, seed=seed, **resolve_params(name, params))
        if mode != GOLD_ONLY and mode not in targets:
            targets[mode] = fold_targets(texts, probs, covered, mode, splits, fold_probs)
        out[key] = []
        for r, fold_of in enumerate(splits):
            proba = np.zeros((len(y_dev), k))
            for f in np.unique(fold_of):
                fit_idx, held = np.flatnonzero(fold_of != f), np.flatnonzero(fold_of == f)
                if mode == GOLD_ONLY:
                    rows, weak = np.zeros(0, dtype=object), np.zeros((0, k))
                else:
                    rows, (weak, per_fold) = weak_texts, targets[mode]
                    weak = weak if per_fold is None else per_fold[r][f]
                X, T = weighted_targets(rows, weak, dev_texts[fit_idx], y_dev[fit_idx],
                                        dev_weight, w)
                present = np.flatnonzero(T.sum(axis=0) > 0)
                if len(present) < 2:  # one class to learn: all on it
                    proba[np.ix_(held, present)] = 1.0
                    continue
                fitted = clone(model).fit(X, T)
                proba[np.ix_(held, fitted.classes_.astype(int))] = fitted.predict_proba(
                    dev_texts[held])
            out[key].append(proba)
    return out, splits
