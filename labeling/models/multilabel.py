"""Label models for multi-label tasks: one binary label model per label.

Layout (docs/multilabel.md): the label matrix ``L`` is ``n x m`` as in single-label
tasks, but each LF targets one label (``targets[j]``, a label index) and votes 1 (the
label applies), 0 (it does not) or -1 (abstain). Label ``c``'s binary sub-matrix is
the columns of the LFs targeting ``c``; any registered label model (mv, dawid_skene,
weighted_vote, ...) is fit on it, with that label's dev gold as 0/1. Gold label sets
are ``n x k`` 0/1 matrices (:func:`indicator`).

Each label's probability becomes a decision through its own threshold, tuned on
dev: out-of-fold dev probabilities (the model refit without the held-out fold's
gold) choose the threshold with the best F1, so a model fit on dev gold does not
tune on rows it has seen. ``auto`` picks, per label, the candidate with the best
out-of-fold F1: macro F1 is the mean of per-label F1s, so per-label choice is
choice by the task's metric.

With ``cache_dir``, each label's whole fit (its candidates' out-of-fold scores, the
threshold, the chosen model) is kept on disk under a hash of everything it reads: that
label's vote columns, its dev gold and the settings. A ``labeling dev`` save that edits
one LF then refits only the label that LF targets (``auto`` makes 16 fits per label).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from sklearn.metrics import f1_score
from sklearn.model_selection import KFold

from labeling.errors import LabelingError
from labeling.files import atomic_write
from labeling.models import make
from labeling.models.base import REGISTRY
from labeling.models.fit_cache import array_key
from labeling.models.persist import model_from_dict, model_to_dict

AUTO_CANDIDATES = ("mv", "dawid_skene", "weighted_vote")
# In every per-label cache key: bump when a label's fit changes for the same inputs (the
# out-of-fold scheme, the threshold search, the tie rules), so old entries are misses.
PER_LABEL_FORMAT = 1


def indicator(label_sets, k: int) -> np.ndarray:
    """``n x k`` 0/1 matrix from a sequence of label-index tuples."""
    Y = np.zeros((len(label_sets), k), dtype=np.int8)
    for i, labels in enumerate(label_sets):
        Y[i, list(labels)] = 1
    return Y


def best_threshold(y: np.ndarray, p: np.ndarray) -> tuple[float, float]:
    """``(threshold, F1)``: the cut on ``p`` (predict 1 where ``p >= threshold``) with
    the best F1 on ``y``; midpoints between distinct scores, ties to the higher cut.
    With no positive in ``y`` every cut scores 0 and 0.5 is returned."""
    y, p = np.asarray(y), np.asarray(p, dtype=float)
    if y.sum() == 0:
        return 0.5, 0.0
    values = np.unique(p)
    cuts = np.concatenate([[values[0]], (values[1:] + values[:-1]) / 2]) if len(values) > 1 \
        else values
    # F1 of every cut at once, 2 TP / (positives + predicted positives), from counts over
    # the sorted scores: sklearn's f1_score per cut (its input checks) took a quarter of
    # each `labeling dev` save's fit on GoEmotions (28 threshold searches x 500 cuts)
    order = np.argsort(p, kind="stable")
    sorted_p, hits = p[order], np.concatenate([[0], np.cumsum(y[order] == 1)])
    below = np.searchsorted(sorted_p, cuts, side="left")  # rows under each cut
    predicted = len(p) - below
    f1 = 2 * (hits[-1] - hits[below]) / (hits[-1] + predicted)
    best = (0.5, -1.0)
    for t, f in zip(cuts[::-1].tolist(), f1[::-1].tolist()):
        if f > best[1] + 1e-12:
            best = (t, f)
    return best


def multilabel_scores(Y: np.ndarray, P: np.ndarray, labels: list[str]) -> dict:
    """Macro/micro F1 and a per-label precision/recall/F1/support table of 0/1
    predictions ``P`` against gold ``Y`` (both ``n x k``)."""
    from sklearn.metrics import precision_recall_fscore_support

    p, r, f, n = precision_recall_fscore_support(Y, P, average=None, zero_division=0)
    return {
        "n": int(len(Y)),
        "macro_f1": float(f.mean()),
        "micro_f1": float(f1_score(Y, P, average="micro", zero_division=0)),
        "per_label": {name: {"precision": float(p[c]), "recall": float(r[c]),
                             "f1": float(f[c]), "support": int(n[c])}
                      for c, name in enumerate(labels)},
    }


class _Prior:
    """A label no LF targets: its dev prevalence, for every row."""

    name = "prior"

    def fit(self, L, y_dev=None, L_dev=None):
        self.p_ = float(np.mean(y_dev)) if y_dev is not None and len(y_dev) else 0.5
        return self

    def predict_proba(self, L):
        return np.column_stack([np.full(len(L), 1 - self.p_), np.full(len(L), self.p_)])


class PerLabelModel:
    """One binary label model per label, with per-label thresholds tuned on dev.

    ``targets``: label index per LF column. ``name``: a label model name, or ``auto``
    (per label, the best of ``candidates`` by out-of-fold dev F1).
    """

    def __init__(self, k: int, targets, name: str = "auto", candidates=AUTO_CANDIDATES,
                 n_folds: int = 5, seed: int = 0, params: dict | None = None,
                 cache_dir=None):
        self.k, self.targets = k, np.asarray(targets, dtype=int)
        self.name, self.candidates = name, tuple(candidates)
        self.n_folds, self.seed, self.params = n_folds, seed, params or {}
        self.cache_dir = cache_dir

    def _columns(self, c: int) -> np.ndarray:
        return np.flatnonzero(self.targets == c)

    def _make(self, name: str, c: int):
        if len(self._columns(c)) == 0:
            return _Prior()
        return make(name, cardinality=2, **self.params.get(name, {}))

    def _fit_one(self, name, c, L, y, L_dev):
        cols = self._columns(c)
        return self._make(name, c).fit(L[:, cols], y_dev=y, L_dev=L_dev[:, cols])

    def _out_of_fold(self, name, c, L, y, L_dev) -> np.ndarray:
        cols = self._columns(c)
        oof = np.zeros(len(y))
        folds = KFold(min(self.n_folds, len(y)), shuffle=True, random_state=self.seed)
        for fit_rows, held in folds.split(L_dev):
            model = self._fit_one(name, c, L, y[fit_rows], L_dev[fit_rows])
            oof[held] = model.predict_proba(L_dev[held][:, cols])[:, 1]
        return oof

    def fit(self, L, Y_dev, L_dev) -> "PerLabelModel":
        """``L``: train votes; ``Y_dev``: ``n_dev x k`` gold 0/1; ``L_dev``: dev votes."""
        L, L_dev, Y_dev = np.asarray(L), np.asarray(L_dev), np.asarray(Y_dev)
        self.models_, self.thresholds_, self.chosen_, self.dev_f1_ = [], [], [], {}
        for c in range(self.k):
            chosen, threshold, dev_f1, model = self._fit_label_cached(c, L, Y_dev[:, c], L_dev)
            self.chosen_.append(chosen)
            self.thresholds_.append(threshold)
            self.dev_f1_[c] = dev_f1
            self.models_.append(model)
        self.thresholds_ = np.asarray(self.thresholds_)
        return self

    def _fit_label(self, c, L, y, L_dev):
        """Label ``c``: ``(chosen name, threshold, out-of-fold F1 per candidate, model)``."""
        names = self.candidates if self.name == "auto" else (self.name,)
        tried = {}
        for name in names:
            tried[name] = best_threshold(y, self._out_of_fold(name, c, L, y, L_dev))
            if not len(self._columns(c)):
                break  # the prior: every candidate is the same
        best = max(tried, key=lambda n: tried[n][1])  # first best on ties
        return (best if len(self._columns(c)) else "prior", tried[best][0],
                {n: round(f, 4) for n, (_, f) in tried.items()},
                self._fit_one(best, c, L, y, L_dev))

    def _fit_label_cached(self, c, L, y, L_dev):
        if self.cache_dir is None:
            return self._fit_label(c, L, y, L_dev)
        cols = self._columns(c)
        names = self.candidates if self.name == "auto" else (self.name,)
        settings = json.dumps({"kind": "per_label", "format": PER_LABEL_FORMAT,
                               "names": names, "folds": self.n_folds,
                               "seed": self.seed,
                               "params": {n: self.params.get(n, {}) for n in names}},
                              sort_keys=True, default=repr)
        path = Path(self.cache_dir) / f"{array_key(settings, (L[:, cols], y, L_dev[:, cols]))}.json"
        try:
            return _decode_label_fit(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError, KeyError):  # absent or unreadable: refit
            pass
        fitted = self._fit_label(c, L, y, L_dev)
        try:  # a cache that cannot be written costs a refit next time, not this fit
            path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_write(path) as tmp:
                tmp.write_text(json.dumps(_encode_label_fit(*fitted)) + "\n", encoding="utf-8")
        except (OSError, LabelingError):
            pass
        return fitted

    def predict_proba(self, L) -> np.ndarray:
        """``n x k``: the probability that each label applies."""
        L = np.asarray(L)
        return np.column_stack([m.predict_proba(L[:, self._columns(c)])[:, 1]
                                for c, m in enumerate(self.models_)])

    def predict(self, L) -> np.ndarray:
        return (self.predict_proba(L) >= self.thresholds_).astype(np.int8)


def _encode_label_fit(chosen, threshold, dev_f1, model) -> dict:
    fitted = {"prior": model.p_} if isinstance(model, _Prior) else model_to_dict(model)
    return {"chosen": chosen, "threshold": float(threshold), "dev_f1": dev_f1,
            "model": fitted}


def _decode_label_fit(data: dict):
    if "prior" in data["model"]:
        model = _Prior()
        model.p_ = float(data["model"]["prior"])
    else:
        model = model_from_dict(data["model"], REGISTRY)
    return data["chosen"], float(data["threshold"]), dict(data["dev_f1"]), model
