"""A model folder received from another team: every file the card lists is checked,
whichever runtime reads it; another labeling version says so in one line; a model
file this onnxruntime cannot read is refused in one readable line."""

from __future__ import annotations

import json
import shutil

import numpy as np
import onnx
import pytest

from labeling.errors import ModelLoadError
from labeling.export import export_model, load_exported
from labeling.export.card import CARD_FILE, MODEL_FILE, ONNX_FILE
from labeling.export.folder_checks import installed_version, version_warning
from labeling.export.skops_io import file_sha256
from labeling.train.end_model import train_end_model

TEXTS = ["subscribe to my channel", "check out my channel", "free money channel",
         "love this song", "great song", "beautiful song"] * 3


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    model = train_end_model(TEXTS, np.eye(2)[[1, 1, 1, 0, 0, 0] * 3], np.ones(18, bool))
    return export_model(model, tmp_path_factory.mktemp("h145") / "m",
                        {"task": "t", "labels": ["ham", "spam"]})


def _copy(exported, tmp_path):
    return shutil.copytree(exported, tmp_path / "copy")


def _edit_card(folder, change):
    card = json.loads((folder / CARD_FILE).read_text())
    change(card)
    (folder / CARD_FILE).write_text(json.dumps(card))


@pytest.mark.parametrize("changed,runtime", [(MODEL_FILE, "onnx"), (ONNX_FILE, "sklearn")])
def test_a_changed_file_the_runtime_does_not_read_is_refused(exported, tmp_path, changed,
                                                              runtime):
    folder = _copy(exported, tmp_path)
    data = bytearray((folder / changed).read_bytes())
    data[-40] ^= 1
    (folder / changed).write_bytes(bytes(data))
    with pytest.raises(ModelLoadError, match=f"{changed}: sha256 differs from {CARD_FILE}"):
        load_exported(folder, runtime)


def test_a_card_whose_hash_of_an_unread_file_is_wrong_is_refused(exported, tmp_path):
    folder = _copy(exported, tmp_path)
    _edit_card(folder, lambda card: card["files"].update({ONNX_FILE: "0" * 64}))
    with pytest.raises(ModelLoadError, match=f"{ONNX_FILE}: sha256 differs"):
        load_exported(folder, "sklearn")


def test_a_listed_file_left_out_loads_with_the_runtime_that_does_not_read_it(exported,
                                                                             tmp_path):
    folder = _copy(exported, tmp_path)
    (folder / MODEL_FILE).unlink()  # a folder shipped for --runtime onnx alone
    assert load_exported(folder, "onnx").predict_proba(["free money"]).shape == (1, 2)
    with pytest.raises(ModelLoadError, match=f"{MODEL_FILE}: model file not found"):
        load_exported(folder, "sklearn")


@pytest.mark.parametrize("exported_with,warned", [
    ("0.0.5", True), ("99.1.0", True), (None, False), ("same", False), ("same+local", False)])
def test_another_minor_or_major_version_warns_in_one_line(exported, tmp_path, capfd,
                                                          exported_with, warned):
    current = installed_version()
    folder = _copy(exported, tmp_path)
    version = {"same": current, "same+local": f"{current}+abc"}.get(exported_with,
                                                                   exported_with)
    _edit_card(folder, lambda card: card["versions"].update({"labeling": version})
               if version else card.pop("versions"))
    load_exported(folder, "sklearn")
    err = capfd.readouterr().err
    if warned:
        assert err.count("\n") == 1 and err.startswith(f"warning: {folder / CARD_FILE}: "
                                                       f"exported with labeling {version}, "
                                                       f"loaded with labeling {current}; ")
    else:
        assert "exported with labeling" not in err


def test_the_warning_says_what_to_do_both_ways(tmp_path):
    path = tmp_path / CARD_FILE
    newer = version_warning({"versions": {"labeling": "1.3.0"}}, path, current="1.2.4")
    older = version_warning({"versions": {"labeling": "1.1.9"}}, path, current="1.2.4")
    assert newer.endswith("or install labeling 1.3")
    assert older.endswith("or export it again with labeling 1.2.4")
    assert version_warning({"versions": {"labeling": "1.2.0"}}, path, current="1.2.4") is None
    assert "exported with labeling garbage" in version_warning(
        {"versions": {"labeling": "garbage"}}, path, current="1.2.4")


def test_an_onnx_file_of_a_newer_ir_version_is_refused_in_one_readable_line(exported,
                                                                             tmp_path):
    folder = _copy(exported, tmp_path)
    model = onnx.load(folder / ONNX_FILE)
    model.ir_version = 99
    onnx.save(model, folder / ONNX_FILE)
    _edit_card(folder, lambda card: card["files"].update(
        {ONNX_FILE: file_sha256(folder / ONNX_FILE)}))  # as a newer export would record
    with pytest.raises(ModelLoadError) as caught:
        load_exported(folder, "onnx")
    message = str(caught.value)
    assert "\n" not in message and "::" not in message and "onnxruntime_src" not in message
    assert message.startswith(f"{folder / ONNX_FILE}: onnxruntime ")
    assert "IR version: 99" in message


@pytest.mark.parametrize("name,content", [("blank.txt", "\n  \n"), ("header.csv", "id,text\n")])
def test_an_input_file_without_texts_is_named_not_told_to_pass_one(exported, tmp_path, name,
                                                                   content):
    from typer.testing import CliRunner

    from labeling.cli import app

    (tmp_path / name).write_text(content)
    result = CliRunner().invoke(app, ["predict", "-m", str(exported), "-i",
                                      str(tmp_path / name)])
    assert result.exit_code == 0 and result.stdout == ""
    assert result.stderr == f"{tmp_path / name}: no texts to classify (no row, or only blank " \
                            "lines)\n"
