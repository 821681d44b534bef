"""Exact, faster inference for the TF-IDF + linear pipeline (the ``predict`` hot path).

scikit-learn's char_wb analyzer builds every character n-gram of every document in
Python (~10k short docs/s on one core, 85% of predict time). But char_wb n-grams are
per word, so a document's counts are the sum of its words' counts: each distinct
word is analysed once (by scikit-learn's own ``_char_wb_ngrams``) and its vocabulary
columns cached (as raw int32 bytes, joined per batch in C). The count matrix is then built exactly as ``CountVectorizer`` builds
it (same columns, summed duplicates, sorted indices, same dtype) and passed through
the vectorizer's own fitted TF-IDF weights, so the result is identical to
``model.predict_proba``, not merely close (tests compare for equality).

The TF-IDF weighting and a logistic-regression head are applied here with scikit-learn's
own operations in its order (idf product, its in-place row normalisation; its
``safe_sparse_dot``, ``expit`` and ``softmax``) but without its input validation, which
took ~1.5 ms per call whatever the batch size: most of a small batch's time, e.g. for
`labeling serve` answering a few requests at once (docs/serve.md).
"""

from __future__ import annotations

import re
from itertools import chain, repeat

import numpy as np
import scipy.sparse as sp
from scipy.special import expit
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.utils.extmath import safe_sparse_dot, softmax
from sklearn.utils.sparsefuncs_fast import (inplace_csr_row_normalize_l1,
                                            inplace_csr_row_normalize_l2)


WORD_PATTERN = r"(?u)\b\w\w+\b"  # scikit-learn's default token_pattern
CACHE_WORDS = 200_000  # distinct words kept; cleared when full (memory stays bounded)
# a batch of n texts sorts its rows in place when n * this < vocabulary columns, else
# transposes twice (measured: equal cost at ~32 texts on 17k + 37k columns)
SMALL_BATCH_COLUMNS = 1024


def _pack(columns) -> bytes:
    return np.asarray(columns, dtype=np.int32).tobytes()


class _Vectorizer:
    """Count rows for one fitted TfidfVectorizer (word 1..2-grams or char_wb).

    Each unit (a word for char_wb, a token for word n-grams) maps to the raw int32
    bytes of its vocabulary columns, so a batch's columns are one ``b"".join`` in C
    instead of a Python step per n-gram.
    """

    def __init__(self, vec: TfidfVectorizer):
        self.vec = vec
        self.char = vec.analyzer == "char_wb"
        # The default pattern's \b...\b only trims what greedy \w\w+ never splits (a match
        # starts at a run of word characters and takes all of it): same tokens, faster.
        self.tokenize = (re.compile(r"\w\w+").findall if vec.token_pattern == WORD_PATTERN
                         else vec.build_tokenizer())
        vocab = vec.vocabulary_
        # word n-grams: a token's unigram column, a token pair's bigram column
        self.unigrams = {g: _pack([c]) for g, c in vocab.items() if " " not in g}
        self.bigrams = {tuple(g.split(" ")): _pack([c]) for g, c in vocab.items() if " " in g}
        self.cache: dict[str, bytes] = {}  # char_wb: word -> its n-grams' columns

    def _char_units(self, lowered: list[str]) -> tuple[list[bytes], list[list[str]]]:
        docs = [text.split() for text in lowered]
        words = list(chain.from_iterable(docs))
        missing = set(words).difference(self.cache)
        if len(self.cache) + len(missing) > CACHE_WORDS:
            self.cache.clear()  # bounded memory; this batch's words are analysed again
            missing = set(words)
        vocab, ngrams = self.vec.vocabulary_, self.vec._char_wb_ngrams
        for word in missing:  # scikit-learn's own n-grams of the word
            self.cache[word] = _pack([vocab[g] for g in ngrams(word) if g in vocab])
        return list(map(self.cache.__getitem__, words)), docs

    def _word_units(self, lowered: list[str]) -> tuple[list[bytes], list[list[str]]]:
        docs = list(map(self.tokenize, lowered))
        tokens = list(chain.from_iterable(docs))
        # the bigram starting at each token; none at a document's last token
        pairs = list(map(self.bigrams.get, zip(tokens, tokens[1:]), repeat(b""))) + [b""]
        end = 0
        for doc in docs:
            end += len(doc)
            if doc:
                pairs[end - 1] = b""
        return list(map(bytes.__add__, map(self.unigrams.get, tokens, repeat(b"")), pairs)), docs

    def transform(self, lowered: list[str]):
        units, docs = (self._char_units if self.char else self._word_units)(lowered)
        indices = np.frombuffer(b"".join(units), dtype=np.int32)
        unit_end = np.zeros(len(units) + 1, dtype=np.int64)
        np.cumsum(np.fromiter(map(len, units), dtype=np.int64, count=len(units)) // 4,
                  out=unit_end[1:])
        doc_end = np.zeros(len(docs) + 1, dtype=np.int64)
        np.cumsum(np.fromiter(map(len, docs), dtype=np.int64, count=len(docs)), out=doc_end[1:])
        dtype, n_columns = self.vec.dtype, len(self.vec.vocabulary_)
        small = len(lowered) * SMALL_BATCH_COLUMNS < n_columns
        counts = sp.csr_matrix((np.ones(len(indices), dtype=dtype),
                                indices.copy() if small else indices, unit_end[doc_end]),
                               shape=(len(lowered), n_columns), dtype=dtype)
        # Transposing twice is a counting sort (O(nnz)): column indices come out sorted,
        # duplicates adjacent, so sum_duplicates needs no comparison sort. But it walks
        # every vocabulary column (O(columns) per call): for a few texts (a server's small
        # batch) sorting each row in place is cheaper (0.2 ms less for one text). Either
        # way the result is the canonical matrix CountVectorizer builds (same columns, the
        # same sums of ones).
        if not small:
            counts = counts.tocsc().tocsr()
        counts.sum_duplicates()
        return _tfidf_weights(self.vec._tfidf, counts)


def _tfidf_weights(tfidf, counts: sp.csr_matrix) -> sp.csr_matrix:
    """``tfidf.transform(counts, copy=False)`` (a fitted TfidfTransformer) without its
    input validation: ``counts`` is built above, canonical CSR of the vectorizer's dtype."""
    if tfidf.sublinear_tf:
        np.log(counts.data, counts.data)
        counts.data += 1.0
    if hasattr(tfidf, "idf_"):
        counts.data *= tfidf.idf_[counts.indices]
    if tfidf.norm == "l2":  # sklearn.preprocessing.normalize on CSR rows
        inplace_csr_row_normalize_l2(counts)
    elif tfidf.norm == "l1":
        inplace_csr_row_normalize_l1(counts)
    return counts


def _plain_logistic(classifier) -> bool:
    """A LogisticRegression, or a subclass that only changes how it is fit (the soft-label
    one), so its probabilities are LogisticRegression's."""
    kind = type(classifier)
    return (isinstance(classifier, LogisticRegression)
            and kind.predict_proba is LogisticRegression.predict_proba
            and kind.decision_function is LogisticRegression.decision_function)


def _hstack_rows(blocks: list[sp.csr_matrix]) -> sp.csr_matrix:
    """``sp.hstack(blocks).tocsr()`` (what FeatureUnion does), the same matrix entry for
    entry and in the same order (each row: the first block's entries, then the next's,
    columns offset), in a few NumPy operations instead of scipy's generic block
    assembly (~0.1 ms per call)."""
    n = blocks[0].shape[0]
    indptr = np.sum([b.indptr.astype(np.int64) for b in blocks], axis=0)
    nnz, columns = int(indptr[-1]), sum(b.shape[1] for b in blocks)
    dtype = np.int32 if max(nnz, columns) < np.iinfo(np.int32).max else np.int64
    indices = np.empty(nnz, dtype=dtype)
    data = np.empty(nnz, dtype=np.result_type(*(b.dtype for b in blocks)))
    before = np.zeros(n, dtype=np.int64)  # each row's entries placed so far
    offset = 0
    for block in blocks:
        counts = np.diff(block.indptr)
        row = np.repeat(np.arange(n), counts)
        destination = indptr[row] + before[row] + np.arange(block.nnz) - block.indptr[row]
        indices[destination] = block.indices + offset
        data[destination] = block.data
        before += counts
        offset += block.shape[1]
    return sp.csr_matrix((data, indices, indptr.astype(dtype)), shape=(n, columns))


def _logistic_proba(classifier: LogisticRegression, features) -> np.ndarray:
    """``classifier.predict_proba(features)`` without its input validation: binary, the
    expit of the one score and its complement; else the softmax of the scores."""
    scores = safe_sparse_dot(features, classifier.coef_.T, dense_output=True) \
        + classifier.intercept_
    if len(classifier.classes_) <= 2:
        positive = scores.reshape(-1)
        expit(positive, out=positive)
        return np.stack([1 - positive, positive], axis=1)
    return softmax(scores, copy=False)


def supports(model) -> bool:
    """True for Pipeline(FeatureUnion(TfidfVectorizer...), linear classifier) with the
    settings this module reproduces; anything else uses ``model.predict_proba``."""
    if not (isinstance(model, Pipeline) and len(model.steps) == 2
            and isinstance(model.steps[0][1], FeatureUnion)):
        return False
    union = model.steps[0][1]
    if union.transformer_weights:
        return False
    for _, vec in union.transformer_list:
        if not (type(vec) is TfidfVectorizer and vec.lowercase and vec.input == "content"
                and vec.norm in ("l1", "l2", None)
                and vec.preprocessor is None and vec.tokenizer is None
                and vec.strip_accents is None and not vec.stop_words and not vec.binary
                and hasattr(vec, "_tfidf")):
            return False
        if vec.analyzer == "word" and (vec.ngram_range != (1, 2)
                                       or vec.token_pattern != WORD_PATTERN):
            return False
        if vec.analyzer not in ("word", "char_wb"):
            return False
    return True


class FastTfidfModel:
    """``predict_proba`` of a supported pipeline, identical to scikit-learn's."""

    def __init__(self, model: Pipeline):
        if not supports(model):
            raise ValueError("not a TF-IDF pipeline this fast path reproduces")
        self.parts = [_Vectorizer(vec) for _, vec in model.steps[0][1].transformer_list]
        self.classifier = model.steps[1][1]
        self.classes_ = self.classifier.classes_

    def transform(self, texts) -> sp.csr_matrix:
        lowered = [t.lower() for t in texts]
        return _hstack_rows([part.transform(lowered) for part in self.parts])

    def predict_proba(self, texts) -> np.ndarray:
        features = self.transform(texts)
        if _plain_logistic(self.classifier):
            return _logistic_proba(self.classifier, features)
        return self.classifier.predict_proba(features)
