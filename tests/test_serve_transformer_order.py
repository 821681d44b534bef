"""An exported transformer's texts run in chunks sorted by token count, each padded to its
own longest (labeling/export/transformer_runtime.py), with the rows back in input order.

A small hand-built ONNX graph of the same interface (input_ids, attention_mask ->
label, probabilities: a masked mean of token embeddings and a linear head) stands in for
the fine-tuned encoder, with the real MiniLM tokenizer; its int8 copy is made by the same
onnxruntime dynamic quantization as the real export, so it shares the real int8 model's
trait: one activation scale per call, answers that move a little with a row's chunk.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from labeling.export.transformer_runtime import TransformerOnnxModel
from labeling.train.finetune_data import encode, model_dir

sys.path.insert(0, str(Path(__file__).parent))
from conftest import synthetic_int8_tolerance  # noqa: E402

K, DIM, MAX_SEQ_LEN = 3, 8, 24
WORDS = "the quick brown fox jumps over a lazy dog while subscribers watch my new channel".split()


def _graph(vocab: int) -> onnx.ModelProto:
    rng = np.random.default_rng(0)
    init = [numpy_helper.from_array(rng.normal(size=(vocab, DIM)).astype(np.float32), "E"),
            numpy_helper.from_array(rng.normal(size=(DIM, K)).astype(np.float32), "W"),
            numpy_helper.from_array(np.array([1], np.int64), "axis1"),
            numpy_helper.from_array(np.array([2], np.int64), "axis2")]
    nodes = [helper.make_node("Gather", ["E", "input_ids"], ["emb"]),
             helper.make_node("Cast", ["attention_mask"], ["m"], to=TensorProto.FLOAT),
             helper.make_node("Unsqueeze", ["m", "axis2"], ["m3"]),
             helper.make_node("Mul", ["emb", "m3"], ["masked"]),
             helper.make_node("ReduceSum", ["masked", "axis1"], ["total"], keepdims=0),
             helper.make_node("ReduceSum", ["m", "axis1"], ["count"], keepdims=1),
             helper.make_node("Div", ["total", "count"], ["mean"]),
             helper.make_node("MatMul", ["mean", "W"], ["logits"]),
             helper.make_node("Softmax", ["logits"], ["probabilities"], axis=-1),
             helper.make_node("ArgMax", ["logits"], ["label"], axis=1, keepdims=0)]
    graph = helper.make_graph(
        nodes, "tiny", [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["N", "T"]),
                        helper.make_tensor_value_info("attention_mask", TensorProto.INT64,
                                                      ["N", "T"])],
        [helper.make_tensor_value_info("label", TensorProto.INT64, ["N"]),
         helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", K])], init)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = tmp_path_factory.mktemp("tiny_transformer")
    shutil.copy(model_dir() / "tokenizer.json", tmp / "tokenizer.json")
    vocab = len(__import__("json").loads((tmp / "tokenizer.json").read_text())["model"]["vocab"])
    onnx.save(_graph(vocab), tmp / "model.onnx")
    quantize_dynamic(str(tmp / "model.onnx"), str(tmp / "model.int8.onnx"),
                     weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul"])
    return tmp


INFO = {"classes": list(range(K)), "max_seq_len": MAX_SEQ_LEN}


@pytest.fixture(scope="module")
def texts() -> list[str]:
    """Texts of 0 to 40 words (some cut at MAX_SEQ_LEN tokens), in a shuffled order, a
    few repeated, more than two chunks' worth."""
    rng = np.random.default_rng(1)
    out = [" ".join(rng.choice(WORDS, size=rng.integers(0, 40))) for _ in range(150)]
    return out + out[:10]


class Recorder:
    """An onnxruntime session that records the shape of every call."""

    def __init__(self, session):
        self.session, self.calls = session, []

    def run(self, outputs, feeds):
        self.calls.append((feeds["input_ids"].copy(), feeds["attention_mask"].copy()))
        return self.session.run(outputs, feeds)


def input_order(model: TransformerOnnxModel, texts: list[str]) -> np.ndarray:
    """Prediction without sorting: chunks in input order, each padded to its longest."""
    out = []
    for start in range(0, len(texts), model.BATCH):
        ids, mask = encode(model.tokenizer, texts[start:start + model.BATCH])
        out.append(model.session.run([model.proba_output],
                                     {"input_ids": ids, "attention_mask": mask})[0])
    return np.vstack(out)


def test_chunks_sorted_by_tokens_padded_to_their_own_longest(folder, texts):
    model = TransformerOnnxModel(folder, "model.onnx", INFO, threads=1)
    recorder = model.session = Recorder(model.session)
    model.predict_proba_full(texts, K)
    lengths = [int(mask.sum(axis=1).max()) for _, mask in recorder.calls]
    distinct = len(set(texts))  # a repeated text runs once
    assert len(recorder.calls) == -(-distinct // model.BATCH) and distinct < len(texts)
    for ids, mask in recorder.calls:
        counts = mask.sum(axis=1)
        assert ids.shape[1] == counts.max()  # no column of padding only
        assert (np.diff(counts) >= 0).all()  # sorted within the chunk
    assert lengths == sorted(lengths) and lengths[0] < lengths[-1] <= MAX_SEQ_LEN
    # against one call of all texts padded to the longest: fewer padded cells
    assert sum(ids.size for ids, _ in recorder.calls) < distinct * lengths[-1]


def test_fp32_answers_identical_to_unsorted_prediction(folder, texts):
    model = TransformerOnnxModel(folder, "model.onnx", INFO, threads=1)
    sorted_answers = model.predict_proba_full(texts, K)
    unsorted = input_order(model, texts)
    assert np.array_equal(sorted_answers.argmax(1), unsorted.argmax(1))
    # the same rows, padded to other widths: equal up to float32 summation order
    assert np.abs(sorted_answers - unsorted).max() <= 1e-6
    one_by_one = np.vstack([model.predict_proba_full([t], K) for t in texts])
    assert np.abs(sorted_answers - one_by_one).max() <= 1e-6


@pytest.mark.parametrize("file", ["model.onnx", "model.int8.onnx"])
def test_answers_do_not_depend_on_the_input_order(folder, texts, file):
    """Ties in token count are broken by the text, so any order of the same texts gives
    the same chunks: equal answers, also for int8, whose answers depend on the chunk."""
    model = TransformerOnnxModel(folder, file, INFO, threads=1)
    want = model.predict_proba_full(texts, K)
    for seed in range(3):
        order = np.random.default_rng(seed).permutation(len(texts))
        got = model.predict_proba_full([texts[i] for i in order], K)
        assert np.array_equal(got, want[order])  # equal, not close
    assert np.array_equal(want[-10:], want[:10])  # a repeated text: its one answer
    assert model.predict_proba_full([], K).shape == (0, K)


def test_int8_answers_move_with_the_chunk_within_tolerance(folder, texts):
    """Why the order matters for int8 at all (docs/serve.md): the same text in another
    chunk gets a slightly different answer; sorting keeps it within the export's bound."""
    model = TransformerOnnxModel(folder, "model.int8.onnx", INFO, threads=1)
    sorted_answers = model.predict_proba_full(texts, K)
    unsorted = input_order(model, texts)
    assert 0 < np.abs(sorted_answers - unsorted).max() <= synthetic_int8_tolerance()
