"""Exporting into a folder that holds an earlier export's ONNX files: files the new
export does not write are removed, so the folder holds one model's files only."""

from __future__ import annotations

import hashlib

from labeling.export.card_schema import ONNX_FILE
from labeling.export.onnx_transformer import export_onnx
from labeling.export.transformer_runtime import INT8_FILE, TOKENIZER_FILE


def _stale(folder):
    for name in (ONNX_FILE, INT8_FILE, TOKENIZER_FILE):
        (folder / name).write_text("from an earlier export (a fine-tuned MiniLM)")


def test_a_tfidf_export_removes_an_earlier_transformers_int8_and_tokenizer(tmp_path):
    _stale(tmp_path)

    def save_onnx(model, path):
        path.write_bytes(b"onnx")
        return hashlib.sha256(b"onnx").hexdigest(), {"contains": "tfidf"}

    files, _ = export_onnx(object(), tmp_path, save_onnx, None)
    assert set(files) == {ONNX_FILE}
    assert (tmp_path / ONNX_FILE).read_bytes() == b"onnx"
    # before: both stayed beside the new model, unlisted in its card
    assert not (tmp_path / INT8_FILE).exists() and not (tmp_path / TOKENIZER_FILE).exists()


def test_a_model_without_onnx_leaves_no_onnx_file(tmp_path):
    _stale(tmp_path)

    def save_onnx(model, path):
        raise ValueError("an average of end models has no ONNX export")

    files, info = export_onnx(object(), tmp_path, save_onnx, None)
    assert files == {} and "no ONNX export" in info["error"]
    assert sorted(p.name for p in tmp_path.iterdir()) == []
