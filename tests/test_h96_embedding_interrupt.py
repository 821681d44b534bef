"""The end model's MiniLM embedding of a big train split: stopped with Ctrl+C, what was
embedded is in the embedding cache (the next run does not embed it again), and a
progress bar with rate and ETA is shown while it runs."""

import hashlib

import numpy as np
import pytest

from labeling.llm.embedding_cache import DIM, EmbeddingCache, model_key
from labeling.train import embeddings
from labeling.train.embeddings import MiniLMEmbedder


class FakeModel:
    """Deterministic vectors from the text; Ctrl+C on call number ``stop_at``."""

    def __init__(self, stop_at=None):
        self.calls, self.stop_at, self.encoded = 0, stop_at, []

    def encode(self, texts, **kwargs):
        self.calls += 1
        if self.calls == self.stop_at:
            raise KeyboardInterrupt
        self.encoded += list(texts)
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        for i, t in enumerate(texts):
            out[i, int(hashlib.sha1(t.encode()).hexdigest(), 16) % DIM] = 1.0
        return out


@pytest.fixture
def fake(monkeypatch):
    def install(model):
        monkeypatch.setattr(embeddings, "load_model", lambda path=None: model)
        monkeypatch.setattr(MiniLMEmbedder, "CHUNK", 10)
        return model
    return install


def test_ctrl_c_keeps_what_was_embedded(fake, tmp_path):
    texts = [f"support ticket number {i}" for i in range(35)]
    fake(FakeModel(stop_at=3))  # two chunks of 10 done, Ctrl+C in the third
    embedder = MiniLMEmbedder(cache_dir=str(tmp_path))
    with pytest.raises(KeyboardInterrupt):
        embedder.transform(texts)
    kept = EmbeddingCache(tmp_path, model_key(None)).table
    assert len(kept) == 20

    again = fake(FakeModel())  # the next run embeds only the 15 it had not done
    X = embedder.transform(texts)
    assert len(again.encoded) == 15
    assert X.shape == (35, DIM)
    fresh = MiniLMEmbedder().transform(texts)  # no cache: the same vectors
    np.testing.assert_array_equal(X, fresh)


def test_progress_bar_with_rate_while_embedding_many(fake, tmp_path, capsys):
    fake(FakeModel())
    MiniLMEmbedder(cache_dir=str(tmp_path)).transform([f"t{i}" for i in range(25)])
    err = capsys.readouterr().err
    assert "end model: embedding texts" in err and "text/s" in err
    fake(FakeModel())
    MiniLMEmbedder(cache_dir=str(tmp_path / "b")).transform(["one", "two"])  # one chunk
    assert "embedding texts" not in capsys.readouterr().err


def test_a_save_that_fails_is_not_tried_again_on_the_way_out():
    """A full disk failing the last chunk's save raised its one-line error, then the
    clean-up saved again and raised a second one over it (r97)."""
    from labeling.errors import LabelingError
    from labeling.llm.minilm import encode_in_chunks

    class Stored:
        table, saves = {}, 0

        def save(self):
            Stored.saves += 1
            raise LabelingError("cache.npz: could not be written (disk full)")

    texts = [f"t{i}" for i in range(5)]
    with pytest.raises(LabelingError, match="disk full") as err:
        encode_in_chunks(texts, lambda part: np.zeros((len(part), 2)), keys=texts,
                         stored=Stored(), chunk=10)
    assert Stored.saves == 1 and err.value.__context__ is None
