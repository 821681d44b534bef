"""``[end_model] name = "auto"``: choose end model and label mode by K-fold CV on dev.

Dev gold is used twice, so it cannot simply score the models: its rows are extra
training rows (``dev_weight`` copies each; they correct the LFs' systematic errors)
and it is the only gold allowed for choosing. So each candidate (end model x label
mode) is fit on the weak train rows + all dev folds but one and scored on the held-out
fold; the out-of-fold predictions of all folds are pooled into one dev score (steadier
than a mean of per-fold F1s on a few hundred rows). Candidates are listed cheapest
first (soft before hard, TF-IDF before MiniLM); a later one is chosen only if it beats
the best so far by ``min_gain``. The choice is then refit on all of train and dev.
Test is never passed in.

Speed: the features step is unsupervised, so it is fit once per end model on every
text the folds may train on (covered train + dev) and only the classifier is refit
per fold; embeddings are computed once per text.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import clone

from labeling.train.end_model import (LABEL_MODES, embedding_cache, expand_soft_labels,
                                      make_end_model, train_end_model, training_rows)
from labeling.models.auto import stratified_folds
from labeling.train.metrics import score_predictions

AUTO_CANDIDATES = ("tfidf_logreg", "minilm_logreg")
DEFAULT_DEV_WEIGHT = 3.0  # measured on WRENCH: 3 >= 1 > 0 on youtube, sms, trec
# A later (slower) candidate must beat the earlier ones by this much to be chosen: on a
# dev split of ~100 rows one row is ~0.01, and noise should not buy a 100x slower model.
DEFAULT_MIN_GAIN = 0.01


def pick_best(scores: dict[str, float], min_gain: float = DEFAULT_MIN_GAIN) -> str:
    """The first candidate in order unless a later one beats the best so far by >= min_gain."""
    best = next(iter(scores))
    for name, score in scores.items():
        if score >= scores[best] + min_gain:
            best = name
    return best


def cv_scores(texts, probs, covered, dev_texts, y_dev, candidates, label_modes,
              dev_weight=DEFAULT_DEV_WEIGHT, n_folds=3, metric="accuracy", pos_label=1,
              seed=0, cache_dir=None, params=None) -> dict[str, float]:
    """``{"<name>/<mode>": pooled out-of-fold dev score}`` for every candidate."""
    params, y_dev = params or {}, np.asarray(y_dev, dtype=int)
    dev_texts = np.asarray(list(dev_texts), dtype=object)
    fold_of = stratified_folds(y_dev, n_folds, seed)  # the label models' CV folds too
    folds = [(np.flatnonzero(fold_of != f), np.flatnonzero(fold_of == f))
             for f in range(n_folds)]
    scores = {}
    for name in candidates:
        pipeline = make_end_model(name, seed=seed, **params.get(name, {}))
        features = pipeline.named_steps["features"]
        train_texts, _ = training_rows(texts, probs, covered)
        with embedding_cache(pipeline, cache_dir):
            features.fit(np.concatenate([train_texts, dev_texts]))
            X_train, X_dev = features.transform(train_texts), features.transform(dev_texts)
        for mode in label_modes:
            _, targets = training_rows(texts, probs, covered, mode)
            pred = np.empty_like(y_dev)
            for fit_idx, held_idx in folds:
                pred[held_idx] = _fit_predict(pipeline, X_train, targets, X_dev, y_dev,
                                              fit_idx, held_idx, dev_weight)
            scores[f"{name}/{mode}"] = score_predictions(y_dev, pred, metric, pos_label)
    return scores


def _fit_predict(pipeline, X_train, targets, X_dev, y_dev, fit_idx, held_idx, dev_weight):
    from scipy import sparse

    k = targets.shape[1]
    stack = sparse.vstack if sparse.issparse(X_train) else np.vstack
    X = stack([X_train, X_dev[fit_idx]])
    Y = np.vstack([targets, np.eye(k)[y_dev[fit_idx]] * dev_weight])
    rows, y, w = expand_soft_labels(np.arange(X.shape[0]), Y)
    classifier = clone(pipeline.named_steps["classifier"])
    classifier.fit(X[rows.astype(int)], y, sample_weight=w)
    return classifier.classes_[classifier.predict_proba(X_dev[held_idx]).argmax(axis=1)]


def choose_end_model(texts, probs, covered, dev_texts, y_dev, name="auto", label_mode="auto",
                     dev_weight=DEFAULT_DEV_WEIGHT, n_folds=3, metric="accuracy",
                     pos_label=1, seed=0, cache_dir=None, params=None,
                     min_gain=DEFAULT_MIN_GAIN):
    """Fit the end model the config asks for, choosing what is ``auto`` by dev CV.

    ``name``/``label_mode``: a fixed value or ``auto``. Without dev gold nothing can be
    chosen: ``tfidf_logreg`` with soft labels. Returns ``(model, report)``; the report
    (for metrics.json) names the choice and every candidate's CV score.
    """
    params = params or {}
    names = list(AUTO_CANDIDATES) if name == "auto" else [name]
    modes = list(LABEL_MODES) if label_mode == "auto" else [label_mode]
    for n in names:
        make_end_model(n, **params.get(n, {}))  # unknown names and bad params fail here
    has_dev = y_dev is not None and len(y_dev) >= n_folds
    report = {"candidates": [f"{n}/{m}" for n in names for m in modes], "metric": metric,
              "dev_weight": dev_weight if has_dev else 0.0}
    if len(names) * len(modes) > 1 and has_dev:
        scores = cv_scores(texts, probs, covered, dev_texts, y_dev, names, modes, dev_weight,
                           n_folds, metric, pos_label, seed, cache_dir, params)
        best = pick_best(scores, min_gain)
        report.update(cv_folds=n_folds, cv_scores={k: round(v, 4) for k, v in scores.items()})
    else:  # nothing to choose, or no dev gold to choose by: the first/simplest choice
        best = (f"{names[0] if len(names) == 1 else 'tfidf_logreg'}/"
                f"{modes[0] if len(modes) == 1 else 'soft'}")
        report["cv_scores"] = {}
    chosen_name, chosen_mode = best.split("/")
    model = train_end_model(texts, probs, covered, chosen_name, seed, chosen_mode,
                            dev_texts, y_dev if has_dev else None, report["dev_weight"],
                            cache_dir, **params.get(chosen_name, {}))
    report.update(name=chosen_name, label_mode=chosen_mode)
    return model, report


OPTION_KEYS = ("label_mode", "dev_weight", "n_folds", "min_gain")


def end_model_options(name: str, params: dict) -> dict:
    """``choose_end_model`` kwargs from the config's ``[end_model] name`` and ``params``.

    ``label_mode`` (soft/hard/auto), ``dev_weight`` (copies per dev gold row; 0 keeps dev
    out of training), ``n_folds`` and ``min_gain`` are options of the choice; the other
    params go to the end model: flat (``C = 1.0``) for a named model, per candidate for ``auto``
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
