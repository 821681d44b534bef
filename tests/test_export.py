"""Export and safe loading: skops with fixed trusted types, card hash checked on load."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
import skops.io as sio
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from labeling.errors import ModelLoadError
from labeling.export import export_model, load_exported, load_model, save_model
from labeling.export.card import CARD_FILE, CARD_MARKDOWN, MODEL_FILE
from labeling.train.end_model import predict_proba_full, train_end_model

TEXTS = ["subscribe to my channel", "check out my channel", "free money on my channel",
         "love this song", "great song", "this song is beautiful"]
QUERIES = TEXTS + ["check out my new song", "", "🔥", "x" * 5000]


@pytest.fixture(scope="module")
def model():
    return train_end_model(TEXTS, np.eye(2)[[1, 1, 1, 0, 0, 0]], np.ones(6, bool))


@pytest.fixture
def exported(model, tmp_path):
    card = {"task": "tiny", "labels": ["ham", "spam"], "positive_label": "spam",
            "metrics": {"end_model": {"test": {"n": 6, "accuracy": 1.0, "macro_f1": 1.0,
                                               "f1": 1.0}}},
            "lfs": [{"name": "kw_spam", "kind": "pattern"}]}
    return export_model(model, tmp_path / "model", card)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def rewrite_schema(src: Path, dst: Path, edit) -> None:
    """Copy the skops zip ``src`` to ``dst`` with ``edit(schema)`` applied to schema.json."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "schema.json":
                schema = json.loads(data)
                edit(schema)
                data = json.dumps(schema).encode()
            zout.writestr(item, data)


def find_key(node, key):
    """The first dict in ``node`` (depth first) holding ``key``."""
    if isinstance(node, dict):
        if key in node:
            return node
        children = node.values()
    elif isinstance(node, list):
        children = node
    else:
        return None
    for child in children:
        found = find_key(child, key)
        if found is not None:
            return found
    return None


def update_card_hash(model_dir: Path) -> None:
    """What an attacker who can write the folder would also do."""
    card_path = model_dir / CARD_FILE
    card = json.loads(card_path.read_text())
    card["model_sha256"] = sha256(model_dir / MODEL_FILE)
    card_path.write_text(json.dumps(card))


# --- round trip ------------------------------------------------------------------

def test_export_then_load_predicts_identically(model, exported):
    loaded = load_exported(exported)
    assert type(loaded.model) is Pipeline
    np.testing.assert_array_equal(loaded.model.predict_proba(QUERIES),
                                  model.predict_proba(QUERIES))
    np.testing.assert_array_equal(predict_proba_full(loaded.model, QUERIES, 2),
                                  predict_proba_full(model, QUERIES, 2))
    assert loaded.labels == ["ham", "spam"]
    assert loaded.model.predict(["subscribe to my channel"]).tolist() == [1]


def test_export_writes_files_and_card(exported):
    assert sorted(p.name for p in exported.iterdir()) == sorted([MODEL_FILE, CARD_FILE,
                                                                 CARD_MARKDOWN])
    card = json.loads((exported / CARD_FILE).read_text())
    assert card["model_file"] == MODEL_FILE and card["format"] == "skops"
    assert card["model_sha256"] == sha256(exported / MODEL_FILE)
    assert card["labels"] == ["ham", "spam"] and card["task"] == "tiny"
    for lib in ("python", "labeling", "scikit-learn", "skops", "numpy"):
        assert card["versions"][lib] and card["versions"][lib] != "not installed"
    assert card["exported_at"].endswith("+00:00")
    markdown = (exported / CARD_MARKDOWN).read_text()
    assert markdown.startswith("# Model card: tiny")
    assert "| end_model | test | 1.000 | 1.000 | 1.000 |" in markdown
    assert "labeling functions (1): kw_spam" in markdown


def test_save_model_returns_sha_and_leaves_no_tmp(model, tmp_path):
    path = tmp_path / "sub" / "m.skops"
    sha = save_model(model, path)
    assert sha == sha256(path)
    assert list(path.parent.iterdir()) == [path]
    np.testing.assert_array_equal(load_model(path).predict_proba(TEXTS),
                                  model.predict_proba(TEXTS))


# --- untrusted types ----------------------------------------------------------------

def test_model_with_function_transformer_os_system_is_refused(tmp_path):
    evil = Pipeline([("f", FunctionTransformer(os.system))])
    path = tmp_path / "evil.skops"
    sio.dump(evil, path)
    with pytest.raises(ModelLoadError) as info:
        load_model(path)
    message = str(info.value)
    assert "refusing to load" in message
    assert f"{os.system.__module__}.system" in message  # posix.system on Linux
    assert str(path) in message


def test_exported_model_with_schema_pointing_to_os_system_is_refused(exported):
    """A genuine exported model.skops whose TfidfVectorizer analyzer is rewritten to
    os.system (it would run every text as a shell command at predict time)."""
    model_path = exported / MODEL_FILE
    tampered = model_path.with_name("tampered.skops")

    def edit(schema):
        holder = find_key(schema, "analyzer")
        assert holder is not None
        holder["analyzer"] = {"__class__": "system", "__module__": "os",
                              "__loader__": "TypeNode", "__id__": 1}

    rewrite_schema(model_path, tampered, edit)
    assert "os.system" in sio.get_untrusted_types(file=tampered)
    with pytest.raises(ModelLoadError, match=r"refusing to load.*os\.system"):
        load_model(tampered)
    # Even with the card's hash updated to match, load_exported refuses it.
    shutil.move(tampered, model_path)
    update_card_hash(exported)
    with pytest.raises(ModelLoadError, match=r"untrusted types.*os\.system"):
        load_exported(exported)


def test_exported_model_with_schema_class_builtins_eval_is_refused(exported):
    model_path = exported / MODEL_FILE

    def edit(schema):
        assert schema["__class__"] == "Pipeline"
        schema["__module__"], schema["__class__"] = "builtins", "eval"

    tampered = exported / "evil.skops"
    rewrite_schema(model_path, tampered, edit)
    with pytest.raises(ModelLoadError) as info:
        load_model(tampered)
    assert "builtins.eval" in str(info.value)
    assert "refusing to load" in str(info.value)


def test_untampered_rewrite_still_loads(exported, model):
    """The zip round trip used by the tamper tests does not by itself break loading."""
    copy = exported / "copy.skops"
    rewrite_schema(exported / MODEL_FILE, copy, lambda schema: None)
    np.testing.assert_array_equal(load_model(copy).predict_proba(TEXTS),
                                  model.predict_proba(TEXTS))


# --- changed or missing files --------------------------------------------------------

def test_model_file_changed_after_export_is_refused(exported):
    other = train_end_model(TEXTS, np.eye(2)[[0, 0, 0, 1, 1, 1]], np.ones(6, bool))
    save_model(other, exported / MODEL_FILE)  # a valid model, but not the exported one
    load_model(exported / MODEL_FILE)  # loadable on its own...
    with pytest.raises(ModelLoadError) as info:
        load_exported(exported)  # ...but not as the exported model
    message = str(info.value)
    assert "sha256 differs" in message and str(exported / MODEL_FILE) in message


def test_appended_byte_is_noticed(exported):
    with open(exported / MODEL_FILE, "ab") as f:
        f.write(b"\0")
    with pytest.raises(ModelLoadError, match="changed after export"):
        load_exported(exported)


def test_missing_card(exported):
    (exported / CARD_FILE).unlink()
    with pytest.raises(ModelLoadError, match=r"no model_card.json"):
        load_exported(exported)


def test_missing_folder(tmp_path):
    with pytest.raises(ModelLoadError, match="no model_card.json"):
        load_exported(tmp_path / "nowhere")


def test_unreadable_card(exported):
    (exported / CARD_FILE).write_text("{not json")
    with pytest.raises(ModelLoadError, match="unreadable model card"):
        load_exported(exported)


def test_missing_model_file(exported):
    (exported / MODEL_FILE).unlink()
    with pytest.raises(ModelLoadError, match="model file not found"):
        load_exported(exported)


def test_garbage_model_file(tmp_path):
    path = tmp_path / "garbage.skops"
    path.write_bytes(b"this is not a zip file")
    with pytest.raises(ModelLoadError, match="not a readable skops model file"):
        load_model(path)


def test_pickle_file_is_not_loaded(tmp_path, model):
    import pickle

    path = tmp_path / "model.skops"
    path.write_bytes(pickle.dumps(model))
    with pytest.raises(ModelLoadError):
        load_model(path)
