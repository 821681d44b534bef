"""The multi-label end model's dev CV (:class:`~labeling.train.multilabel.OneVsRestEndModel`):
each weak-weight candidate's out-of-fold (OOF) probabilities over ``n_repeats`` K-fold
splits of dev (fold seeds ``seed``, ``seed + 1``, ...), and each label's best cut on them.

Repeats are scored **pooled**: a candidate's OOF probabilities of every repeat are stacked
(each dev row once per repeat) and :func:`~labeling.models.multilabel.best_threshold`
finds one cut and its F1 on them, as the single-label CV pools its folds' predictions
(labeling/train/cross_validation.py). Chosen over the mean of per-repeat F1s at one cut
because (1) the rare labels' F1 is a ratio of small counts (8 disgust rows in GoEmotions
Ekman's 500 dev rows): the pooled F1 sums the counts before dividing, a ratio of sums
rather than a mean of noisy ratios; (2) it is the same threshold search as one split, on
more rows, so one repeat is exactly the CV before repeats (bit for bit); (3) the cut is
applied once, to the final model fit on all dev, so one cut fit to every repeat's
probabilities is what is wanted.
"""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import KFold

from labeling.models.multilabel import best_threshold


def check_n_repeats(n_repeats) -> int:
    """``n_repeats`` if it is an integer >= 1, else a one-line ``ValueError``."""
    if isinstance(n_repeats, bool) or not isinstance(n_repeats, (int, np.integer)) \
            or n_repeats < 1:
        raise ValueError(f"n_repeats must be an integer >= 1 (the dev CV's K-fold splits, "
                         f"fold seeds seed, seed + 1, ...), got {n_repeats!r}")
    return int(n_repeats)


def cv_splits(n_dev: int, n_folds: int, seed: int, n_repeats: int) -> list[list]:
    """Per repeat ``r``, the ``(fit rows, held rows)`` of the shuffled K-fold split of
    seed ``seed + r``."""
    return [list(KFold(n_folds, shuffle=True, random_state=seed + r).split(np.arange(n_dev)))
            for r in range(n_repeats)]


def pooled_cuts(Y_dev: np.ndarray, oofs: list[np.ndarray]) -> np.ndarray:
    """``k x (threshold, F1)``: per label, the best cut on the OOF probabilities of every
    repeat stacked (``oofs``: one ``n_dev x k`` array per repeat; module doc)."""
    Y = np.tile(Y_dev, (len(oofs), 1))
    P = np.vstack(oofs)
    return np.array([best_threshold(Y[:, c], P[:, c]) for c in range(Y.shape[1])])


def candidate_cuts(model, features, P_weak, Y_dev, weights, splits,
                   fold_probs=None) -> np.ndarray:
    """``candidate x label x (threshold, F1)``: each weak weight in ``weights`` fit on
    every fold of every split in ``splits`` (:func:`cv_splits`; ``model._fit_heads``
    without the held-out fold's gold, the weak rows' targets ``fold_probs.probs(fit
    rows)`` when given) predicts its held-out fold; :func:`pooled_cuts` of the
    repeats' OOF probabilities."""
    n_dev, k = Y_dev.shape
    cuts = []
    for weight in weights:  # every candidate on the same folds
        oofs = []
        for folds in splits:
            oof = np.zeros((n_dev, k))
            for fit_rows, held in folds:
                P_fold = (P_weak if P_weak is None or fold_probs is None or weight == 0
                          else fold_probs.probs(fit_rows))
                heads = model._fit_heads(features, P_fold, Y_dev, fit_rows, weight)
                oof[held] = model._proba(heads, features, "dev", held)
            oofs.append(oof)
        cuts.append(pooled_cuts(Y_dev, oofs))
    return np.array(cuts)
