"""The end model's features per CV fold, fit without the held-out fold's texts.

TF-IDF is fit on texts (its vocabulary, ``min_df`` cut and IDF weights), so in the end
model's dev CV a held-out fold's texts must not be among them: the refit's features are
fit on train and dev texts and never see a test text, and the gold-only candidate's
features are fit per fold on the fold's training texts alone. Fit once on train + all
of dev, the weak candidates' features had the held-out texts' n-grams in their
vocabulary (a character n-gram in one training text and one held-out text passed
``min_df = 2``) and in their IDF: on the bundled task that moved the weak candidates'
CV by -0.007 to +0.009 against gold-only's (docs/gold_budget.md).

Refitting the vectorizers per fold costs ~1-3 s a fold on 1.5-6k texts, so
:class:`FoldFeatures` counts every n-gram of every text once and derives each fold's
TF-IDF from the counts: a term's document frequency over the fold's texts is its
frequency over all texts minus the held-out rows', the ``min_df`` cut and the smoothed
IDF follow, then sublinear TF and L2 rows, exactly as ``TfidfVectorizer`` fit on those
texts computes them (tests/test_auditor_fold_features.py). Features that are not such a
union of vectorizers are refit per fold; MiniLM embeddings depend on nothing but the
text and are computed once.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse
from sklearn.base import clone
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.pipeline import FeatureUnion
from sklearn.preprocessing import normalize

from labeling.train.embeddings import MiniLMEmbedder

_COUNT_PARAMS = ("input", "encoding", "decode_error", "strip_accents", "lowercase",
                 "preprocessor", "tokenizer", "stop_words", "token_pattern", "ngram_range",
                 "analyzer", "dtype")


def _from_counts(vectorizer) -> bool:
    """Whether ``vectorizer``'s fit is reproduced from counts here (its defaults and
    the ones ``make_tfidf_logreg`` sets; anything else is refit per fold)."""
    p = vectorizer.get_params() if isinstance(vectorizer, TfidfVectorizer) else {}
    return bool(p) and (p["norm"] == "l2" and p["use_idf"] and p["smooth_idf"]
                        and not p["binary"] and p["max_features"] is None
                        and p["vocabulary"] is None and p["max_df"] == 1.0
                        and isinstance(p["min_df"], int))


class FoldFeatures:
    """``features`` (an unfitted feature step) as fit on the train texts plus a subset of
    the dev texts: :meth:`matrices` ``(fit_dev_rows)`` gives ``(X_train, X_dev)``,
    every train and dev text transformed by the features fit on ``train_texts`` +
    ``dev_texts[fit_dev_rows]``."""

    MEMO_BYTES = 1 << 29  # fold matrices kept for reuse, at most (512 MiB)

    def __init__(self, features, train_texts, dev_texts):
        self.features = features
        self.texts = np.concatenate([np.asarray(train_texts, dtype=object),
                                     np.asarray(dev_texts, dtype=object)])
        self.n_train = len(train_texts)
        self.fixed, self.blocks = None, None
        self._memo, self._memo_bytes = {}, 0
        parts = getattr(features, "transformer_list", None)
        if isinstance(features, MiniLMEmbedder):  # no fit: the same vectors in every fold
            X = features.fit(self.texts).transform(self.texts)
            self.fixed = (X[:self.n_train], X[self.n_train:])
        elif (isinstance(features, FeatureUnion) and parts and features.transformer_weights
              is None and all(_from_counts(vectorizer) for _, vectorizer in parts)):
            self.blocks = []
            for _, vectorizer in parts:
                p = vectorizer.get_params()
                tf = CountVectorizer(**{k: p[k] for k in _COUNT_PARAMS}).fit_transform(
                    self.texts).tocsr().astype(np.float64)
                tf.sum_duplicates()  # one entry per (row, term): the indices count documents
                if p["sublinear_tf"]:  # once here, not in every fold
                    np.log(tf.data, tf.data)
                    tf.data += 1
                self.blocks.append((p, tf, np.bincount(tf.indices, minlength=tf.shape[1])))

    def matrices(self, fit_dev_rows):
        """``(X_train, X_dev)`` of the features fit on the train texts and the dev texts
        ``fit_dev_rows``. Kept while they fit in ``MEMO_BYTES``: the CV asks for each
        fold's once per weak weight and label mode (4-5 times)."""
        if self.fixed is not None:
            return self.fixed
        fit_dev_rows = np.asarray(fit_dev_rows, dtype=int)
        key = fit_dev_rows.tobytes()
        if key not in self._memo:
            X_train, X_dev = self._derive(fit_dev_rows)
            size = sum(m.data.nbytes + m.indices.nbytes if sparse.issparse(m) else m.nbytes
                       for m in (X_train, X_dev))
            if self._memo_bytes + size > self.MEMO_BYTES:
                return X_train, X_dev
            self._memo[key], self._memo_bytes = (X_train, X_dev), self._memo_bytes + size
        return self._memo[key]

    def _derive(self, fit_dev_rows):
        if self.blocks is None:
            rows = np.concatenate([np.arange(self.n_train), self.n_train + fit_dev_rows])
            X = clone(self.features).fit(self.texts[rows]).transform(self.texts)
        else:
            left_out = self.n_train + np.setdiff1d(
                np.arange(len(self.texts) - self.n_train), fit_dev_rows)
            n_fit = len(self.texts) - len(left_out)
            X = sparse.hstack([self._tfidf(block, left_out, n_fit) for block in self.blocks],
                              format="csr")
        return X[:self.n_train], X[self.n_train:]

    @staticmethod
    def _tfidf(block, left_out, n_fit):
        p, tf, df_all = block
        df = df_all - np.bincount(tf[left_out].indices, minlength=tf.shape[1])
        keep = np.flatnonzero(df >= max(1, p["min_df"]))
        X = tf[:, keep]  # a copy: scaled in place below
        idf = np.log((1 + n_fit) / (1 + df[keep])) + 1
        X.data *= idf[X.indices]
        return normalize(X, norm="l2", copy=False).astype(p["dtype"], copy=False)
