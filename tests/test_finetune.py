"""``minilm_finetune``: the estimator contract, reproducibility, ONNX fp32/int8 parity, the
pipeline and `labeling predict` on its export, and bad input.

Kept tiny for a shared 2-core machine: a few dozen rows, one epoch, 16 tokens. The
fine-tune is fit once per module (``fitted``) and once more for reproducibility.

Tolerances: ONNX fp32 against torch within 1e-4 (absolute, probabilities); int8
within :data:`labeling.export.onnx_transformer.INT8_TOLERANCE` (0.05): dynamic
quantization rounds every weight matrix and activation to 8 bits, which moves
probabilities by ~0.01-0.03 on the benchmarks (docs/finetune.md).
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone
from typer.testing import CliRunner

from labeling.cli import app
from labeling.export import load_exported, load_model, save_model
from labeling.export.card import CARD_FILE
from labeling.export.onnx_transformer import (INT8_FILE, INT8_TOLERANCE, TOKENIZER_FILE,
                                              TransformerOnnxModel, save_transformer_onnx,
                                              transformer_parity)
from labeling.train.end_model import make_end_model
from labeling.train.finetune import MiniLMFineTuned
from labeling.train.finetune_data import (length_batches, load_tokenizer, merge_rows, model_dir,
                                          token_lengths)

sys.path.insert(0, str(Path(__file__).parent))
from conftest import (DEFAULT_LFS, HAM_TEXTS, SPAM_TEXTS, default_config,  # noqa: E402
                      default_frames, write_task)

TINY = dict(epochs=1, max_seq_len=16, batch_size=8, progress=False)
TEXTS = SPAM_TEXTS + HAM_TEXTS + [t.upper() for t in SPAM_TEXTS + HAM_TEXTS]
LABELS = np.array(([1] * len(SPAM_TEXTS) + [0] * len(HAM_TEXTS)) * 2)
EDGE = ["", " ", "a", "tab\there new\nline", "ÜNÏCODE café 🔥 İ 日本語", "x" * 5000,
        "subscribe to my channel " * 40, "i love this song"]


def run_cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def fitted():
    return MiniLMFineTuned(seed=0, **TINY).fit(TEXTS, LABELS)


@pytest.fixture(scope="module")
def exported(fitted, tmp_path_factory):
    out = tmp_path_factory.mktemp("finetune_onnx")
    written = save_transformer_onnx(fitted, out)
    return out, written


def test_registered_and_clone_gives_unfitted_copy_with_same_params():
    model = make_end_model("minilm_finetune", seed=3, epochs=2)
    assert isinstance(model, MiniLMFineTuned) and model.seed == 3 and model.epochs == 2
    copy = clone(model)
    assert copy.get_params() == model.get_params() and not hasattr(copy, "state_")


def test_fit_returns_self_and_columns_follow_classes(fitted):
    assert fitted.classes_.tolist() == [0, 1]
    proba = fitted.predict_proba(TEXTS[:3] + EDGE)
    assert proba.shape == (3 + len(EDGE), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    assert fitted.predict(TEXTS[:3]).tolist() == fitted.classes_[proba[:3].argmax(1)].tolist()
    assert fitted.predict_proba([]).shape == (0, 2)
    model = MiniLMFineTuned(seed=0, val_fraction=0.0, **TINY)  # k = 3, string labels
    labels = ["spam", "spam", "ham", "ham", "question", "question"]
    texts = TEXTS[:2] + HAM_TEXTS[:2] + ["what time is it", "where is the station"]
    assert model.fit(texts, labels) is model and model.n_train_rows_ == 6
    assert model.classes_.tolist() == ["ham", "question", "spam"]
    assert model.predict_proba(EDGE).shape == (len(EDGE), 3)
    assert set(model.predict(["free money"])) <= {"ham", "question", "spam"}


def test_trains_on_the_rows_not_held_out_only(fitted):
    # recorded where the training loop takes its batches (#16 review: a count derived
    # from the held-out mask says nothing about what was trained on)
    held = fitted.held_out_rows_
    assert len(held) == 4  # 10% of each class's 16 distinct texts: early stopping ran
    np.testing.assert_array_equal(fitted.trained_rows_,
                                  np.setdiff1d(np.arange(len(TEXTS)), held))
    assert fitted.n_train_rows_ == len(TEXTS) - 4


def test_same_seed_same_weights(fitted):
    again = MiniLMFineTuned(seed=0, **TINY).fit(TEXTS, LABELS)
    assert all(np.array_equal(fitted.state_[k], again.state_[k]) for k in fitted.state_)
    np.testing.assert_array_equal(fitted.predict_proba(EDGE), again.predict_proba(EDGE))
    assert again.history_ == fitted.history_


def test_merge_rows_gives_copies_one_soft_row():
    texts, targets, weights, classes = merge_rows(["a", "a", "b", "a"], [0, 1, 1, 0],
                                                  [0.5, 0.3, 2.0, 0.2])
    assert texts.tolist() == ["a", "b"] and classes.tolist() == [0, 1]
    np.testing.assert_allclose(targets, [[0.7, 0.3], [0.0, 1.0]])
    np.testing.assert_allclose(weights, [1.0, 2.0])
    _, soft, w, classes = merge_rows(["x", "y"], np.array([[0.2, 0.8], [1.0, 0.0]]))
    assert classes.tolist() == [0, 1] and w.tolist() == [1.0, 1.0]
    np.testing.assert_allclose(soft, [[0.2, 0.8], [1.0, 0.0]])


def test_batches_group_texts_of_similar_token_length():
    texts = ["hi", "free money now " * 10, "ok", "subscribe to my channel " * 10] * 8
    lengths = token_lengths(load_tokenizer(model_dir(), 16), texts)
    assert sorted(set(lengths.tolist())) == [3, 16]  # [CLS] hi [SEP]; cut at 16
    batches = length_batches(lengths, 16, np.random.default_rng(0))
    assert sorted(np.concatenate(batches).tolist()) == list(range(32))
    assert all(len(set(lengths[b].tolist())) == 1 for b in batches)  # no short text padded


def test_skops_round_trip_same_probabilities(fitted, tmp_path):
    save_model(fitted, tmp_path / "m.skops")  # trusted types only: no pickle
    loaded = load_model(tmp_path / "m.skops")
    np.testing.assert_array_equal(loaded.predict_proba(EDGE), fitted.predict_proba(EDGE))


def test_onnx_export_of_one_model_gives_the_same_bytes(fitted, exported, tmp_path):
    """The card's sha256 of model.onnx and its int8 copy names the model: a second
    export of the same fitted model writes the same bytes (no time or random name)."""
    out, written = exported
    again = save_transformer_onnx(fitted, tmp_path)
    assert again["files"] == written["files"]
    for name in written["files"]:
        assert (tmp_path / name).read_bytes() == (out / name).read_bytes(), name


def test_onnx_fp32_within_1e4_and_int8_within_tolerance(fitted, exported):
    out, written = exported
    assert set(written["files"]) == {"model.onnx", INT8_FILE, TOKENIZER_FILE}
    texts = TEXTS + EDGE
    torch_proba = fitted.predict_proba(texts)
    for file, tol in (("model.onnx", 1e-4), (INT8_FILE, INT8_TOLERANCE)):
        proba = TransformerOnnxModel(out, file, written["info"]).predict_proba_full(texts, 2)
        np.testing.assert_allclose(proba, torch_proba, rtol=0, atol=tol)
    info = dict(written["info"], int8=dict(written["info"]["int8"]))
    transformer_parity(fitted, out, info, texts)
    assert info["parity"]["max_abs_diff"] < 1e-4 and info["parity"]["label_agreement"] == 1.0
    assert info["int8"]["parity"]["max_abs_diff"] < INT8_TOLERANCE
    assert (out / INT8_FILE).stat().st_size < (out / "model.onnx").stat().st_size / 3


@pytest.fixture(scope="module")
def finetune_run(tmp_path_factory):
    """The tiny task through `labeling run` with end_model minilm_finetune."""
    config = default_config()
    config["end_model"] = {"name": "minilm_finetune", "params": dict(TINY)}
    path = write_task(tmp_path_factory.mktemp("finetune_task"), default_frames(),
                      DEFAULT_LFS, config)
    result = run_cli("run", path, "--no-progress")
    assert result.exit_code == 0, result.output
    return path.parent / "run"


def test_pipeline_fits_once_and_exports_fp32_int8_with_parity_in_card(finetune_run):
    metrics = json.loads((finetune_run / "metrics.json").read_text())
    assert metrics["end_model"]["name"] == "minilm_finetune"
    assert "cv_skipped" in metrics["end_model"]
    assert metrics["learning_curve"]["skipped"].startswith(metrics["end_model"]["cv_skipped"])
    # its own twin, fit once on the dev gold alone (tests/test_finetune_gold_only.py)
    assert metrics["gold_only"]["name"] == "minilm_finetune" and "cv" not in metrics["gold_only"]
    card = json.loads((finetune_run / "model" / CARD_FILE).read_text())
    assert card["onnx"]["input"] == "tokens" and card["onnx"]["parity"]["max_abs_diff"] < 1e-4
    assert card["onnx"]["int8"]["parity"]["max_abs_diff"] < INT8_TOLERANCE
    assert "int8 copy" in (finetune_run / "model" / "MODEL_CARD.md").read_text()


@pytest.mark.parametrize("runtime", ["sklearn", "onnx", "onnx_int8"])
def test_predict_cli_on_the_exported_folder(finetune_run, runtime):
    model_dir = finetune_run / "model"
    texts = ["subscribe to my channel", "i love this song", ""]
    result = run_cli("predict", "--model", model_dir, "--runtime", runtime,
                     "--format", "jsonl", *texts)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert [r["text"] for r in rows] == texts and {r["label"] for r in rows} <= {"ham", "spam"}
    expected = load_exported(model_dir, runtime).predict_proba(texts)
    np.testing.assert_allclose([[r["probabilities"][k] for k in ("ham", "spam")] for r in rows],
                               expected, atol=1e-6)


def test_export_section_writes_an_int8_file_scaled_per_text(finetune_run, tmp_path):
    # [export] int8_scales = "per_text" (was a module constant nobody could set from a task)
    task = shutil.copytree(finetune_run.parent, tmp_path / "task")
    config = task / "labeling.toml"
    config.write_text(config.read_text() + '\n[export]\nint8_scales = "per_text"\n')
    result = run_cli("export", config, "--out", tmp_path / "model")
    assert result.exit_code == 0, result.output
    card = json.loads((tmp_path / "model" / CARD_FILE).read_text())
    assert "per text" in card["onnx"]["int8"]["quantization"]
    default = json.loads((finetune_run / "model" / CARD_FILE).read_text())
    assert "per onnxruntime call" in default["onnx"]["int8"]["quantization"]
    model = load_exported(tmp_path / "model", "onnx_int8")
    texts = ["subscribe to my channel", "i love this song", "check out my new video now"]
    alone = np.vstack([model.predict_proba([t]) for t in texts])
    np.testing.assert_allclose(model.predict_proba(texts), alone, rtol=0, atol=1e-6)
    config.write_text(config.read_text().replace('"per_text"', '"per_row"'))
    result = run_cli("export", config, "--out", tmp_path / "other")
    assert result.exit_code == 2 and "export.int8_scales" in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output


def test_tampered_int8_file_or_tokenizer_is_refused(finetune_run, tmp_path):
    copy = tmp_path / "model"
    shutil.copytree(finetune_run / "model", copy)
    (copy / TOKENIZER_FILE).write_text("{}")
    result = run_cli("predict", "--model", copy, "--runtime", "onnx_int8", "hello")
    assert result.exit_code == 2 and "tokenizer.json: sha256 differs" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_int8_runtime_on_a_tfidf_export_is_a_one_line_error(make_task):
    config = make_task()
    assert run_cli("run", config, "--no-progress").exit_code == 0
    result = run_cli("predict", "--model", config.parent / "run" / "model", "--runtime",
                     "onnx_int8", "hello")
    assert result.exit_code == 2 and "no int8 ONNX model" in result.output
    result = run_cli("predict", "--model", config.parent / "run" / "model", "--runtime",
                     "int4", "hello")
    assert result.exit_code == 2 and "--runtime must be" in result.output


def test_bad_params_and_data_are_errors(make_task):
    with pytest.raises(ValueError, match="max_seq_len"):
        MiniLMFineTuned(max_seq_len=2).fit(TEXTS, LABELS)
    with pytest.raises(ValueError, match="two classes"):
        MiniLMFineTuned(**TINY).fit(TEXTS[:3], [1, 1, 1])
    with pytest.raises(ValueError, match="differ in length"):
        MiniLMFineTuned(**TINY).fit(TEXTS, LABELS[:-1])
    with pytest.raises(ValueError, match="not fitted"):
        MiniLMFineTuned().predict_proba(["x"])
    config = make_task(config={"end_model": {"name": "minilm_finetune",
                                             "params": {"val_fraction": 0.9}}})
    result = run_cli("run", config, "--no-progress")
    assert result.exit_code == 2 and "end_model: minilm_finetune: val_fraction" in result.output
