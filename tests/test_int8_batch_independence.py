"""An int8 transformer file with per-text activation scales answers a text the same alone
and inside any call (issue #16).

``onnxruntime.quantization.quantize_dynamic`` scales each MatMul's activations by the range
of the whole call (every text of the chunk and their padding), so a text's int8
probabilities move with its neighbours; ``_quantize(int8_scales="per_text")`` (the export
with ``[export] int8_scales = "per_text"``; not the default, docs/finetune.md says why) rewrites that
file to scale per text over its real tokens (labeling/export/int8_per_text.py). Checked
on a small hand-built graph of the export's interface (real MiniLM tokenizer; embeddings,
two hidden MatMuls with ReLU, masked mean, linear head) and on a tiny fine-tuned MiniLM
exported as `labeling export` does.

"Within float rounding": a text alone and padded inside a chunk gives fp32 MatMul sums in
another order, and a quantized value sitting on a rounding boundary may then land one
step apart; the bounds below (1e-4 on the hand-built graph, 2e-3 on the fine-tune) are
far under what the per-call scales moved (0.01-0.1, asserted on the same texts).
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from labeling.export.int8_per_text import per_text_activations
from labeling.export.onnx_transformer import _quantize
from labeling.export.transformer_runtime import TransformerOnnxModel
from labeling.train.finetune_data import encode, model_dir

sys.path.insert(0, str(Path(__file__).parent))
from conftest import synthetic_int8_tolerance  # noqa: E402

K, DIM, HIDDEN, MAX_SEQ_LEN = 3, 16, 32, 24
WORDS = ("the quick brown fox jumps over a lazy dog while subscribers watch my new channel "
         "FREE money!!! click http://spam.example now").split()


def _graph(vocab: int) -> onnx.ModelProto:
    rng = np.random.default_rng(0)
    arrays = {"E": rng.normal(size=(vocab, DIM)), "W1": rng.normal(size=(DIM, HIDDEN)),
              "W2": rng.normal(size=(HIDDEN, DIM)) / 4, "H": rng.normal(size=(DIM, K)),
              "axis1": np.array([1]), "axis2": np.array([2])}
    init = [numpy_helper.from_array(a.astype(np.int64 if a.dtype.kind == "i" else np.float32),
                                    name) for name, a in arrays.items()]
    nodes = [helper.make_node("Gather", ["E", "input_ids"], ["emb"]),
             helper.make_node("MatMul", ["emb", "W1"], ["h1"]),
             helper.make_node("Relu", ["h1"], ["r1"]),
             helper.make_node("MatMul", ["r1", "W2"], ["h2"]),
             helper.make_node("Add", ["h2", "emb"], ["hidden"]),
             helper.make_node("Cast", ["attention_mask"], ["m"], to=TensorProto.FLOAT),
             helper.make_node("Unsqueeze", ["m", "axis2"], ["m3"]),
             helper.make_node("Mul", ["hidden", "m3"], ["masked"]),
             helper.make_node("ReduceSum", ["masked", "axis1"], ["total"], keepdims=0),
             helper.make_node("ReduceSum", ["m", "axis1"], ["count"], keepdims=1),
             helper.make_node("Div", ["total", "count"], ["mean"]),
             helper.make_node("MatMul", ["mean", "H"], ["logits"]),
             helper.make_node("Softmax", ["logits"], ["probabilities"], axis=-1),
             helper.make_node("ArgMax", ["logits"], ["label"], axis=1, keepdims=0)]
    graph = helper.make_graph(
        nodes, "tiny", [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["N", "T"]),
                        helper.make_tensor_value_info("attention_mask", TensorProto.INT64,
                                                      ["N", "T"])],
        [helper.make_tensor_value_info("label", TensorProto.INT64, ["N"]),
         helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", K])], init)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


INFO = {"classes": list(range(K)), "max_seq_len": MAX_SEQ_LEN}


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """model.onnx, the export's int8 file (model.int8.onnx) and the plain dynamic one."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = tmp_path_factory.mktemp("int8_batch")
    shutil.copy(model_dir() / "tokenizer.json", tmp / "tokenizer.json")
    vocab = len(json.loads((tmp / "tokenizer.json").read_text())["model"]["vocab"])
    onnx.save(_graph(vocab), tmp / "model.onnx")
    _quantize(tmp / "model.onnx", tmp / "model.int8.onnx", int8_scales="per_text")
    quantize_dynamic(str(tmp / "model.onnx"), str(tmp / "dynamic.onnx"),
                     weight_type=QuantType.QInt8, per_channel=True)
    return tmp


@pytest.fixture(scope="module")
def texts() -> list[str]:
    """Texts of 0 to 40 words (some cut at MAX_SEQ_LEN tokens), a few shouting."""
    rng = np.random.default_rng(1)
    out = [" ".join(rng.choice(WORDS, size=rng.integers(0, 40))) for _ in range(60)]
    return out + [t.upper() + " !!!" for t in out[:10]]


def alone_and_batched(folder, file, texts, chunk):
    """Each text in its own call, and all texts in calls of ``chunk`` (sorted by tokens,
    padded to each chunk's longest: the runtime's way)."""
    model = TransformerOnnxModel(folder, file, INFO, threads=1)
    alone = np.vstack([model.predict_proba_full([t], K) for t in texts])
    model.BATCH = chunk
    return alone, model.predict_proba_full(texts, K)


@pytest.mark.parametrize("chunk", [8, 64])
def test_export_int8_answers_a_text_the_same_alone_and_in_a_batch(folder, texts, chunk):
    alone, batched = alone_and_batched(folder, "model.int8.onnx", texts, chunk)
    assert np.array_equal(alone.argmax(1), batched.argmax(1))
    assert np.abs(alone - batched).max() <= 1e-4


def test_plain_dynamic_quantization_moves_with_the_batch(folder, texts):
    """The check above can fail: the plain dynamic file (the export's default) does."""
    alone, batched = alone_and_batched(folder, "dynamic.onnx", texts, 64)
    assert np.abs(alone - batched).max() > 1e-2


def test_per_text_scales_equal_the_dynamic_file_run_one_text_at_a_time(folder, texts):
    """Alone, a text's range is the dynamic file's per-call range (no neighbours, no
    padding): the rewrite computes the same quantization, for each text of a batch."""
    dynamic = TransformerOnnxModel(folder, "dynamic.onnx", INFO, threads=1)
    one_by_one = np.vstack([dynamic.predict_proba_full([t], K) for t in texts])
    _, batched = alone_and_batched(folder, "model.int8.onnx", texts, 64)
    assert np.abs(one_by_one - batched).max() <= 1e-4


def test_int8_stays_close_to_fp32(folder, texts):
    fp32 = TransformerOnnxModel(folder, "model.onnx", INFO, threads=1).predict_proba_full(texts,
                                                                                          K)
    _, int8 = alone_and_batched(folder, "model.int8.onnx", texts, 8)
    assert np.abs(fp32 - int8).max() <= synthetic_int8_tolerance()


def test_padding_is_quantized_to_zero_and_never_reaches_a_real_token(folder):
    """The same text padded by 0 or 30 positions (whatever the padded ids) answers the same."""
    model = TransformerOnnxModel(folder, "model.int8.onnx", INFO, threads=1)
    ids, mask = encode(model.tokenizer, ["subscribe to my channel"])
    rng = np.random.default_rng(2)
    padded_ids = np.hstack([ids, rng.integers(1000, 2000, size=(1, 30))])
    padded_mask = np.hstack([mask, np.zeros((1, 30), mask.dtype)])
    run = [model.proba_output]
    want = model.session.run(run, {"input_ids": ids, "attention_mask": mask})[0]
    got = model.session.run(run, {"input_ids": padded_ids, "attention_mask": padded_mask})[0]
    assert np.abs(want - got).max() <= 1e-5


def test_a_graph_without_attention_mask_is_refused(folder):
    model = onnx.load(folder / "dynamic.onnx")
    model.graph.input[1].name = "mask"
    with pytest.raises(ValueError, match="attention_mask"):
        per_text_activations(model)


# --- a tiny fine-tuned MiniLM, exported as `labeling export` does ----------------------

@pytest.fixture(scope="module")
def finetuned(tmp_path_factory):
    """Exported with ``int8_scales="per_text"``, and the default quantization's card entry."""
    from labeling.export import onnx_transformer
    from labeling.train.finetune import MiniLMFineTuned

    sys_texts = [f"{w} {v}" for w in WORDS[:8] for v in WORDS[8:16]]
    labels = np.array([i % 2 for i in range(len(sys_texts))])
    model = MiniLMFineTuned(seed=0, epochs=1, max_seq_len=32, batch_size=8, progress=False)
    model.fit(sys_texts, labels)
    out = tmp_path_factory.mktemp("finetune_int8")
    info = onnx_transformer.save_transformer_onnx(model, out, int8_scales="per_text")["info"]
    default = onnx_transformer._quantize(out / "model.onnx", out / "dynamic.onnx")
    return out, info, default


def test_finetuned_int8_alone_equals_in_a_batch(finetuned, texts):
    out, info, default = finetuned
    assert "per text" in info["int8"]["quantization"]  # the card says how it was made
    assert "per onnxruntime call" in default
    model = TransformerOnnxModel(out, "model.int8.onnx", info, threads=1)
    alone = np.vstack([model.predict_proba_full([t], 2) for t in texts])
    for chunk in (8, 64):
        model.BATCH = chunk
        batched = model.predict_proba_full(texts, 2)
        assert np.array_equal(alone.argmax(1), batched.argmax(1))
        assert np.abs(alone - batched).max() <= 2e-3
