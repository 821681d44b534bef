"""The exact TF-IDF fast path (labeling.export.fast_tfidf) applies the TF-IDF weights and a
logistic-regression head itself, without scikit-learn's input validation: its
probabilities must stay equal (not close) to the pipeline's own ``predict_proba`` for
binary and k-class heads, every TF-IDF weighting option it accepts, and heads it does not
compute itself (multi-label)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline

from labeling.export.fast_tfidf import FastTfidfModel, supports
from labeling.train.multilabel_model import MultiLabelHeads

TEXTS = ["subscribe to my channel", "free money now!!", "check out my video", "love this song",
         "great song, beautiful voice", "who is watching in 2026", "Ünïcode café 🔥 İ", "",
         "a", "song song song subscribe"] * 3
UNSEEN = ["subscribe now", "lovely voice", "", "x" * 300, "new\nline\ttab", "İstanbul song"]


def _pipeline(head, **tfidf) -> Pipeline:
    return Pipeline([("features", FeatureUnion([
        ("word", TfidfVectorizer(ngram_range=(1, 2), **tfidf)),
        ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), **tfidf))])),
        ("clf", head)])


@pytest.mark.parametrize("k", [2, 3])
@pytest.mark.parametrize("tfidf", [{}, {"sublinear_tf": True}, {"norm": "l1"},
                                   {"norm": None, "use_idf": False}])
def test_logistic_heads_equal_sklearn(k, tfidf):
    y = np.arange(len(TEXTS)) % k
    model = _pipeline(LogisticRegression(C=10.0), **tfidf).fit(TEXTS, y)
    assert supports(model)
    fast = FastTfidfModel(model)
    for texts in (TEXTS, UNSEEN, UNSEEN[:1]):
        assert np.array_equal(fast.predict_proba(texts), model.predict_proba(texts))


def test_a_head_it_does_not_compute_is_called_as_is():
    y = np.stack([np.arange(len(TEXTS)) % 2, np.arange(len(TEXTS)) % 3 == 0], axis=1)
    model = _pipeline(MultiLabelHeads()).fit(TEXTS, y.astype(int))
    fast = FastTfidfModel(model)
    assert np.array_equal(fast.predict_proba(UNSEEN), model.predict_proba(UNSEEN))


@pytest.mark.parametrize("columns", [1, 10**9])  # transpose twice / sort rows in place
def test_both_ways_to_canonical_counts_give_the_same_probabilities(columns, monkeypatch):
    import labeling.export.fast_tfidf as fast_tfidf

    monkeypatch.setattr(fast_tfidf, "SMALL_BATCH_COLUMNS", columns)
    model = _pipeline(LogisticRegression(C=10.0), sublinear_tf=True).fit(
        TEXTS, np.arange(len(TEXTS)) % 3)
    fast = FastTfidfModel(model)
    for texts in (TEXTS, UNSEEN, UNSEEN[:1], ["song song song song a a a"]):
        assert np.array_equal(fast.predict_proba(texts), model.predict_proba(texts))
