"""A model folder someone hands you: what loading it may make this machine do.

skops refuses types outside the trust list, but the trusted types' attributes come from
the file too. ``MiniLMEmbedder.cache_dir`` is a folder every predicted text's vector
(and SHA-1) is written to: training clears it before saving, so an exported model never
holds one, but a crafted file could name any folder (``/tmp/x`` on a shared machine:
every text `labeling serve` answers, written where another user reads it).
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from labeling.export.skops_io import load_model, save_model
from labeling.train.embeddings import MiniLMEmbedder
from labeling.train.ensemble import ProbabilityAverage


def _crafted(monkeypatch, leak_dir):
    """A fitted average whose MiniLM member names ``leak_dir`` as its cache: saved the
    way a tampered file would carry it (the embedder's own __getstate__ drops it)."""
    monkeypatch.setattr(MiniLMEmbedder, "__getstate__", BaseEstimator.__getstate__)
    head = LogisticRegression().fit(np.eye(3, 384), [0, 1, 1])
    member = Pipeline([("features", MiniLMEmbedder(cache_dir=str(leak_dir))),
                       ("classifier", head)])
    average = ProbabilityAverage([("minilm", member)])
    average.estimators_ = [("minilm", member)]
    average.classes_ = head.classes_
    average.decision_bias_ = np.zeros(2)
    return average


def test_a_cache_dir_in_a_model_file_is_dropped_on_load(tmp_path, monkeypatch):
    leak = tmp_path / "elsewhere"
    path = tmp_path / "model.skops"
    save_model(_crafted(monkeypatch, leak), path)
    monkeypatch.undo()
    loaded = load_model(path)
    embedders = [loaded.estimators_[0][1].steps[0][1], loaded.estimators[0][1].steps[0][1]]
    assert all(isinstance(e, MiniLMEmbedder) for e in embedders)
    assert [e.cache_dir for e in embedders] == [None, None]
    assert loaded.predict_proba(["a customer's private message"]).shape == (1, 2)
    assert not leak.exists()  # nothing was written where the file said
