"""The multi-label TF-IDF ONNX graph's ``label`` output decides as `labeling predict` does,
at a threshold one float64 step from an observed probability (#16 review: the fine-tune's
graph compared in float32 and could differ there; tests/test_finetune_multilabel.py holds
that case). This graph computes and compares in float64, so its probabilities are the ones
predict reads and the two rules are one: a guard, fast (TF-IDF, a few dozen rows)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort

sys.path.insert(0, str(Path(__file__).parent))
from test_multilabel import LABELS, _rows  # noqa: E402
from test_multilabel_export import _tfidf_pipeline  # noqa: E402

from labeling.export.card_schema import TEXT_INPUT  # noqa: E402
from labeling.export.multilabel_io import save_onnx  # noqa: E402
from labeling.export.onnx_io import OnnxModel  # noqa: E402
from labeling.models.multilabel import indicator  # noqa: E402
from labeling.predict import format_label_sets  # noqa: E402


def test_tfidf_graph_label_output_is_predicts_label_set_next_to_a_threshold(tmp_path):
    df = _rows(40, 2)
    P = indicator([[LABELS.index(n) for n in s.split(";")] for s in df["labels"]], 3)
    model = _tfidf_pipeline(df["text"].tolist(), P)
    text = ["so happy today and furious about it"]
    _, info = save_onnx(model, tmp_path / "probe.onnx")
    p = OnnxModel(tmp_path / "probe.onnx", info).predict_proba_full(text, 3)[0]
    heads = model.steps[-1][1]
    for t, expected in ((np.nextafter(p[0], 1.0), False), (p[0], True)):
        heads.thresholds_ = np.array([t, 0.5, 0.5])
        _, info = save_onnx(model, tmp_path / "model.onnx")
        proba = OnnxModel(tmp_path / "model.onnx", info).predict_proba_full(text, 3)
        line = json.loads(format_label_sets(text, proba, LABELS, heads.thresholds_, "jsonl"))
        session = ort.InferenceSession(str(tmp_path / "model.onnx"),
                                       providers=["CPUExecutionProvider"])
        label, graph_proba = session.run(None, {TEXT_INPUT: np.array(text, dtype=object)})
        np.testing.assert_array_equal(graph_proba, proba)
        assert [LABELS[c] for c in np.flatnonzero(label[0])] == line["labels"]
        assert (LABELS[0] in line["labels"]) is expected
