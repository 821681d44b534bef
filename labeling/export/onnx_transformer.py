"""ONNX export of the transformer end models, fp32 and int8: ``minilm_finetune`` and
``minilm_logreg`` (whose sentence encoder goes into the graph with its head, so it
predicts without torch or sentence-transformers, and quantized).

The folder gets three files beside model.skops:

- ``model.onnx``: the encoder, mean pooling, head and softmax, traced from torch
  (TorchScript exporter, opset 17, eager attention so the trace holds for any batch
  and sequence length): ``input_ids``, ``attention_mask`` (int64 ``[N, T]``) ->
  ``label`` (int64 ``[N]``), ``probabilities`` (float32 ``[N, k]``).
- ``model.int8.onnx``: the same graph with its weights dynamically quantized to int8
  (``onnxruntime.quantization.quantize_dynamic``: weights stored as int8, activations
  quantized at run time with one scale per onnxruntime call, so a text's answer moves a
  little with the texts it is run with; ``PER_TEXT`` makes the scales per text instead:
  labeling.export.int8_per_text, not the default, docs/finetune.md). About 4x smaller and
  faster on CPU; its probabilities move by up to a few hundredths (the card records by
  how much).
- ``tokenizer.json``: the MiniLM tokenizer with the model's truncation
  (``max_seq_len`` tokens) and batch padding, applied by
  :class:`labeling.export.transformer_runtime.TransformerOnnxModel` before the graph runs
  (the `tokenizers` package, no torch needed to predict; that module runs the files, this
  one writes them).

The card's ``onnx`` section says so (``input = "tokens"``), with the parity of both
files against the skops model on the dev and test texts. A multi-label fine-tune
(:mod:`labeling.train.finetune_multilabel`) has a sigmoid per label instead of the
softmax: ``probabilities`` float32 ``[N, labels]``, ``label`` int64 ``[N, labels]`` (1
where the label's trained threshold is reached, as the multi-label TF-IDF graph; compared
in float64, as `labeling predict` compares the same output:
:class:`~labeling.train.finetune_net.LabelAndProbabilities`); its parity counts identical
label sets at the model's thresholds. (A pipeline with another
first step, e.g. TF-IDF + SVD, keeps :mod:`labeling.export.onnx_io`'s head-only file.)
"""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path

import numpy as np
import onnx
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from torch import nn

from labeling.export.card_schema import ONNX_FILE, TOKENS_INPUT
from labeling.export.int8_per_text import per_text_activations
from labeling.files import atomic_write, file_sha256
from labeling.train.embeddings import MiniLMEmbedder
from labeling.train.finetune import MiniLMFineTuned
from labeling.export.transformer_runtime import (INPUTS, INT8_FILE, TOKENIZER_FILE,
                                                 TransformerOnnxModel)
from labeling.train.finetune_data import load_tokenizer, model_dir
from labeling.train.finetune_net import LabelAndProbabilities, build_encoder

OPSET = 17  # LayerNormalization as one op; the TorchScript exporter's range ends at 20
# int8 against the skops model: the bound the tests hold the quantized file to on their
# few dozen texts (measured 0.024). On whole test splits the largest single difference
# is larger (benchmarks/finetune.py: 0.066-0.164 on youtube, sms, trec and the bundled
# task), and test metrics move by 0-0.0072 (docs/finetune.md, "Tolerances"); fp32: 1e-4.
INT8_TOLERANCE = 0.05


def _is_minilm_logreg(model) -> bool:
    """``minilm_logreg``: MiniLM sentence embeddings -> logistic regression."""
    return (isinstance(model, Pipeline) and len(model.steps) == 2
            and isinstance(model.steps[0][1], MiniLMEmbedder)
            and isinstance(model.steps[1][1], LogisticRegression))


def supports(model) -> bool:
    """A fine-tuned transformer, or the MiniLM-embedding logistic regression (whose
    encoder goes into the graph, so it predicts without torch and quantized)."""
    return isinstance(model, MiniLMFineTuned) or _is_minilm_logreg(model)


class EmbeddingLogReg(nn.Module):
    """``minilm_logreg`` as one graph: the sentence model (mean pooling, L2 norm, as
    sentence-transformers computes it) times the embedder's scale, then scikit-learn's
    logistic regression (binary: sigmoid of one score; else softmax)."""

    def __init__(self, encoder, classifier: LogisticRegression, scale: float):
        super().__init__()
        self.encoder = encoder
        self.scale = float(scale)
        self.binary = classifier.coef_.shape[0] == 1
        self.register_buffer("coef", torch.tensor(classifier.coef_, dtype=torch.float32))
        self.register_buffer("intercept", torch.tensor(classifier.intercept_,
                                                       dtype=torch.float32))

    def forward(self, input_ids, attention_mask):
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        scores = nn.functional.normalize(pooled, p=2, dim=1) * self.scale @ self.coef.T \
            + self.intercept
        if self.binary:
            positive = torch.sigmoid(scores[:, 0])
            proba = torch.stack([1 - positive, positive], dim=1)
        else:
            proba = torch.softmax(scores, dim=-1)
        return proba.argmax(dim=-1), proba


def _sentence_max_len(model_path) -> int:
    """The sentence model's own truncation (sentence_bert_config.json; 256 for MiniLM)."""
    config = model_dir(model_path) / "sentence_bert_config.json"
    return int(json.loads(config.read_text()).get("max_seq_length", 256))


def _graph(model):
    """``(torch module, tokenizer, max_seq_len, what the file contains)`` of ``model``."""
    if isinstance(model, MiniLMFineTuned):
        return (LabelAndProbabilities(model.torch_module(attention="eager"),
                                      _thresholds(model)), model.tokenizer(),
                int(model.max_seq_len), "the fine-tuned MiniLM encoder, mean pooling and "
                                        "linear head")
    embedder, classifier = model.steps[0][1], model.steps[1][1]
    max_len = _sentence_max_len(embedder.model_path)
    encoder = build_encoder(embedder.model_path, attention="eager")
    return (EmbeddingLogReg(encoder, classifier, embedder.scale).eval(),
            load_tokenizer(model_dir(embedder.model_path), max_len), max_len,
            "the MiniLM sentence encoder (mean pooling, L2 norm) and the logistic "
            "regression head")


def _thresholds(model):
    """A multi-label fine-tune's per-label thresholds (its graph decides with them), else
    None (single-label: softmax and argmax)."""
    return model.thresholds_ if getattr(model, "OUTPUT", None) == "sigmoid" else None


def _export_fp32(graph, path: Path) -> None:
    # two rows of different lengths: the trace sees padding in the mask
    ids = torch.tensor([[101, 7592, 2088, 102, 0, 0], [101, 2023, 2003, 1037, 3231, 102]])
    mask = (ids != 0).long()
    axes = {"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"},
            "label": {0: "batch"}, "probabilities": {0: "batch"}}
    with warnings.catch_warnings(), atomic_write(path) as tmp:
        warnings.simplefilter("ignore")  # tracer and deprecation notes: parity is tested
        torch.onnx.export(graph, (ids, mask), str(tmp), dynamo=False, opset_version=OPSET,
                          input_names=list(INPUTS), output_names=["label", "probabilities"],
                          dynamic_axes=axes, do_constant_folding=True)


# int8 activations scaled per call (the default) or per text ([export] int8_scales =
# "per_text": answers independent of the batch). Per text is not the default: on the dev
# sets it ran at 0.71-0.80x the per-call file's docs per CPU second, and trec's dev
# accuracy dropped 0.008 against torch (per call: 0.004; goal <= 0.005);
# docs/finetune.md "int8 answers independent of the batch"
QUANTIZATION = {"per_call": "dynamic, QInt8 weights per channel, uint8 activations with one "
                            "scale per onnxruntime call",
                "per_text": "dynamic, QInt8 weights per channel, uint8 activations with one "
                            "scale and zero point per text over its real tokens "
                            "(labeling.export.int8_per_text)"}


def _quantize(src: Path, dst: Path, int8_scales: str = "per_call") -> str:
    """int8 copy of ``src``: ``quantize_dynamic``'s int8 weights, then, with ``int8_scales``
    ``"per_text"``, its activation scales computed per text instead of per call
    (labeling.export.int8_per_text: a text's answer no longer depends on the texts it is
    run with; docs/serve.md). Returns the card's description of the quantization."""
    if int8_scales not in QUANTIZATION:
        raise ValueError(f"int8_scales must be one of {sorted(QUANTIZATION)}, not "
                         f"{int8_scales!r}")
    from onnxruntime.quantization import QuantType, quantize_dynamic  # onnxruntime: lazy

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # its "consider pre-processing" advice, on every export
    with atomic_write(dst) as tmp:
        # per channel: one scale per output column. Per tensor (one scale per matrix), the
        # tiny test model's probabilities moved by 0.11; per channel by 0.024
        try:
            quantize_dynamic(str(src), str(tmp), weight_type=QuantType.QInt8, per_channel=True)
        finally:
            root.setLevel(level)
        if int8_scales == "per_text":
            onnx.save(per_text_activations(onnx.load(str(tmp))), str(tmp))
    return QUANTIZATION[int8_scales]


def save_transformer_onnx(model, out_dir: Path, int8_scales: str = "per_call") -> dict:
    """Write model.onnx, model.int8.onnx (activation scales ``int8_scales``: "per_call" or
    "per_text", :func:`_quantize`) and tokenizer.json into ``out_dir`` for a model
    :func:`supports` accepts; returns ``{"files": {name: sha256}, "info": the card's onnx
    section}``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    graph, tokenizer, max_len, what = _graph(model)
    _export_fp32(graph, out_dir / ONNX_FILE)
    quantization = _quantize(out_dir / ONNX_FILE, out_dir / INT8_FILE, int8_scales)
    with atomic_write(out_dir / TOKENIZER_FILE) as tmp:
        tokenizer.save(str(tmp))
    files = {name: file_sha256(out_dir / name) for name in (ONNX_FILE, INT8_FILE, TOKENIZER_FILE)}
    classes = [int(c) for c in model.classes_]
    multi = _thresholds(model) is not None
    outputs = ("label (int64 [N, labels]: 1 where the label's trained threshold is reached, "
               "the probability compared in float64 as labeling predict does) "
               "and probabilities (float32 [N, labels], a sigmoid per label)" if multi else
               "label (int64 [N]) and probabilities (float32 [N, classes])")
    info = {"contains": (f"{what}: "
                         f"{', '.join(INPUTS)} (int64 [N, tokens], from {TOKENIZER_FILE}, "
                         f"cut at {max_len} tokens) -> {outputs}; {INT8_FILE}: the same with "
                         "int8 weights (onnxruntime dynamic quantization); labeling predict "
                         "--runtime onnx / onnx_int8 tokenizes the texts"),
            "input": TOKENS_INPUT, "classes": classes, "opset": OPSET,
            "tokenizer": TOKENIZER_FILE, "max_seq_len": max_len,
            "int8": {"file": INT8_FILE,
                     "quantization": quantization}}
    if multi:
        info["multi_label"] = True
    return {"files": files, "info": info}


def transformer_parity(model, out_dir: Path, info: dict,
                       texts: list[str]) -> None:
    """Record in ``info`` how closely model.onnx (``parity``) and model.int8.onnx
    (``int8.parity``) reproduce ``model`` (torch, or sentence-transformers) on ``texts``:
    the largest probability difference, and the share of texts with the same label
    (multi-label: the same label set at the model's thresholds)."""
    k = int(max(model.classes_)) + 1
    full = np.zeros((len(texts), k))
    full[:, model.classes_.astype(int)] = model.predict_proba(texts)
    cuts = _thresholds(model)
    for file, target in ((ONNX_FILE, info), (INT8_FILE, info["int8"])):
        proba = TransformerOnnxModel(out_dir, file, info).predict_proba_full(texts, k)
        diff = np.abs(full - proba)
        target["parity"] = {"texts": len(texts), "classes": len(model.classes_),
                            "max_abs_diff": float(diff.max()) if len(texts) else 0.0}
        if cuts is None:
            target["parity"]["label_agreement"] = float(
                np.mean(full.argmax(1) == proba.argmax(1))) if len(texts) else 1.0
        else:
            target["parity"]["label_set_agreement"] = float(
                np.mean(((full >= cuts) == (proba >= cuts)).all(axis=1))) if len(texts) else 1.0


def _remove_onnx_files(out_dir: Path) -> None:
    for name in (ONNX_FILE, INT8_FILE, TOKENIZER_FILE):
        (out_dir / name).unlink(missing_ok=True)


def export_onnx(model, out_dir: Path, save_onnx, onnx_parity,
                parity_texts: list[str] | None = None,
                int8_scales: str = "per_call") -> tuple[dict, dict]:
    """``({file: sha256}, the card's onnx section)`` for an export folder: a transformer's
    three files (:func:`save_transformer_onnx`, parity by :func:`transformer_parity`), any
    other model's ``save_onnx(model, path)`` (parity by ``onnx_parity(model, path, info,
    texts)``), both for single- and multi-label cards. A converter failure leaves no ONNX
    file and the section says why: the skops export stands on its own."""
    out_dir = Path(out_dir)
    transformer = supports(model)
    _remove_onnx_files(out_dir)  # an earlier export's, e.g. a fine-tune's int8 file
    try:
        if transformer:
            written = save_transformer_onnx(model, out_dir, int8_scales)
            files, info = written["files"], written["info"]
        else:
            sha, info = save_onnx(model, out_dir / ONNX_FILE)
            files = {ONNX_FILE: sha}
    except Exception as exc:  # noqa: BLE001 - any converter failure, e.g. an unsupported head
        _remove_onnx_files(out_dir)
        return {}, {"contains": None, "error": f"not exported: {exc}"}
    if parity_texts and transformer:
        transformer_parity(model, out_dir, info, list(parity_texts))
    elif parity_texts:
        info["parity"] = onnx_parity(model, out_dir / ONNX_FILE, info, list(parity_texts))
    return files, info
