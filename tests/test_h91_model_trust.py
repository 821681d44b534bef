"""A model folder someone hands you: what loading it may make this machine do.

skops refuses types outside the trust list, but the trusted types' attributes come from
the file too. ``MiniLMEmbedder.cache_dir`` is a folder every predicted text's vector
(and SHA-1) is written to: training clears it before saving, so an exported model never
holds one, but a crafted file could name any folder (``/tmp/x`` on a shared machine:
every text `labeling serve` answers, written where another user reads it).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.base import BaseEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from labeling.config import load_config
from labeling.errors import ConfigError, ModelLoadError
from labeling.export.card_schema import validate_card
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


# --- labels and task names reach terminals and one-line outputs as they are -------------

ESCAPES = ["\x1b[2J\x1b[Hspam", "sp\tam", "spam\nfake line", "spam\x07", "sp\x85am",
           "\u202emaps"]  # the last one shows as "spam" on a terminal


@pytest.mark.parametrize("label", ESCAPES)
def test_a_card_label_with_a_control_character_is_refused(tmp_path, label):
    # before: `labeling predict` printed a handed-over card's labels raw: an escape
    # sequence cleared the user's terminal, a tab or line break forged output lines
    card_path = tmp_path / "model_card.json"
    with pytest.raises(ModelLoadError) as caught:
        validate_card({"labels": ["ham", label]}, card_path)
    message = str(caught.value)
    assert message.startswith(f"{card_path}: invalid model card: field labels: ")
    assert "control character" in message and "\n" not in message
    assert not any(c in message for c in "\x1b\t\x07\x85\u202e")  # nor does the error


def test_a_card_task_with_a_control_character_is_refused(tmp_path):
    # the task is the served model's name, printed by `labeling serve` when it listens
    with pytest.raises(ModelLoadError, match="field task: .*control character"):
        validate_card({"labels": ["ham", "spam"], "task": "youtube\x1b]0;owned\x07"},
                      tmp_path / "model_card.json")
    validate_card({"labels": ["ham", "spam 🙂", "é", "שלום", "👩\u200d💻"], "task": "youtube"},
                  tmp_path / "model_card.json")  # any printable text is a label


@pytest.mark.parametrize("label", ESCAPES[:2] + ["a\x7fb"])
def test_a_config_label_with_a_control_character_is_refused(tmp_path, label):
    config = tmp_path / "labeling.toml"
    config.write_text(f'name = "t"\nlabels = ["ham", {json.dumps(label)}]\n'
                      'lfs = ["f.py"]\n[data]\ntrain = "t.csv"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    assert "control character" in str(caught.value)
    assert "\x1b" not in str(caught.value) and "\t" not in str(caught.value)
