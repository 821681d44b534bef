"""End models for multi-label tasks: one-vs-rest logistic heads per label.

Features are computed once for every label: TF-IDF (the word+char union of
``tfidf_logreg``) and MiniLM sentence embeddings (``minilm_logreg``'s featuriser,
cached on disk); ``tfidf_minilm_avg`` averages the two heads' probabilities.

Each label's head learns from the label model's soft labels (each train row twice:
"applies" with weight p, "does not" with weight 1 - p) plus dev gold (weight
``gold_weight`` each); the heads of all labels on one feature kind are one
:class:`~labeling.train.multilabel_model.MultiLabelHeads`. Each label's threshold is
tuned on dev by K-fold: the heads refit without the held-out fold's gold predict it,
and the out-of-fold probabilities choose the cut with the best F1
(:func:`labeling.models.multilabel.best_threshold`). The gold-only baseline is the
same model with no weak rows. :meth:`OneVsRestEndModel.text_model` packs the fitted
featurisers and heads into the text-in model that is saved and exported.
"""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import KFold
from sklearn.pipeline import Pipeline

from labeling.models.multilabel import best_threshold
from labeling.train.end_model import embedding_cache, make_tfidf_logreg
from labeling.train.embeddings import MiniLMEmbedder
from labeling.train.multilabel_model import MultiLabelAverage, MultiLabelHeads, _stack

FEATURES = {"tfidf_logreg": ("tfidf",), "minilm_logreg": ("minilm",),
            "tfidf_minilm_avg": ("tfidf", "minilm")}
HEAD_C = {"tfidf": 10.0, "minilm": 1.0}  # the single-label heads' C (end_model.py)
# newton-cg on ~120k sparse TF-IDF columns: 2.5 s a head where lbfgs takes 14 s
SOLVER = {"tfidf": "newton-cg", "minilm": "lbfgs"}


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


class OneVsRestEndModel:
    """Per-label heads on shared features, with per-label dev-tuned thresholds.

    ``fit(features, P_weak, Y_dev)``: ``features`` from :func:`featurise` (splits
    "train" and "dev"), ``P_weak`` the ``n_train x k`` label-model probabilities (None:
    the gold-only baseline), ``Y_dev`` the ``n_dev x k`` gold 0/1.
    """

    def __init__(self, name: str = "tfidf_minilm_avg", gold_weight: float = 5.0,
                 n_folds: int = 3, seed: int = 0):
        if name not in FEATURES:
            raise ValueError(f"unknown multi-label end model {name!r}; available: "
                             f"{', '.join(FEATURES)}")
        self.name, self.gold_weight, self.n_folds, self.seed = name, gold_weight, n_folds, seed

    def _fit_heads(self, features, P_weak, Y_dev, dev_rows) -> dict:
        """``{kind: MultiLabelHeads}`` on the weak rows plus the dev rows ``dev_rows``."""
        heads = {}
        gold = np.asarray(Y_dev, dtype=float)[dev_rows]
        for kind in FEATURES[self.name]:
            X = features[kind]
            if P_weak is None:
                X_fit, P, w = X["dev"][dev_rows], gold, np.full(len(gold), self.gold_weight)
            else:
                X_fit = _stack([X["train"], X["dev"][dev_rows]])
                P = np.vstack([P_weak, gold])
                w = np.concatenate([np.ones(len(P_weak)), np.full(len(gold), self.gold_weight)])
            heads[kind] = MultiLabelHeads(C=HEAD_C[kind], solver=SOLVER[kind],
                                          seed=self.seed).fit(X_fit, P, sample_weight=w)
        return heads

    @staticmethod
    def _proba(heads, features, split, rows=None) -> np.ndarray:
        probs = []
        for kind, head in heads.items():
            X = features[kind][split]
            probs.append(head.predict_proba(X if rows is None else X[rows]))
        return np.mean(probs, axis=0)

    def fit(self, features, P_weak, Y_dev) -> "OneVsRestEndModel":
        Y_dev = np.asarray(Y_dev)
        n_dev, k = Y_dev.shape
        oof = np.zeros((n_dev, k))
        for fit_rows, held in KFold(self.n_folds, shuffle=True,
                                    random_state=self.seed).split(np.arange(n_dev)):
            heads = self._fit_heads(features, P_weak, Y_dev, fit_rows)
            oof[held] = self._proba(heads, features, "dev", held)
        self.thresholds_, self.dev_cv_f1_ = np.zeros(k), np.zeros(k)
        for c in range(k):
            self.thresholds_[c], self.dev_cv_f1_[c] = best_threshold(Y_dev[:, c], oof[:, c])
        self.heads_ = self._fit_heads(features, P_weak, Y_dev, np.arange(n_dev))
        return self

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
