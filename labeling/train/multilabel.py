"""End models for multi-label tasks: one-vs-rest logistic heads per label.

Features are computed once for every label: TF-IDF (the word+char union of
``tfidf_logreg``) and MiniLM sentence embeddings (``minilm_logreg``'s featuriser,
cached on disk); ``tfidf_minilm_avg`` averages the two heads' probabilities.

Each label's head learns from the label model's soft labels (each train row twice:
"applies" with weight p, "does not" with weight 1 - p) plus dev gold (weight
``gold_weight`` each); the heads of all labels on one feature kind are one
:class:`~labeling.train.multilabel_model.MultiLabelHeads`. The weak rows' weight
against the gold rows is chosen by dev K-fold CV, as the single-label default does
(docs/gold_budget.md), **per label**: each of ``weak_weights`` (the weak rows' total
weight as a multiple of the gold rows' total, :func:`~labeling.train.end_model.weak_scale`;
0 is the gold-only model, ``None`` every weak row at weight 1) is fit without each
held-out fold's gold and predicts it (``n_repeats`` K-fold splits, pooled:
:mod:`labeling.train.multilabel_cv`); each label takes the candidate whose out-of-fold
probabilities give it the best F1 (at its best cut,
:func:`labeling.models.multilabel.best_threshold`; ties to the lighter weight), and that
cut is its threshold. The heads are independent per label, so a label's head is the
same as in the model of its weight for all labels: the final fit is one fit per distinct
weight chosen, merged into one matrix (:func:`merge_heads`). Each label's LFs differ in
quality, so one weight for all served the good labels or the bad ones (nested dev CV on
GoEmotions Ekman: held-out macro-F1 0.445 -> 0.477 at fold seed 0, a tie over seeds 0-2,
docs/multilabel.md).
``weak_weight_per_label=False``: the one weight with the best out-of-fold macro F1, for
all labels (the rule before). As gold-only is a candidate on the same folds, dev CV never
scores a label's choice below it. The gold-only baseline is the same model with no weak
rows. :meth:`OneVsRestEndModel.text_model`
packs the fitted featurisers and heads into the text-in model that is saved and exported.
"""

from __future__ import annotations

import math

import numpy as np
from sklearn.pipeline import Pipeline

from labeling.models.multilabel import best_threshold
from labeling.train.end_model import embedding_cache, make_tfidf_logreg, weak_scale
from labeling.train.embeddings import MiniLMEmbedder
from labeling.train.multilabel_cv import candidate_cuts, check_n_repeats, cv_splits
from labeling.train.multilabel_model import (MultiLabelAverage, MultiLabelHeads, _stack,
                                             merge_heads)

FEATURES = {"tfidf_logreg": ("tfidf",), "minilm_logreg": ("minilm",),
            "tfidf_minilm_avg": ("tfidf", "minilm")}
HEAD_C = {"tfidf": 10.0, "minilm": 1.0}  # the single-label heads' C (end_model.py)
# newton-cg on ~120k sparse TF-IDF columns: 2.5 s a head where lbfgs takes 14 s
SOLVER = {"tfidf": "newton-cg", "minilm": "lbfgs"}
# The weak rows' weight against the gold rows, chosen among by dev CV: 0 (gold-only),
# then as a multiple of the gold rows' total weight, then every weak row at weight 1
# (None: the fixed weighting before the choice; on GoEmotions Ekman, 10k weak rows
# against 500 x 5 gold, a multiple of 4). On that task's dev CV (docs/multilabel.md).
DEFAULT_WEAK_WEIGHTS = (0.0, 0.3, 1.0, None)
# The dev CV's K-fold splits (fold seeds seed, seed + 1, ...; scored pooled, multilabel_cv).
# Chosen by the nested dev check (benchmarks/multilabel_per_label_weight.py, docs).
DEFAULT_N_REPEATS = 1


def weight_key(weak_weight: float | None) -> str:
    """A candidate's name in reports: ``0`` (gold-only), ``0.3``, ..., ``per_row``."""
    return "per_row" if weak_weight is None else f"{float(weak_weight):g}"


def fit_featurisers(texts_by_split: dict[str, list[str]], kinds) -> dict:
    """``{kind: fitted transformer}``; TF-IDF is fit on the train and dev texts (no test
    text shapes the vocabulary)."""
    out = {}
    if "tfidf" in kinds:
        vec = make_tfidf_logreg().named_steps["features"]
        out["tfidf"] = vec.fit(list(texts_by_split["train"])
                               + list(texts_by_split.get("dev", [])))
    if "minilm" in kinds:
        out["minilm"] = MiniLMEmbedder().fit(None)
    return out


def featurise(texts_by_split: dict[str, list[str]], kinds, cache_dir=None,
              featurisers: dict | None = None) -> dict:
    """``{kind: {split: X}}`` for ``kinds`` in ("tfidf", "minilm"), with
    ``featurisers`` (default: :func:`fit_featurisers`); MiniLM vectors are cached in
    ``cache_dir``."""
    featurisers = featurisers or fit_featurisers(texts_by_split, kinds)
    out = {}
    for kind in kinds:
        transformer = featurisers[kind]
        with embedding_cache(transformer, cache_dir):
            out[kind] = {s: transformer.transform(list(t)) for s, t in texts_by_split.items()}
    return out


def _lightest_best(scores) -> int:
    """The index of the best score; ties (within 1e-12) to the earlier, lighter weight."""
    best = 0
    for i, score in enumerate(scores):
        if score > scores[best] + 1e-12:
            best = i
    return best


class OneVsRestEndModel:
    """Per-label heads on shared features, with per-label dev-tuned thresholds and the
    weak rows' weight chosen by dev CV, per label.

    ``fit(features, P_weak, Y_dev)``: ``features`` from :func:`featurise` (splits
    "train" and "dev"), ``P_weak`` the ``n_train x k`` label-model probabilities (None:
    the gold-only baseline), ``Y_dev`` the ``n_dev x k`` gold 0/1. ``weak_weights``: the
    candidates (module docstring; with one, nothing is chosen and its CV only tunes the
    thresholds). ``weak_weight_per_label``: each label its own weight (default), else
    one for all. ``n_repeats``: the CV's K-fold splits, pooled
    (:mod:`labeling.train.multilabel_cv`). Fitted: ``weak_weight_`` (list, one choice
    per label; all the same without ``weak_weight_per_label``), ``shared_weight_`` (the
    one weight with the best out-of-fold macro F1), ``cv_scores_`` (``{weight_key:
    [out-of-fold F1 per label]}``), ``cv_macro_`` (``{weight_key: their mean}``: what
    that weight for all labels gives),
    ``thresholds_`` and ``dev_cv_f1_`` (per label, of its choice), ``heads_``.
    """

    def __init__(self, name: str = "tfidf_minilm_avg", gold_weight: float = 5.0,
                 n_folds: int = 3, seed: int = 0, weak_weights=DEFAULT_WEAK_WEIGHTS,
                 weak_weight_per_label: bool = True, n_repeats: int = DEFAULT_N_REPEATS):
        if name not in FEATURES:
            raise ValueError(f"unknown multi-label end model {name!r}; available: "
                             f"{', '.join(FEATURES)}")
        self.name, self.gold_weight, self.n_folds, self.seed = name, gold_weight, n_folds, seed
        self.weak_weights, self.weak_weight_per_label = weak_weights, weak_weight_per_label
        self.n_repeats = n_repeats

    def candidates(self, P_weak=True) -> list:
        """The weak weights :meth:`fit` chooses among (``[0.0]`` without ``P_weak``), in
        order; a ``ValueError`` for anything but a non-empty list of numbers >= 0, or a
        ``weak_weight_per_label`` that is not true/false or an ``n_repeats`` that is not an
        integer >= 1 (checked here so one call checks the parameters before any fitting)."""
        check_n_repeats(self.n_repeats)
        if not isinstance(self.weak_weight_per_label, bool):
            raise ValueError(f"weak_weight_per_label must be true or false, got "
                             f"{self.weak_weight_per_label!r}")
        if P_weak is None:
            return [0.0]
        weights = self.weak_weights  # "per_row" (a config's spelling of None) is None
        if isinstance(weights, (list, tuple)):
            weights = [None if w == "per_row" else w for w in weights]
        if not isinstance(weights, (list, tuple)) or not weights or any(
                w is not None and (isinstance(w, bool) or not isinstance(w, (int, float))
                                   or not math.isfinite(w) or w < 0) for w in weights):
            raise ValueError(f"weak_weights must be a non-empty list of finite numbers >= 0 (the "
                             f"weak rows' total weight per gold rows' total) or 'per_row', "
                             f"got {self.weak_weights!r}")
        # gold-only first, then lighter weak weights: ties go to the earlier
        return sorted(dict.fromkeys(weights), key=lambda w: float("inf") if w is None else w)

    def _fit_heads(self, features, P_weak, Y_dev, dev_rows, weak_weight=None) -> dict:
        """``{kind: MultiLabelHeads}`` on the dev rows ``dev_rows`` plus the weak rows at
        ``weak_weight`` (:func:`weak_scale`; none at 0 or without ``P_weak``)."""
        heads = {}
        gold = np.asarray(Y_dev, dtype=float)[dev_rows]
        w_gold = np.full(len(gold), float(self.gold_weight))
        scale = 0.0 if P_weak is None else weak_scale(weak_weight, float(len(P_weak)),
                                                      float(w_gold.sum()))
        for kind in FEATURES[self.name]:
            X = features[kind]
            if scale == 0.0:
                X_fit, P, w = X["dev"][dev_rows], gold, w_gold
            else:
                X_fit = _stack([X["train"], X["dev"][dev_rows]])
                P = np.vstack([P_weak, gold])
                w = np.concatenate([np.full(len(P_weak), scale), w_gold])
            heads[kind] = MultiLabelHeads(C=HEAD_C[kind], solver=SOLVER[kind],
                                          seed=self.seed).fit(X_fit, P, sample_weight=w)
        return heads

    def _fit_chosen(self, features, P_weak, Y_dev, dev_rows, choice) -> dict:
        """``{kind: MultiLabelHeads}`` with label ``c`` fit at weak weight ``choice[c]``:
        one :meth:`_fit_heads` per distinct weight on its labels' columns, merged."""
        groups: dict[str, tuple] = {}
        for c, weight in enumerate(choice):
            groups.setdefault(weight_key(weight), (weight, []))[1].append(c)
        if len(groups) == 1:  # one weight for all: the plain fit
            return self._fit_heads(features, P_weak, Y_dev, dev_rows, choice[0])
        Y_dev, parts = np.asarray(Y_dev), {kind: [] for kind in FEATURES[self.name]}
        for weight, labels in groups.values():
            heads = self._fit_heads(features, None if P_weak is None else P_weak[:, labels],
                                    Y_dev[:, labels], dev_rows, weight)
            for kind, head in heads.items():
                parts[kind].append((labels, head))
        return {kind: merge_heads(p, len(choice)) for kind, p in parts.items()}

    @staticmethod
    def _proba(heads, features, split, rows=None) -> np.ndarray:
        probs = []
        for kind, head in heads.items():
            X = features[kind][split]
            probs.append(head.predict_proba(X if rows is None else X[rows]))
        return np.mean(probs, axis=0)

    def fit(self, features, P_weak, Y_dev, fold_probs=None) -> "OneVsRestEndModel":
        """``fold_probs``: the label model refit per fold
        (:class:`~labeling.train.fold_label_model.MultiLabelFoldModel`): each fold's
        weak rows get its probabilities refit without the held-out fold's gold, as the
        single-label CV does (docs/gold_budget.md); None: ``P_weak`` in every fold."""
        Y_dev = np.asarray(Y_dev)
        n_dev, k = Y_dev.shape
        splits = cv_splits(n_dev, self.n_folds, self.seed, check_n_repeats(self.n_repeats))
        weights = self.candidates(P_weak)
        # candidate x label x (threshold, out-of-fold F1), the repeats pooled (multilabel_cv)
        cuts = candidate_cuts(self, features, P_weak, Y_dev, weights, splits, fold_probs)
        keys = [weight_key(w) for w in weights]
        self.cv_scores_ = {key: np.round(c[:, 1], 4).tolist() for key, c in zip(keys, cuts)}
        self.cv_macro_ = {key: round(float(c[:, 1].mean()), 4) for key, c in zip(keys, cuts)}
        shared = _lightest_best(cuts[:, :, 1].mean(axis=1))
        self.shared_weight_ = weights[shared]
        picks = ([_lightest_best(cuts[:, c, 1]) for c in range(k)]
                 if self.weak_weight_per_label else [shared] * k)
        self.weak_weight_ = [weights[i] for i in picks]
        chosen = cuts[picks, np.arange(k)]
        self.thresholds_, self.dev_cv_f1_ = chosen[:, 0].copy(), chosen[:, 1].copy()
        self.heads_ = self._fit_chosen(features, P_weak, Y_dev, np.arange(n_dev),
                                       self.weak_weight_)
        return self

    def weak_weight_record(self, labels) -> dict:
        """The weak-weight choice as ``metrics.json`` records it (docs/multilabel.md):
        ``weak_weight`` ``{label: weight_key}``, ``weak_weight_per_label``,
        ``weak_weight_shared`` (the best one weight for all), ``weak_weight_cv``
        ``{weight_key: {label: out-of-fold F1}}``, ``weak_weight_cv_macro``
        ``{weight_key: macro F1}``, ``cv_repeats`` (the CV's K-fold splits)."""
        labels = list(labels)
        return {"weak_weight": {name: weight_key(w) for name, w in zip(labels, self.weak_weight_)},
                "weak_weight_per_label": self.weak_weight_per_label,
                "weak_weight_shared": weight_key(self.shared_weight_),
                "weak_weight_cv": {key: dict(zip(labels, f1))
                                   for key, f1 in self.cv_scores_.items()},
                "weak_weight_cv_macro": dict(self.cv_macro_), "cv_repeats": self.n_repeats}

    def heldout_f1(self, features, P_weak, Y_dev, held, weak_weight=None) -> np.ndarray:
        """Per label, the best-cut F1 on the dev rows ``held`` of heads fit on the other
        dev rows (plus the weak rows at ``weak_weight``; none without ``P_weak``): a
        fine-tune's held-out protocol (labeling.train.finetune_multilabel), to compare."""
        Y_dev = np.asarray(Y_dev)
        fit_rows = np.setdiff1d(np.arange(len(Y_dev)), held)
        proba = self._proba(self._fit_heads(features, P_weak, Y_dev, fit_rows, weak_weight),
                            features, "dev", held)
        return np.array([best_threshold(Y_dev[held, c], proba[:, c])[1]
                         for c in range(Y_dev.shape[1])])

    def predict_proba(self, features, split: str) -> np.ndarray:
        return self._proba(self.heads_, features, split)

    def predict(self, features, split: str) -> np.ndarray:
        return (self.predict_proba(features, split) >= self.thresholds_).astype(np.int8)

    def text_model(self, featurisers: dict):
        """The fitted model as one text-in estimator (what is saved and exported): a
        ``Pipeline(features, heads)`` for one feature kind, else a
        :class:`MultiLabelAverage` of one per kind; same probabilities and thresholds."""
        pipes = []
        for kind, heads in self.heads_.items():
            heads.thresholds_ = self.thresholds_.copy()
            pipes.append((kind, Pipeline([("features", featurisers[kind]),
                                          ("classifier", heads)])))
        if len(pipes) == 1:
            return pipes[0][1]
        return MultiLabelAverage(pipes, thresholds=self.thresholds_.tolist()).fit()
