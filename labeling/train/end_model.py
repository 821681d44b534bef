"""The end models: small text classifiers trained on the label model's soft labels.

Every end model is a scikit-learn ``Pipeline`` (``features`` -> ``classifier``) or an
average of two, so it exports to skops with a fixed list of trusted types
(:data:`labeling.export.skops_io.ESTIMATOR_TYPES`):

- ``tfidf_logreg``: word 1-2 + char_wb 2-5 TF-IDF -> logistic regression. Fast at
  predict time (tens of thousands of short docs/s on one core).
- ``minilm_logreg``: MiniLM sentence embeddings (:mod:`labeling.train.embeddings`) ->
  logistic regression. Better where wording varies (questions, SMS); ~100x slower to
  predict, since every text goes through a small transformer.
- ``tfidf_minilm_avg``: both, fit on the same rows, their probabilities averaged
  (:class:`labeling.train.ensemble.ProbabilityAverage`; not a Pipeline, so its ONNX
  export is not available: skops only).
- ``minilm_finetune``: MiniLM itself fine-tuned with a linear head
  (:mod:`labeling.train.finetune`); minutes to fit on CPU, so ``auto`` never
  cross-validates it: it is fit once when named (docs/finetune.md).
- ``file.py:function`` / ``module:function``: an estimator of yours, made by that
  function (:mod:`labeling.train.user_model`; docs/end_models.md, "Your own end model").

Soft labels are honoured by fitting each row's class distribution itself (cross-entropy
against the soft target, :class:`labeling.train.soft_logreg.SoftLogisticRegression`), so
a 60/40 row teaches 60/40, not 100/0. Rows are given to the classifiers as a target
matrix (:func:`weighted_targets`: row ``i``'s weight on each class); that is the same
objective as one weighted copy of each row per class, at 1/k of the rows.

Uncovered rows (every LF abstained) are left out, deliberately: the label model can
only give them its class prior, and measured on WRENCH sms/trec, teaching that prior
(or self-training on the model's confident guesses there) scored no better or worse
than dropping them (see benchmarks/end_models.py's docstring).

With an F1 metric, :mod:`labeling.train.auto` also folds a decision bias (a prior
correction chosen on dev out-of-fold predictions, :mod:`labeling.train.ensemble`) into
the fitted model, so ``predict_proba``'s argmax is the tuned decision wherever the
model is loaded.

Dev gold rows may be added as extra training rows (``y_dev``, ``dev_weight`` copies
each): a few hundred gold rows correct the LFs' systematic errors. When they are, the
dev split can no longer score the model, so :mod:`labeling.train.auto` chooses by
K-fold cross-validation on dev.

>>> import numpy as np
>>> texts = ["buy now", "check my channel", "nice song", "love it"]
>>> probs = np.array([[0.1, 0.9], [0.2, 0.8], [0.9, 0.1], [0.7, 0.3]])
>>> model = train_end_model(texts, probs, covered=np.ones(4, bool), label_mode="soft")
>>> model.predict(["check my channel now"]).tolist()
[1]
"""

from __future__ import annotations

import contextlib

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion, Pipeline

from labeling.train.embeddings import MiniLMEmbedder
from labeling.train.ensemble import ProbabilityAverage, text_list
from labeling.train.finetune import MiniLMFineTuned, make_minilm_finetune
from labeling.train.soft_logreg import SoftLogisticRegression
from labeling.train.user_model import is_user_model, make_user_model

MIN_WEIGHT = 1e-3  # copies lighter than this teach nothing and only cost time
LABEL_MODES = ("soft", "hard")


def make_tfidf_logreg(C: float = 10.0, max_iter: int = 2000, seed: int = 0) -> Pipeline:
    features = FeatureUnion([
        ("word", TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True,
                                 lowercase=True)),
        ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2,
                                 sublinear_tf=True, lowercase=True)),
    ])
    # newton-cg: same optimum as lbfgs, ~10x fewer passes over ~60k sparse columns
    # (trec, 6 classes: 2 s instead of 23 s per fit)
    classifier = SoftLogisticRegression(C=C, max_iter=max_iter, random_state=seed,
                                        solver="newton-cg")
    return Pipeline([("features", features), ("classifier", classifier)])


def make_minilm_logreg(C: float = 1.0, max_iter: int = 2000, seed: int = 0,
                       batch_size: int = 64) -> Pipeline:
    # Unit-length embeddings: C=1 measured best on WRENCH dev; larger C overfits the
    # LFs' mistakes.
    classifier = SoftLogisticRegression(C=C, max_iter=max_iter, random_state=seed)
    return Pipeline([("features", MiniLMEmbedder(batch_size=batch_size)),
                     ("classifier", classifier)])


def make_tfidf_minilm_avg(seed: int = 0, tfidf_logreg: dict | None = None,
                          minilm_logreg: dict | None = None) -> ProbabilityAverage:
    """The mean of ``tfidf_logreg``'s and ``minilm_logreg``'s probabilities (each
    with its own params, e.g. ``{"C": 3.0}``)."""
    return ProbabilityAverage([
        ("tfidf_logreg", make_tfidf_logreg(seed=seed, **(tfidf_logreg or {}))),
        ("minilm_logreg", make_minilm_logreg(seed=seed, **(minilm_logreg or {})))])


END_MODELS = {"tfidf_logreg": make_tfidf_logreg, "minilm_logreg": make_minilm_logreg,
              "tfidf_minilm_avg": make_tfidf_minilm_avg,
              "minilm_finetune": make_minilm_finetune}
# an averaging model's members: their CV predictions are averaged, not refit
MEMBERS = {"tfidf_minilm_avg": ("tfidf_logreg", "minilm_logreg")}


def make_end_model(name: str, seed: int = 0, **params) -> Pipeline:
    """The unfitted pipeline called ``name``, or for ``file.py:function`` /
    ``module:function`` your factory's estimator (:mod:`labeling.train.user_model`);
    unknown names list the available ones."""
    if is_user_model(name):
        return make_user_model(name, seed=seed, **params)
    if name not in END_MODELS:
        raise ValueError(f"unknown end model {name!r}; available: {', '.join(END_MODELS)}"
                         " (or auto), or a function of yours: file.py:function")
    return END_MODELS[name](seed=seed, **params)


def check_no_seed(params: dict) -> None:
    """``seed`` in ``[end_model] params`` clashed with the task's seed in a TypeError
    (docs/finetune.md showed it there): a one-line error saying where it goes."""
    if "seed" in params:
        raise ValueError("seed is not an [end_model] param: the task's top-level `seed` "
                         "in labeling.toml seeds the end model")


@contextlib.contextmanager
def embedding_cache(model, cache_dir):
    """Let every embedder in ``model`` cache vectors under ``cache_dir`` for the block, then
    clear the path again so a saved model never carries this machine's directory."""
    embedders = [step for step in _walk(model) if isinstance(step, MiniLMEmbedder)]
    for step in embedders:
        step.cache_dir = None if cache_dir is None else str(cache_dir)
    try:
        yield model
    finally:  # walked again: fitting may have cloned embedders (ProbabilityAverage)
        for step in _walk(model):
            if isinstance(step, MiniLMEmbedder):
                step.cache_dir = None


def _walk(estimator):
    yield estimator
    for attr in ("steps", "transformer_list", "estimators", "estimators_"):
        for _, child in getattr(estimator, attr, []):
            yield from _walk(child)


def expand_soft_labels(texts, probs: np.ndarray):
    """One (text, class, weight) copy per row and class with probability >= MIN_WEIGHT."""
    texts = np.asarray(texts, dtype=object)
    rows, classes = np.nonzero(probs >= MIN_WEIGHT)
    return texts[rows], classes, probs[rows, classes]


def cap_train_rows(covered, max_rows=None, seed: int = 0) -> np.ndarray:
    """``covered`` with at most ``max_rows`` rows left: a seeded uniform sample of the
    covered rows, the others left out of the end model's training as uncovered rows are
    (``[end_model] params.max_train_rows``: the end model's fits, CV and learning curve
    grow with the weak rows, and past ~50-100k rows more weak labels rarely move dev).
    ``None``: every covered row."""
    covered = np.asarray(covered, dtype=bool)
    if max_rows is None:
        return covered
    if isinstance(max_rows, bool) or not isinstance(max_rows, (int, np.integer)) or max_rows < 1:
        raise ValueError(f"max_train_rows must be a positive whole number of rows, "
                         f"got {max_rows!r}")
    rows = np.flatnonzero(covered)
    if len(rows) <= max_rows:
        return covered
    capped = np.zeros_like(covered)
    capped[np.random.default_rng(seed).choice(rows, size=int(max_rows), replace=False)] = True
    return capped


def training_rows(texts, probs, covered, label_mode="soft", dev_texts=None, y_dev=None,
                  dev_weight: float = 0.0):
    """The (texts, targets) an end model is fit on: covered train rows with their soft or
    hard labels, plus dev gold rows as one-hot targets scaled by ``dev_weight``."""
    if label_mode not in LABEL_MODES:
        raise ValueError(f"label_mode must be one of {LABEL_MODES} or auto, not {label_mode!r}")
    covered = np.asarray(covered, dtype=bool)  # a 0/1 int array would index by position
    texts, probs = np.asarray(texts, dtype=object)[covered], np.asarray(probs, float)[covered]
    if len(texts) == 0:
        raise ValueError("no training rows: every LF abstained on every train example")
    k = probs.shape[1]
    if label_mode == "hard":
        probs = np.eye(k)[probs.argmax(axis=1)]
    if dev_weight and y_dev is not None and len(y_dev):
        y_dev = check_gold(y_dev, k)
        texts = np.concatenate([texts, np.asarray(dev_texts, dtype=object)])
        probs = np.vstack([probs, np.eye(k)[y_dev] * float(dev_weight)])
    return texts, probs


def check_gold(y_dev, k: int) -> np.ndarray:
    y_dev = np.asarray(y_dev, dtype=int)
    if len(y_dev) and (y_dev.min() < 0 or y_dev.max() >= k):
        raise ValueError(f"dev gold labels must be class indices 0..{k - 1}")
    return y_dev


def weak_scale(weak_weight: float | None, weak_total: float, gold_total: float) -> float:
    """The factor on every weak row's weight that makes the weak rows' total weight
    ``weak_weight`` times the gold rows' total (``weak_total``/``gold_total``: their
    unscaled sums), capped at 1 so no weak row ever outweighs its unscaled self.

    ``None`` keeps the weak rows at weight 1 (the scale before weak weights existed);
    without gold rows there is nothing to weigh against, so the weak rows keep weight 1.
    """
    if weak_weight is None or gold_total <= 0:
        return 1.0
    if weak_weight <= 0 or weak_total <= 0:
        return 0.0
    return min(1.0, float(weak_weight) * gold_total / weak_total)


def weighted_targets(weak_rows, weak_targets, gold_rows, y_gold, dev_weight: float = 0.0,
                     weak_weight: float | None = None):
    """``(rows, targets)`` to fit a classifier on: every weak row with its class
    probabilities (those below MIN_WEIGHT dropped) times :func:`weak_scale`, then every
    gold row one-hot at weight ``dev_weight``; ``targets[i, c]`` is row ``i``'s weight on
    class ``c``. Rows may be texts or row indices; rows of zero weight are left out."""
    weak_targets = np.asarray(weak_targets, float)
    k = weak_targets.shape[1]
    weak = np.where(weak_targets >= MIN_WEIGHT, weak_targets, 0.0)
    y_gold = check_gold(np.asarray([] if y_gold is None else y_gold), k)
    n_gold = len(y_gold) if dev_weight else 0
    gold = np.eye(k)[y_gold[:n_gold]] * float(dev_weight)
    weak = weak * weak_scale(weak_weight, weak.sum(), gold.sum())
    weak_rows = np.asarray(list(weak_rows) if not isinstance(weak_rows, np.ndarray)
                           else weak_rows)
    gold_rows = np.asarray(list(gold_rows if gold_rows is not None else [])[:n_gold],
                           dtype=weak_rows.dtype)
    rows, targets = np.concatenate([weak_rows, gold_rows]), np.vstack([weak, gold])
    keep = targets.sum(axis=1) > 0
    return rows[keep], targets[keep]


def weighted_rows(weak_rows, weak_targets, gold_rows, y_gold, dev_weight: float = 0.0,
                  weak_weight: float | None = None):
    """:func:`weighted_targets` as ``(rows, y, w)``: one copy per row and class of
    positive weight (for fitters that take class labels, such as the fine-tuned model)."""
    rows, targets = weighted_targets(weak_rows, weak_targets, gold_rows, y_gold, dev_weight,
                                     weak_weight)
    row, y = np.nonzero(targets)
    return rows[row], y, targets[row, y]


def train_end_model(texts, probs: np.ndarray, covered: np.ndarray, name: str = "tfidf_logreg",
                    seed: int = 0, label_mode: str = "soft", dev_texts=None, y_dev=None,
                    dev_weight: float = 0.0, cache_dir=None, weak_weight: float | None = None,
                    **params) -> Pipeline:
    """Fit end model ``name`` on the covered rows' labels, ``soft`` (the label model's
    class probabilities) or ``hard`` (each row's most probable class), plus ``dev_weight`` copies of
    each dev gold row if given. ``cache_dir``: where embeddings are kept between runs.

    ``weak_weight``: the weak rows' total weight relative to the gold rows'
    (:func:`weak_scale`; None: weight 1 per weak row). ``0`` fits on the dev gold
    alone (the gold-only model): ``texts``/``probs``/``covered`` are then not used."""
    model = make_end_model(name, seed=seed, **params)
    if weak_weight is not None and weak_weight <= 0:
        if not dev_weight or y_dev is None or len(y_dev) == 0:
            raise ValueError("a gold-only end model needs dev gold rows and dev_weight > 0")
        k = np.asarray(probs).shape[1]
        weak_texts, weak_targets = np.zeros(0, dtype=object), np.zeros((0, k))
    else:
        weak_texts, weak_targets = training_rows(texts, probs, covered, label_mode)
    rows, targets = weighted_targets(weak_texts, weak_targets, dev_texts, y_dev, dev_weight,
                                     weak_weight)
    if (targets.sum(axis=0) > 0).sum() < 2:
        if len(weak_texts) == 0:  # gold-only: the dev gold is what holds one class
            raise ValueError("the dev gold rows hold one class only; the gold-only model "
                             "(and the end model's choice against it) needs dev gold rows "
                             "of at least two classes")
        raise ValueError("the label model put all training mass on one class; "
                         "add LFs that vote the other classes")
    with embedding_cache(model, cache_dir):
        if isinstance(model, MiniLMFineTuned):  # its own loss, over one copy per class
            row, y = np.nonzero(targets)
            n_gold = len(y_dev) if dev_weight and y_dev is not None else 0  # the last rows
            model.fit(rows[row], y, sample_weight=targets[row, y],
                      gold=row >= len(rows) - n_gold)
        else:  # ending in SoftLogisticRegression, or a UserEndModel: a target matrix
            model.fit(rows, targets)
    for step in _walk(model):
        # The terms min_df cut: only kept for introspection, and most of the file's size.
        if isinstance(step, TfidfVectorizer) and hasattr(step, "stop_words_"):
            del step.stop_words_
    return model


PREDICT_BLOCK = 8192  # rows per predict_proba call: a block's TF-IDF matrix, not all rows'


def predict_proba_full(model: Pipeline, texts, cardinality: int) -> np.ndarray:
    """``predict_proba`` with one column per class 0..k-1, even for classes never trained
    on. Predicted ``PREDICT_BLOCK`` rows at a time (every row's prediction is its own):
    300k support tickets' TF-IDF at once was a 5-6 GB sparse matrix."""
    texts = text_list(texts)
    full = np.zeros((len(texts), cardinality))
    for start in range(0, len(texts), PREDICT_BLOCK):
        proba = model.predict_proba(texts[start:start + PREDICT_BLOCK])
        full[start:start + len(proba), model.classes_.astype(int)] = proba
    return full
