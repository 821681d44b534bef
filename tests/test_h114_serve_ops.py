"""`labeling serve` as an ops engineer runs it in production (the h114 walkthrough): an
internal error's text stays in the server log, the client gets one generic line with a
reference to find it there; a real server on 127.0.0.1, bounded traffic."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_serve import ThreadServer, model_dir, post, request  # noqa: E402,F401

from labeling.serve import build_server  # noqa: E402

SECRET = "/home/alice/private/texts.csv: row 7 'my card number is 4111'"


def test_a_500_names_a_reference_not_the_exception_whose_details_go_to_the_log(
        model_dir, caplog):  # noqa: F811 - the fixture imported above
    server = build_server(model_dir)
    real, failures = server.exported.predict_proba, [SECRET]

    def failing_once(texts):
        if failures:
            raise RuntimeError(failures.pop())
        return real(texts)

    server.batcher.predict_proba = failing_once
    with caplog.at_level(logging.ERROR, logger="labeling.serve"):
        with ThreadServer(server) as running:
            status, kind, raw = request(running.url, "POST", "/predict", {"texts": ["a"]})
            again = post(running.url, "/predict", {"texts": ["a"]})
    assert status == 500 and kind == "application/json" and b"\n" not in raw.strip()
    body = json.loads(raw)
    assert list(body) == ["error"], body
    # before: "internal error: RuntimeError: /home/alice/private/texts.csv: row 7 ..."
    assert "alice" not in body["error"] and "RuntimeError" not in body["error"], body
    assert body["error"].startswith("internal error (reference "), body
    reference = body["error"].split("reference ")[1].split(";")[0]
    logged = [r for r in caplog.records if reference in r.getMessage()]
    assert len(logged) == 1 and logged[0].exc_info is not None
    assert SECRET in str(logged[0].exc_info[1])  # the details are in the server's log
    assert again[0] == 200 and np.array_equal(again[1]["probabilities"], real(["a"]))


def test_two_500s_get_two_references(model_dir, caplog):  # noqa: F811
    server = build_server(model_dir)

    def failing(texts):
        raise ValueError("boom")

    server.batcher.predict_proba = failing
    with caplog.at_level(logging.ERROR, logger="labeling.serve"):
        with ThreadServer(server) as running:
            first = post(running.url, "/predict", {"texts": ["a"]})
            second = post(running.url, "/v2/models/youtube/infer", {"inputs": [
                {"name": "text", "shape": [1], "datatype": "BYTES", "data": ["a"]}]})
    assert first[0] == second[0] == 500
    assert first[1]["error"] != second[1]["error"]
    assert "boom" not in first[1]["error"] + second[1]["error"]
