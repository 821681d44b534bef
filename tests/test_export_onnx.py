"""ONNX export parity: onnxruntime against scikit-learn on the bundled data and edge cases.

Tolerance: probabilities within 1e-9 (absolute) and identical labels for the TF-IDF
pipeline (the graph computes in float64; observed differences are ~1e-15); 1e-5 for a
head-only export (its input is float32 embeddings).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from labeling.export import export_model, load_exported

from labeling.export.card import CARD_FILE, ONNX_FILE
from labeling.train.end_model import predict_proba_full, train_end_model

TOL = 1e-9
REPO_ROOT = Path(__file__).resolve().parents[1]
LONG = ("Subscribe to my channel, free money! " * 3000)[:100_000]
EDGE = ["", " ", "\t\n", "a", "I", "x" * 100_000, LONG,
        "ÜNÏCODE café 🔥 Straße ǅ 日本語のテキスト ﬁne",
        "İstanbul İ i̇",  # U+0130: the one character Python lowercases to two
        "tabs\tand\nnew\rlines\x0bvt\x1cfs  double\u00a0nbsp\u2003em\u3000ideo\u2028ls",
        "  leading and trailing  ", "under_score snake_case 123 45 6",
        "check out my channel http://www.example.com/?v=abc&x=1 !!!", "ＦＵＬＬＷＩＤＴＨ ａｂｃ",
        "عربي עברית русский ελληνικά", "emoji👍🏽joined", "\ufeffbom"]


def assert_parity(sk: np.ndarray, ox: np.ndarray, tol: float = TOL):
    assert sk.shape == ox.shape
    np.testing.assert_allclose(ox, sk, rtol=0, atol=tol)
    assert (sk.argmax(axis=1) == ox.argmax(axis=1)).all()


@pytest.fixture(scope="module")
def bundled(youtube_tfidf_run):
    model_dir = youtube_tfidf_run[1] / "model"
    return model_dir, load_exported(model_dir), load_exported(model_dir, "onnx")


def test_pipeline_export_writes_onnx_with_parity_in_card(bundled):
    model_dir, _, _ = bundled
    card = json.loads((model_dir / CARD_FILE).read_text())
    assert (model_dir / ONNX_FILE).is_file() and card["formats"] == ["skops", "onnx"]
    parity = card["onnx"]["parity"]
    assert parity["texts"] == 264 + 264 and parity["label_agreement"] == 1.0
    assert parity["max_abs_diff"] < TOL
    assert set(card["calibration"]) == {"dev", "test"}


@pytest.mark.parametrize("split", ["dev", "test"])
def test_parity_on_bundled_splits(bundled, split):
    _, sk, ox = bundled
    texts = pd.read_csv(REPO_ROOT / "data" / "youtube" / f"{split}.csv")["text"].tolist()
    assert_parity(sk.predict_proba(texts), ox.predict_proba(texts))


def test_parity_on_edge_cases(bundled):
    _, sk, ox = bundled
    assert_parity(sk.predict_proba(EDGE), ox.predict_proba(EDGE))
    # one at a time too: a batch's padding must not change a row
    for text in EDGE:
        assert_parity(sk.predict_proba([text]), ox.predict_proba([text]))
    assert ox.predict_proba([]).shape == (0, 2)


def test_onnx_is_not_trivially_equal(bundled):
    """The parity checks compare different computations: the ONNX model reacts to the
    text (spam vs ham) the way the sklearn one does."""
    _, _, ox = bundled
    proba = ox.predict_proba(["subscribe to my channel for free money", "i love this song"])
    assert proba[0, 1] > 0.5 > proba[1, 1]


def test_multiclass_parity(tmp_path):
    texts = ["what is the capital", "who wrote this book", "when did it happen",
             "what is a noun", "who is the president", "when is the game", "how far is it"]
    model = train_end_model(texts, np.eye(3)[[0, 1, 2, 0, 1, 2, 0]], np.ones(7, bool))
    out = export_model(model, tmp_path / "m", {"task": "t", "labels": ["what", "who", "when"]},
                       parity_texts=texts)
    ox = load_exported(out, "onnx")
    queries = texts + EDGE
    assert_parity(predict_proba_full(model, queries, 3), ox.predict_proba(queries))
    assert json.loads((out / CARD_FILE).read_text())["onnx"]["parity"]["max_abs_diff"] < TOL


def test_head_only_export_for_a_non_tfidf_first_step(tmp_path):
    """Stands in for the embedding model: a first step that is not TF-IDF exports only
    the linear head (float input), and --runtime onnx feeds it the first step's output."""
    texts = ["subscribe to my channel", "check out my channel", "free money channel",
             "love this song", "great song", "beautiful song"] * 3
    y = np.array([1, 1, 1, 0, 0, 0] * 3)
    embed = Pipeline([("tfidf", TfidfVectorizer()), ("svd", TruncatedSVD(4, random_state=0))])
    model = Pipeline([("embed", embed), ("classifier", LogisticRegression())]).fit(texts, y)
    out = export_model(model, tmp_path / "m", {"task": "t", "labels": ["ham", "spam"]})
    card = json.loads((out / CARD_FILE).read_text())
    assert card["onnx"]["input"] == "embedding"
    assert card["onnx"]["contains"].startswith("the linear head only: embedding (float32 [N, 4]")
    assert "not in the ONNX file" in card["onnx"]["contains"]
    ox = load_exported(out, "onnx")
    assert_parity(predict_proba_full(model, texts + EDGE[:6], 2),
                  ox.predict_proba(texts + EDGE[:6]), tol=1e-5)
