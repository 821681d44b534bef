"""``minilm_logreg`` exports its sentence encoder with the head: texts -> tokens -> ONNX
(fp32 and int8), predicting without sentence-transformers. Parity with the skops model:
fp32 within 1e-4, int8 within INT8_TOLERANCE (see tests/test_finetune.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from labeling.export import export_model, load_exported
from labeling.export.card import CARD_FILE
from labeling.export.onnx_transformer import INT8_FILE, INT8_TOLERANCE, TOKENIZER_FILE
from labeling.train.end_model import predict_proba_full, train_end_model

TEXTS = ["subscribe to my channel", "check out my channel", "free money channel",
         "love this song", "great song", "beautiful song", "what time is it",
         "where is the station", "how old are you"]
EDGE = ["", " ", "a", "tab\there new\nline", "ÜNÏCODE café 🔥 İ 日本語",
        "subscribe to my channel " * 100]  # > 256 tokens: cut as sentence-transformers cuts


@pytest.fixture(scope="module", params=[2, 3], ids=["binary", "3-class"])
def exported(request, tmp_path_factory):
    k = request.param
    y = np.arange(len(TEXTS)) // 3 % k
    model = train_end_model(TEXTS, np.eye(k)[y], np.ones(len(TEXTS), bool), "minilm_logreg")
    out = export_model(model, tmp_path_factory.mktemp(f"minilm{k}"),
                       {"task": "t", "labels": ["a", "b", "c"][:k]}, parity_texts=TEXTS)
    return model, out, k


def test_card_says_tokens_and_records_both_parities(exported):
    _, out, _ = exported
    card = json.loads((out / CARD_FILE).read_text())
    assert card["onnx"]["input"] == "tokens" and card["onnx"]["max_seq_len"] == 256
    assert set(card["files"]) == {"model.skops", "model.onnx", INT8_FILE, TOKENIZER_FILE}
    assert card["onnx"]["parity"]["max_abs_diff"] < 1e-4
    assert card["onnx"]["int8"]["parity"]["max_abs_diff"] < INT8_TOLERANCE


@pytest.mark.parametrize("runtime,tol", [("onnx", 1e-4), ("onnx_int8", INT8_TOLERANCE)])
def test_onnx_runtimes_match_the_skops_model(exported, runtime, tol):
    model, out, k = exported
    texts = TEXTS + EDGE
    expected = predict_proba_full(model, texts, k)
    got = load_exported(out, runtime).predict_proba(texts)
    np.testing.assert_allclose(got, expected, rtol=0, atol=tol)
