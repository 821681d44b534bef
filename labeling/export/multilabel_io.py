"""Export of multi-label end models: model.skops, model.onnx (one probability per
label), model_card.json with the per-label thresholds, MODEL_CARD.md.

The model is :mod:`labeling.train.multilabel_model`'s: a ``Pipeline(features, heads)``
or an average of two. Its ONNX file reuses the single-label TF-IDF featurisation graph
(:mod:`labeling.export.onnx_io`, exact to ~1e-15) and replaces the softmax head by
``sigmoid(features @ W^T + b)``: ``probabilities`` (float64 ``[N, k]``, one per label)
and ``label`` (int64 ``[N, k]``, 1 where the probability reaches the label's trained
threshold). A MiniLM pipeline exports its heads only (input: embeddings), as in
single-label tasks; the TF-IDF + MiniLM average has no ONNX file (the encoder is not
ONNX) and the card says so. Loading is :func:`labeling.export.load_exported`'s, unchanged:
the files have the shapes single-label loading checks (a classifier whose ``classes_``
are the label indexes; an ONNX file with outputs label, probabilities).

A multi-label ``minilm_finetune`` (labeling.train.finetune_multilabel) is exported as the
single-label fine-tune is (:mod:`labeling.export.onnx_transformer`: model.onnx, its int8
copy and tokenizer.json, one sigmoid probability per label), with this module's card.

Decisions: ``labeling predict`` applies the card's ``multi_label.thresholds`` to the
probabilities, in every runtime (see docs/multilabel.md).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper

from labeling.errors import ModelLoadError
from labeling.export.card import write_model_folder
from labeling.export.card_schema import CARD_FILE, EMBEDDING_INPUT, TEXT_INPUT
from labeling.export.multilabel_card import card_markdown
from labeling.export.onnx_io import (OPSET, OnnxModel, _Graph, _is_tfidf_pipeline,
                                     tfidf_features_graph)
from labeling.files import atomic_write
from labeling.train.multilabel_model import MultiLabelAverage, MultiLabelHeads, thresholds_of


def _heads_graph(g: _Graph, features: str, heads: MultiLabelHeads) -> tuple[str, str]:
    """``features`` (float64 [N, d]) -> (label, probabilities) node outputs."""
    logits = g.op("Add", [g.op("MatMul", [features, g.const("W", heads.coef_.T.astype(
        np.float64))]), g.const("b", heads.intercept_.astype(np.float64))])
    proba = g.op("Sigmoid", [logits])
    decided = g.op("GreaterOrEqual", [proba, g.const("thresholds", np.asarray(
        heads.thresholds_, dtype=np.float64))])
    return g.op("Cast", [decided], to=TensorProto.INT64), proba


def to_onnx(model) -> tuple[onnx.ModelProto, dict]:
    """``model`` (a multi-label pipeline) as ONNX, and what the file contains."""
    if not (hasattr(model, "steps") and isinstance(model.steps[-1][1], MultiLabelHeads)):
        raise ValueError(f"{type(model).__name__} (an average of TF-IDF and MiniLM heads) "
                         "has no ONNX export: the MiniLM encoder is not ONNX; use the skops "
                         "file (--runtime sklearn)")
    heads = model.steps[-1][1]
    k, n_features = heads.coef_.shape
    g = _Graph()
    if _is_tfidf_pipeline(model):
        features = tfidf_features_graph(g, model.steps[0][1])
        source = helper.make_tensor_value_info(TEXT_INPUT, TensorProto.STRING, [None])
        input_name = TEXT_INPUT
        contains = ("the whole pipeline: text (string [N]) -> label (int64 [N, labels]: 1 "
                    "where the probability reaches the label's trained threshold) and "
                    "probabilities (float64 [N, labels], one independent probability per "
                    "label); TF-IDF featurisation rebuilt from ONNX string ops as for "
                    "single-label models. Replace U+0130 by 'i\\u0307' before feeding texts "
                    "(labeling predict does); onnxruntime needs the C.UTF-8 locale")
    else:
        features = g.op("Cast", [EMBEDDING_INPUT], to=TensorProto.DOUBLE)
        source = helper.make_tensor_value_info(EMBEDDING_INPUT, TensorProto.FLOAT,
                                               [None, n_features])
        input_name = EMBEDDING_INPUT
        contains = (f"the heads only: {EMBEDDING_INPUT} (float32 [N, {n_features}], the "
                    f"output of step '{model.steps[0][0]}') -> label (int64 [N, labels]) and "
                    "probabilities (float64 [N, labels]); --runtime onnx computes the "
                    "embeddings with the skops model's first step")
    label, proba = _heads_graph(g, features, heads)
    outputs = [helper.make_node("Identity", [label], ["label"]),
               helper.make_node("Identity", [proba], ["probabilities"])]
    graph = helper.make_graph(
        g.nodes + outputs, "multilabel", [source],
        [helper.make_tensor_value_info("label", TensorProto.INT64, [None, k]),
         helper.make_tensor_value_info("probabilities", TensorProto.DOUBLE, [None, k])],
        g.inits)
    onx = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET),
                                                  helper.make_opsetid("com.microsoft", 1)])
    onnx.checker.check_model(onx)
    return onx, {"contains": contains, "input": input_name, "classes": list(range(k)),
                 "opset": OPSET, "multi_label": True}


def save_onnx(model, path: Path) -> tuple[str, dict]:
    onx, info = to_onnx(model)
    path = Path(path)
    with atomic_write(path) as tmp:
        tmp.write_bytes(onx.SerializeToString())
    return hashlib.sha256(path.read_bytes()).hexdigest(), info


def onnx_parity(model, onnx_path: Path, info: dict, texts: list[str]) -> dict:
    """How closely the ONNX file reproduces ``model`` on ``texts``: the largest
    probability difference, and the share of rows with the same label set."""
    prefix = None if info["input"] == TEXT_INPUT else model[:-1]
    sk = model.predict_proba(texts)
    ox = OnnxModel(onnx_path, info, prefix).predict_proba_full(texts, sk.shape[1])
    t = thresholds_of(model)
    return {"texts": len(texts), "classes": int(sk.shape[1]),
            "max_abs_diff": float(np.abs(sk - ox).max()) if len(texts) else 0.0,
            "label_set_agreement": float(np.mean(((sk >= t) == (ox >= t)).all(axis=1)))
            if len(texts) else 1.0}


def export_multilabel(model, out_dir: Path, card: dict,
                      parity_texts: list[str] | None = None,
                      int8_scales: str = "per_call") -> Path:
    """Write ``model`` (skops, and ONNX when it converts) and its ``card`` (from
    :func:`labeling.export.multilabel_card.build_card`) into ``out_dir``."""
    return write_model_folder(model, out_dir, card, save_onnx=save_onnx,
                              onnx_parity=onnx_parity, markdown=card_markdown,
                              parity_texts=parity_texts, int8_scales=int8_scales)


def is_multilabel_model(model) -> bool | None:
    """Whether a loaded model (skops estimator or ONNX session wrapper) is multi-label;
    None when that cannot be told from it."""
    if isinstance(model, MultiLabelAverage) or (
            hasattr(model, "steps") and isinstance(model.steps[-1][1], MultiLabelHeads)):
        return True
    tags = getattr(model, "__sklearn_tags__", None)  # a multi-label fine-tune says so
    if tags is not None and getattr(tags().classifier_tags, "multi_label", False):
        return True
    session = getattr(model, "session", None)
    if session is not None:  # a multi-label ONNX file's label output is [N, labels]
        return len(session.get_outputs()[0].shape) == 2
    return False if hasattr(model, "classes_") else None


def multilabel_thresholds(exported) -> np.ndarray | None:
    """The card's per-label thresholds for a multi-label model, None for a single-label
    one. A card and a model of different kinds (a card edited or swapped) are refused:
    predicting label sets with a single-label model, or one argmax label with a
    multi-label one, would print plausible nonsense."""
    info = exported.card.get("multi_label")
    kind = is_multilabel_model(exported.model)
    if kind is not None and kind != (info is not None):
        where = exported.model_dir / CARD_FILE if exported.model_dir else CARD_FILE
        raise ModelLoadError(f"{where}: the card says a {'multi' if info else 'single'}-"
                             f"label model, but the model file is "
                             f"{'multi' if kind else 'single'}-label; the card does not "
                             "belong to this model")
    return None if info is None else np.asarray(info["thresholds"], dtype=float)
