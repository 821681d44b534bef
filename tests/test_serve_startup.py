"""`labeling serve` start-up (#16): loading a TF-IDF model for serving never imports torch
(skops' type discovery used to import it through scikit-learn's array-API shim: seconds
of start-up and ~0.5 GB). Checked in a fresh interpreter, where ``sys.modules`` tells."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from labeling.export import export_model
from labeling.train.end_model import train_end_model

PROBE = """
import json, sys
from labeling.serve import build_server
server = build_server(sys.argv[1])
assert server.exported.predict_proba(["check out my channel"]).shape == (1, 2)
print(json.dumps(sorted(m for m in ("torch", "sentence_transformers", "transformers")
                        if m in sys.modules)))
"""


@pytest.fixture(scope="module")
def tfidf_model(tmp_path_factory) -> Path:
    texts = ["subscribe to my channel", "free money now", "check out my video",
             "love this song", "great song", "beautiful voice"]
    model = train_end_model(texts, np.eye(2)[[1, 1, 1, 0, 0, 0]], np.ones(6, bool))
    return export_model(model, tmp_path_factory.mktemp("startup") / "model",
                        {"task": "youtube", "labels": ["ham", "spam"]})


def test_serving_a_tfidf_model_does_not_import_torch(tfidf_model):
    result = subprocess.run([sys.executable, "-c", PROBE, str(tfidf_model)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []
