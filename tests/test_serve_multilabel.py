"""`labeling serve` on a multi-label model (#16): label sets with the card's per-label
thresholds on both APIs, equal to `labeling predict --format jsonl` on the same texts, a
real server on 127.0.0.1 (the CLI in a subprocess), also under concurrent clients; the
model metadata says multi-label; a card of the wrong kind is refused at start-up.

The model is tests/test_multilabel_export.py's tiny project (TF-IDF heads, label model mv).
No timing asserts."""

from __future__ import annotations

import json
import shutil
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent))
from test_multilabel import LABELS  # noqa: E402
from test_multilabel_export import _project  # noqa: E402
from test_serve import (EDGE, TIMEOUT, infer_body, post, request,  # noqa: E402
                        start_cli_server, stop)

from labeling.cli import app  # noqa: E402
from labeling.export import load_exported  # noqa: E402
from labeling.export.card import read_card  # noqa: E402


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    config = _project(tmp_path_factory.mktemp("serve_ml"))
    result = CliRunner().invoke(app, ["run", str(config), "--no-progress"])
    assert result.exit_code == 0, result.output
    return config.parent / "runs" / "ml" / "model"


@pytest.fixture(scope="module")
def texts(model_dir) -> list[str]:
    test = pd.read_csv(model_dir.parents[2] / "test.csv")["text"].tolist()
    # one line each, so `labeling predict --input -` reads them as they are
    return [t for t in test + EDGE + ["happy and furious", "glad but so angry now"]
            if t.strip() and "\n" not in t]


@pytest.fixture(scope="module")
def predicted(model_dir, texts) -> dict[str, dict]:
    """`labeling predict --format jsonl` per text: its label list and rounded probabilities."""
    result = CliRunner().invoke(app, ["predict", "--model", str(model_dir), "--format",
                                      "jsonl", "--input", "-"],
                                input="".join(t + "\n" for t in texts))
    assert result.exit_code == 0, result.output
    rows = {row["text"]: row for row in map(json.loads, result.stdout.splitlines())}
    assert set(rows) == set(texts)
    assert max(len(row["labels"]) for row in rows.values()) >= 2  # real sets
    return rows


@pytest.fixture(scope="module")
def server(model_dir):
    proc, url = start_cli_server(model_dir)
    yield url
    code, output = stop(proc)
    assert code == 0 and "stopped" in output and "Traceback" not in output, output


def _check_predict(body: dict, batch: list[str], predicted: dict) -> None:
    assert body["classes"] == LABELS
    assert body["labels"] == [predicted[t]["labels"] for t in batch]
    # full float64 probabilities; the CLI's jsonl rounds them to 6 places
    want = np.array([[predicted[t]["probabilities"][name] for name in LABELS] for t in batch])
    assert np.array_equal(np.round(np.array(body["probabilities"]), 6), want)


def test_predict_answers_label_sets_equal_to_labeling_predict(server, texts, predicted):
    status, body = post(server, "/predict", {"texts": texts})
    assert status == 200
    _check_predict(body, texts, predicted)


def test_v2_infer_answers_joined_label_sets_and_a_probability_per_label(
        server, model_dir, texts, predicted):
    status, body = post(server, "/v2/models/ml/infer", infer_body(texts, id="m"))
    assert status == 200 and body["id"] == "m"
    label, proba = body["outputs"]
    assert label == {"name": "label", "datatype": "BYTES", "shape": [len(texts)],
                     "data": [";".join(predicted[t]["labels"]) for t in texts]}
    assert "" in label["data"] or any(";" in d for d in label["data"])
    full = load_exported(model_dir).predict_proba(texts)
    assert proba["datatype"] == "FP32" and proba["shape"] == [len(texts), len(LABELS)]
    assert np.array_equal(np.array(proba["data"], np.float32).reshape(full.shape),
                          full.astype(np.float32))
    assert post(server, "/v2/models/ml/infer", infer_body([]))[1]["outputs"][0]["data"] == []


def test_metadata_says_multi_label_with_the_cards_thresholds(server, model_dir):
    status, _, raw = request(server, "GET", "/v2/models/ml")
    meta = json.loads(raw)
    assert status == 200 and meta["outputs"][1]["shape"] == [-1, len(LABELS)]
    meta["parameters"].pop("provenance")  # tests/test_h114_serve_ops.py
    assert meta["parameters"] == {"labels": LABELS, "multi_label": True,
                                  "thresholds": read_card(model_dir)["multi_label"]["thresholds"]}


def test_concurrent_clients_every_answer_equal_to_labeling_predict(server, texts, predicted):
    rng = np.random.default_rng(0)
    plans = [[[texts[i] for i in rng.choice(len(texts), size=rng.integers(1, 5))]
              for _ in range(10)] for _ in range(8)]

    def client(plan):
        for n, batch in enumerate(plan):
            if n % 2:
                status, body = post(server, "/v2/models/ml/infer", infer_body(batch))
                assert status == 200, body
                assert body["outputs"][0]["data"] == [";".join(predicted[t]["labels"])
                                                      for t in batch]
            else:
                status, body = post(server, "/predict", {"texts": batch})
                assert status == 200, body
                _check_predict(body, batch, predicted)
        return len(plan)

    with ThreadPoolExecutor(len(plans)) as pool:
        assert sum(pool.map(client, plans, timeout=TIMEOUT * 5)) == 80


def test_a_card_of_the_wrong_kind_is_refused_at_start(model_dir, tmp_path):
    """A multi-label model whose card lost its multi_label section would otherwise be
    served as a single-label one (arg-max answers)."""
    copy = tmp_path / "model"
    shutil.copytree(model_dir, copy)
    card = json.loads((copy / "model_card.json").read_text())
    del card["multi_label"]
    (copy / "model_card.json").write_text(json.dumps(card))
    result = CliRunner().invoke(app, ["serve", "--model", str(copy), "--port", "0"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.stderr.startswith("error: ") and "multi-label" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
