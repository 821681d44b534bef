"""Export and safe loading: skops with fixed trusted types, ONNX next to it, card hashes
checked on load. (ONNX parity on the bundled data: test_export_onnx.py.)"""

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
from labeling.export.card import CARD_FILE, CARD_MARKDOWN, MODEL_FILE, ONNX_FILE
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


def update_card_hash(model_dir: Path, name: str = MODEL_FILE) -> None:
    """What an attacker who can write the folder would also do."""
    card_path = model_dir / CARD_FILE
    card = json.loads(card_path.read_text())
    card["files"][name] = sha256(model_dir / name)
    if name == MODEL_FILE:
        card["model_sha256"] = card["files"][name]
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
    assert sorted(p.name for p in exported.iterdir()) == sorted([MODEL_FILE, ONNX_FILE,
                                                                 CARD_FILE, CARD_MARKDOWN])
    card = json.loads((exported / CARD_FILE).read_text())
    assert card["model_file"] == MODEL_FILE and card["format"] == "skops"
    assert card["formats"] == ["skops", "onnx"]
    assert card["model_sha256"] == sha256(exported / MODEL_FILE)
    assert card["files"] == {MODEL_FILE: sha256(exported / MODEL_FILE),
                             ONNX_FILE: sha256(exported / ONNX_FILE)}
    assert card["onnx"]["contains"].startswith("the whole pipeline")
    assert card["onnx"]["input"] == "text" and card["onnx"]["classes"] == [0, 1]
    assert card["labels"] == ["ham", "spam"] and card["task"] == "tiny"
    for lib in ("python", "labeling", "scikit-learn", "skops", "numpy", "skl2onnx", "onnx",
                "onnxruntime", "sentence-transformers"):
        assert card["versions"][lib] and card["versions"][lib] != "not installed"
    assert card["exported_at"].endswith("+00:00")
    markdown = (exported / CARD_MARKDOWN).read_text()
    assert markdown.startswith("# Model card: tiny")
    assert "| end_model | test | 1.000 | 1.000 | 1.000 |" in markdown
    assert "labeling functions (1): kw_spam" in markdown
    assert f"- {ONNX_FILE}: sha256 {card['files'][ONNX_FILE]}" in markdown
    assert "## ONNX\nthe whole pipeline" in markdown
    assert "## Calibration" not in markdown  # none given


def test_card_markdown_shows_calibration(model, tmp_path):
    from labeling.export.calibration import calibration_report

    y = np.array([1, 1, 1, 0, 0, 0])
    proba = predict_proba_full(model, TEXTS, 2)
    card = {"task": "tiny", "labels": ["ham", "spam"],
            "calibration": {"test": calibration_report(y, proba)}}
    markdown = (export_model(model, tmp_path / "m", card) / CARD_MARKDOWN).read_text()
    report = card["calibration"]["test"]
    assert "## Calibration" in markdown
    assert f"- test (6 rows): ECE {report['ece']:.3f}, Brier {report['brier']:.3f}" in markdown
    assert f"**{report['verdict']}**" in markdown
    assert "| confidence | test n | test conf | test acc |" in markdown
    assert json.loads((tmp_path / "m" / CARD_FILE).read_text())["calibration"] == card[
        "calibration"]


def test_model_that_does_not_convert_still_exports_skops(tmp_path):
    """A vectorizer setting the ONNX graph does not reproduce: no model.onnx, and the
    card says why; --runtime onnx then refuses with that reason."""
    model = train_end_model(TEXTS, np.eye(2)[[1, 1, 1, 0, 0, 0]], np.ones(6, bool))
    model.steps[0][1].transformer_list[0][1].set_params(strip_accents="unicode")
    out = export_model(model, tmp_path / "m", {"task": "t", "labels": ["ham", "spam"]})
    card = json.loads((out / CARD_FILE).read_text())
    assert not (out / ONNX_FILE).exists() and card["formats"] == ["skops"]
    assert "cannot export TF-IDF 'word' to ONNX with parity" in card["onnx"]["error"]
    assert "not exported: cannot export" in (out / CARD_MARKDOWN).read_text()
    load_exported(out)  # the skops model is fine
    with pytest.raises(ModelLoadError, match=r"no ONNX model in this export.*strip_accents"):
        load_exported(out, "onnx")


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
                              "__loader__": "TypeNode", "__id__": 10**15}  # no node's id

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


def test_onnx_file_changed_after_export_is_refused(exported):
    with open(exported / ONNX_FILE, "ab") as f:
        f.write(b"\0")
    for runtime in ("onnx", "sklearn"):  # the sklearn runtime does not read it: refused too
        with pytest.raises(ModelLoadError, match=r"model.onnx: sha256 differs"):
            load_exported(exported, runtime)


def test_onnx_swapped_for_another_models_onnx_is_refused(exported, tmp_path):
    other = train_end_model(TEXTS, np.eye(2)[[0, 0, 0, 1, 1, 1]], np.ones(6, bool))
    other_dir = export_model(other, tmp_path / "other", {"task": "t", "labels": ["a", "b"]})
    shutil.copy(other_dir / ONNX_FILE, exported / ONNX_FILE)
    with pytest.raises(ModelLoadError, match="changed after export"):
        load_exported(exported, "onnx")


@pytest.mark.parametrize("name", [MODEL_FILE, ONNX_FILE])
def test_card_whose_sha_does_not_match_is_refused(exported, name):
    card = json.loads((exported / CARD_FILE).read_text())
    card["files"][name] = "0" * 64
    (exported / CARD_FILE).write_text(json.dumps(card))
    runtime = "sklearn" if name == MODEL_FILE else "onnx"
    with pytest.raises(ModelLoadError, match=f"{name}: sha256 differs from model_card.json"):
        load_exported(exported, runtime)


def test_card_without_a_hash_for_the_file_is_refused(exported):
    card = json.loads((exported / CARD_FILE).read_text())
    del card["files"][ONNX_FILE]
    card["formats"] = ["skops", "onnx"]
    (exported / CARD_FILE).write_text(json.dumps(card))
    with pytest.raises(ModelLoadError, match="no ONNX model in this export"):
        load_exported(exported, "onnx")
    card["files"].pop(MODEL_FILE)
    card.pop("model_sha256")
    (exported / CARD_FILE).write_text(json.dumps(card))
    with pytest.raises(ModelLoadError, match="records no sha256"):
        load_exported(exported)


def test_garbage_onnx_with_matching_hash_is_a_load_error(exported):
    (exported / ONNX_FILE).write_bytes(b"not an onnx file")
    update_card_hash(exported, ONNX_FILE)
    with pytest.raises(ModelLoadError, match="cannot load this ONNX file: Protobuf parsing"):
        load_exported(exported, "onnx")


def test_unknown_runtime(exported):
    with pytest.raises(ModelLoadError, match="runtime must be one of sklearn, onnx"):
        load_exported(exported, "torch")


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


def test_trusted_types_are_the_fixed_base_plus_the_end_models_types():
    from labeling.export.skops_io import BASE_TRUSTED_TYPES, ESTIMATOR_TYPES, TRUSTED_TYPES

    assert set(TRUSTED_TYPES) == set(BASE_TRUSTED_TYPES) | set(ESTIMATOR_TYPES)
    assert "labeling.train.embeddings.MiniLMEmbedder" in TRUSTED_TYPES
    assert not any(t.startswith(("os.", "posix.", "builtins.eval", "builtins.exec",
                                 "subprocess.")) for t in TRUSTED_TYPES)


# --- a tampered model card: one-line errors naming the file and the field -------------

def tamper_card(model_dir: Path, edit) -> Path:
    """Apply ``edit(card)`` to the card in place."""
    card_path = model_dir / CARD_FILE
    card = json.loads(card_path.read_text())
    edit(card)
    card_path.write_text(json.dumps(card))
    return card_path


def assert_card_error(model_dir: Path, field: str, runtime: str = "sklearn") -> str:
    with pytest.raises(ModelLoadError) as info:
        load_exported(model_dir, runtime)
    message = str(info.value)
    assert "\n" not in message and str(model_dir / CARD_FILE) in message, message
    assert f"field {field}" in message, message
    return message


@pytest.mark.parametrize("runtime", ["sklearn", "onnx"])
@pytest.mark.parametrize("labels", [["ham"], [], "hs", "ham,spam", ["ham", 1], ["ham", "ham"],
                                    None, {"0": "ham", "1": "spam"}])
def test_card_with_bad_labels_is_refused(exported, labels, runtime):
    # a string used to give labels 'h' and 's' silently; a short list an IndexError
    tamper_card(exported, lambda card: card.update(labels=labels))
    assert_card_error(exported, "labels", runtime)


def test_card_without_labels_is_refused(exported):
    tamper_card(exported, lambda card: card.pop("labels"))
    assert_card_error(exported, "labels")


@pytest.mark.parametrize("replacement", [[], [{"labels": ["ham", "spam"]}], "card", 3, None])
def test_card_that_is_not_an_object_is_refused(exported, replacement):
    (exported / CARD_FILE).write_text(json.dumps(replacement))
    with pytest.raises(ModelLoadError, match=r"model_card.json: .*a JSON object") as info:
        load_exported(exported)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("field,value", [("files", ["model.skops"]), ("files", {"model.skops": 1}),
                                         ("onnx", ["text"]), ("model_file", "../model.skops"),
                                         ("model_file", 7), ("model_sha256", ["x"]),
                                         ("end_model", "tfidf_logreg")])
def test_card_field_of_the_wrong_type_is_refused(exported, field, value):
    tamper_card(exported, lambda card: card.update({field: value}))
    assert_card_error(exported, field)


@pytest.mark.parametrize("name", ["input_ids", "embedding"])
def test_card_with_a_wrong_onnx_input_name_is_refused(exported, name):
    # "input_ids" is no input we write; "embedding" is, but not this file's input
    tamper_card(exported, lambda card: card["onnx"].update(input=name))
    message = assert_card_error(exported, "onnx.input", "onnx")
    assert "input_ids" not in message or "text" in message


def test_card_whose_onnx_classes_exceed_the_labels_is_refused(exported):
    tamper_card(exported, lambda card: card["onnx"].update(classes=[0, 1, 2]))
    assert_card_error(exported, "onnx.classes", "onnx")


def test_card_with_fewer_labels_than_the_model_has_classes_is_refused(tmp_path):
    texts = TEXTS + ["what time is it", "where is the station", "how old are you"]
    three = train_end_model(texts, np.eye(3)[[1, 1, 1, 0, 0, 0, 2, 2, 2]], np.ones(9, bool))
    out = export_model(three, tmp_path / "m", {"task": "three", "labels": ["a", "b", "c"]})
    tamper_card(out, lambda card: card.update(labels=["a", "b"]))
    assert_card_error(out, "onnx.classes")  # the card's own ONNX classes [0, 1, 2] say so
    tamper_card(out, lambda card: (card.update(onnx={"contains": None, "error": "none"}),
                                   card["files"].pop(ONNX_FILE)))
    assert_card_error(out, "labels")  # and without ONNX info, the loaded model's classes


def test_swapped_estimator_that_is_not_a_classifier_is_refused(exported, model):
    # a trusted type (the TF-IDF step alone) with the card's hash updated to match
    save_model(model.steps[0][1], exported / MODEL_FILE)
    update_card_hash(exported)
    with pytest.raises(ModelLoadError, match=r"model.skops: .*FeatureUnion.* not a classifier"):
        load_exported(exported)


def test_tampered_card_is_one_line_from_the_cli(exported):
    from typer.testing import CliRunner

    from labeling.cli import app

    tamper_card(exported, lambda card: card.update(labels="hs"))
    result = CliRunner().invoke(app, ["predict", "--model", str(exported), "a song"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "error:" in result.output and "field labels:" in result.output


def test_an_export_stopped_before_its_card_says_so_and_what_to_do(exported, tmp_path):
    """Before: a model file written by an export stopped before the card (Ctrl+C, a CI
    timeout) was reported only as "the model file was changed after export"."""
    other = train_end_model(TEXTS, np.eye(2)[[1, 0, 0, 1, 1, 0]], np.ones(6, bool))
    save_model(other, exported / MODEL_FILE)  # the new model written, the old card kept
    with pytest.raises(ModelLoadError) as info:
        load_exported(exported)
    assert "an export into this folder stopped before writing its card: export again" in str(
        info.value)
