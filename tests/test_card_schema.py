"""A tampered model_card.json is refused on load with one line naming the card and the
field (issue 12, item 22), never a traceback or silently wrong labels."""

from __future__ import annotations

import hashlib
import json
import shutil

import numpy as np
import pytest
from sklearn.preprocessing import StandardScaler

from labeling.errors import ModelLoadError
from labeling.export import export_model, load_exported, save_model
from labeling.train.end_model import train_end_model

TEXTS = ["subscribe to my channel", "check out my channel", "free money on my channel",
         "love this song", "great song", "this song is beautiful"]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    model = train_end_model(TEXTS, np.eye(2)[[1, 1, 1, 0, 0, 0]], np.ones(6, bool))
    return export_model(model, tmp_path_factory.mktemp("export") / "model",
                        {"task": "tiny", "labels": ["ham", "spam"]})


@pytest.fixture
def folder(pristine, tmp_path):
    return shutil.copytree(pristine, tmp_path / "model")


def _edit_card(folder, edit):
    path = folder / "model_card.json"
    card = json.loads(path.read_text())
    path.write_text(json.dumps(edit(card)))
    return path


def _refused(folder, runtime, *fragments):
    with pytest.raises(ModelLoadError) as info:
        load_exported(folder, runtime)
    message = str(info.value)
    assert "\n" not in message and ("model_card.json" in message or "model.skops" in message)
    for fragment in fragments:
        assert fragment in message, (fragment, message)


@pytest.mark.parametrize("runtime", ["sklearn", "onnx"])
@pytest.mark.parametrize("edit, fragments", [
    (lambda c: c | {"labels": ["ham"]}, ["labels"]),                  # short label list
    (lambda c: c | {"labels": "hamspam"}, ["labels"]),                # a string, not a list
    (lambda c: [c], ["JSON object"]),                                 # a list, not an object
    (lambda c: c | {"labels": ["ham", "ham"]}, ["labels"]),           # repeated labels
    (lambda c: c | {"files": {"../evil": c["files"]["model.skops"]}}, ["files"]),
])
def test_tampered_card_fields_are_one_line_errors(folder, runtime, edit, fragments):
    _edit_card(folder, edit)
    _refused(folder, runtime, *fragments)


def test_a_wrong_onnx_input_name_is_refused(folder):
    _edit_card(folder, lambda c: c | {"onnx": c["onnx"] | {"input": "texts"}})
    _refused(folder, "onnx", "onnx.input")


def test_a_model_file_replaced_by_another_estimator_is_refused(folder, tmp_path):
    scaler = StandardScaler().fit(np.eye(3))
    digest = save_model(scaler, folder / "model.skops")
    assert digest == hashlib.sha256((folder / "model.skops").read_bytes()).hexdigest()
    _edit_card(folder, lambda c: c | {"model_sha256": digest,
                                      "files": c["files"] | {"model.skops": digest}})
    _refused(folder, "sklearn", "not a classifier")


def test_the_untouched_card_loads(folder):
    assert load_exported(folder, "sklearn").card["labels"] == ["ham", "spam"]
