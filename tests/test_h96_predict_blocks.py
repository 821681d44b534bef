"""Predicting every train row of a big split (end_probs.parquet): in blocks, so the TF-IDF
matrix of 300k tickets is never built at once, with the same probabilities; and the
embedding cache file is read once, not once per block."""

import numpy as np
import pytest

from labeling.llm.embedding_cache import DIM, EmbeddingCache, model_key, text_keys
from labeling.train import embeddings, end_model
from labeling.train.end_model import embedding_cache, predict_proba_full, train_end_model
from tests.test_h96_embedding_interrupt import FakeModel

WORDS = {0: ["refund", "invoice", "charge", "billing"], 1: ["crash", "error", "login", "bug"],
         2: ["shipping", "parcel", "late", "courier"]}


def data(n, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    texts = [" ".join(rng.choice(WORDS[c], 4)) + f" ticket {i}" for i, c in enumerate(y)]
    return texts, np.eye(3)[y] * 0.7 + 0.1


@pytest.fixture
def fake_minilm(monkeypatch):
    monkeypatch.setattr(embeddings, "load_model", lambda path=None: FakeModel())
    monkeypatch.setattr(embeddings, "_LOADED", [], raising=False)


@pytest.mark.parametrize("name", ["tfidf_logreg", "tfidf_minilm_avg"])
def test_blocks_give_the_same_probabilities(monkeypatch, fake_minilm, name):
    texts, probs = data(90)
    model = train_end_model(texts, probs, np.ones(90, bool), name)
    whole = model.predict_proba(texts)
    sizes = []
    real = type(model).predict_proba

    def spy(self, X):
        sizes.append(len(X))
        return real(self, X)

    monkeypatch.setattr(type(model), "predict_proba", spy)
    monkeypatch.setattr(end_model, "PREDICT_BLOCK", 20, raising=False)
    full = predict_proba_full(model, texts, 4)  # a 4th class never trained on: zeros
    assert sizes == [20, 20, 20, 20, 10]
    np.testing.assert_allclose(full[:, :3], whole, rtol=0, atol=1e-12)
    assert not full[:, 3].any()
    assert predict_proba_full(model, [], 4).shape == (0, 4)


def test_cache_file_read_once_while_unchanged(monkeypatch, fake_minilm, tmp_path):
    texts, probs = data(60)
    reads = []

    class Counting(EmbeddingCache):
        def __init__(self, *args):
            reads.append(1)
            super().__init__(*args)

    monkeypatch.setattr(embeddings, "EmbeddingCache", Counting)
    model = train_end_model(texts, probs, np.ones(60, bool), "tfidf_minilm_avg",
                            cache_dir=tmp_path)
    monkeypatch.setattr(end_model, "PREDICT_BLOCK", 10, raising=False)
    reads.clear()
    with embedding_cache(model, tmp_path):
        predict_proba_full(model, texts, 3)  # 6 blocks, all cached
    assert reads == []  # the fit wrote the file: this process holds what it wrote
    # another process adds vectors: the file changed, so it is read again
    other = EmbeddingCache(tmp_path, model_key(None))
    other.table[text_keys(["new text"])[0]] = np.ones(DIM, np.float32)
    other.save()
    reads.clear()
    with embedding_cache(model, tmp_path):
        predict_proba_full(model, texts[:5], 3)
    assert len(reads) == 1
