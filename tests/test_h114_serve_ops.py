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
from labeling.serve.server import export_version  # noqa: E402

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


def test_ready_only_once_the_model_has_answered_a_text(model_dir):  # noqa: F811
    # before: a MiniLM model loaded its encoder on its first call, so the first request
    # after /v2/health/ready answered 200 waited 10-25 s for it (found by the h114
    # walkthrough); now one text goes through the model before the server is ready
    server = build_server(model_dir)
    real, calls = server.exported.model.predict_proba, []

    def first_call_loads(features):  # stands in for a MiniLM model loading on first use
        calls.append(len(features))
        return real(features)

    server.exported._fast = None  # the estimator itself, not the TF-IDF fast path
    server.exported.model.predict_proba = first_call_loads
    with ThreadServer(server) as running:
        assert request(running.url, "GET", "/v2/health/ready")[0] == 200
        assert calls == [1]  # the warm-up, before any request
        assert post(running.url, "/predict", {"texts": ["a", "b"]})[0] == 200
    assert calls == [1, 2]


def test_a_request_cut_off_by_the_graceful_timeout_gets_a_json_503(model_dir, caplog):  # noqa: F811
    # before: uvicorn cancelled it and answered a plain-text "Internal Server Error", and
    # logged a traceback ("Exception in ASGI application")
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import uvicorn

    from labeling.serve.server import bind

    server = build_server(model_dir)
    real, entered, release = server.exported.predict_proba, threading.Event(), threading.Event()

    def blocking(texts):
        entered.set()
        release.wait(60)
        return real(texts)

    server.batcher.predict_proba = blocking
    sock = bind("127.0.0.1", 0)
    url = "http://127.0.0.1:%d" % sock.getsockname()[1]
    uv = uvicorn.Server(uvicorn.Config(server.app, log_level="warning", lifespan="on",
                                       timeout_graceful_shutdown=0.5))
    thread = threading.Thread(target=uv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        for _ in range(1200):
            if uv.started:
                break
            thread.join(0.05)
        with caplog.at_level(logging.WARNING, logger="labeling.serve"):
            with ThreadPoolExecutor(1) as pool:
                pending = pool.submit(request, url, "POST", "/predict", {"texts": ["a"]})
                assert entered.wait(60)
                uv.should_exit = True  # SIGTERM, while the model holds the request
                status, kind, raw = pending.result(60)
    finally:
        release.set()
        thread.join(60)
        sock.close()
    assert not thread.is_alive()
    assert (status, kind) == (503, "application/json"), raw
    assert json.loads(raw) == {"error": "the server stopped before the model answered this "
                                        "request; retry (on another server)"}
    assert any("cut off" in r.getMessage() for r in caplog.records)


def test_graceful_timeout_reaches_the_server_and_must_be_positive(model_dir, monkeypatch):  # noqa: F811
    from typer.testing import CliRunner

    import labeling.serve as serve_module
    from labeling.cli import app

    got = {}
    monkeypatch.setattr(serve_module, "build_server", lambda **options: type(
        "S", (), {"name": "m", "exported": type("E", (), {"runtime": "sklearn"})})())
    monkeypatch.setattr(serve_module, "serve", lambda *args, **kw: got.update(args=args))
    result = CliRunner().invoke(app, ["serve", "-m", str(model_dir), "--graceful-timeout",
                                      "25"])
    assert result.exit_code == 0, result.output
    assert 25.0 in got["args"]
    for bad in ("0", "-1", "nan"):
        result = CliRunner().invoke(app, ["serve", "-m", str(model_dir),
                                          "--graceful-timeout", bad])
        assert result.exit_code == 2 and "--graceful-timeout must be a number of seconds > 0" \
            in result.output, result.output


def test_model_metadata_says_which_model_answers(model_dir):  # noqa: F811
    # before: only the 12-digit version; the model file's full sha256 (to compare with
    # the card handed over), the export time and the versions were not visible over HTTP
    import labeling
    from labeling.export.card import read_card

    card = read_card(model_dir)
    server = build_server(model_dir)
    with ThreadServer(server) as running:
        status, _, raw = request(running.url, "GET", "/v2/models/youtube")
    about = json.loads(raw)["parameters"]["provenance"]
    assert status == 200 and about == {
        "model_sha256": card["model_sha256"], "exported_at": card["exported_at"],
        "task": "youtube", "end_model": card.get("end_model", {}).get("name"),
        "exported_with": card["versions"]["labeling"], "served_with": labeling.__version__,
        "runtime": "sklearn"}
    # the version users read is the export time (s16); the hash stays in the provenance
    assert json.loads(raw)["versions"] == [export_version(card)]


def test_stats_count_the_answers_per_label_for_drift_monitoring(model_dir):  # noqa: F811
    # before: nothing over HTTP said which labels the server had been answering; a monitor
    # now reads these counters now and then (GET /stats), an interval's label distribution
    # being the difference of two reads
    server = build_server(model_dir)
    texts = ["check out my channel", "subscribe to my channel", "lovely song", "", "nice"]
    with ThreadServer(server) as running:
        status, _, raw = request(running.url, "GET", "/stats")
        before = json.loads(raw)
        assert status == 200 and before["requests"] == before["texts"] == 0
        assert before["labels"] == {"ham": 0, "spam": 0} and "no_label" not in before
        first = post(running.url, "/predict", {"texts": texts})[1]["labels"]
        second = post(running.url, "/v2/models/youtube/infer", {"inputs": [
            {"name": "text", "shape": [2], "datatype": "BYTES", "data": texts[:2]}]})[1]
        post(running.url, "/predict", {"texts": []})
        after = json.loads(request(running.url, "GET", "/stats")[2])
    answered = first + second["outputs"][0]["data"]
    assert after["requests"] == 3 and after["texts"] == 7
    assert after["labels"] == {label: answered.count(label) for label in ("ham", "spam")}
    assert after["since"] == before["since"] and after["version"] == second["model_version"]


def test_stats_of_a_multi_label_model_count_each_label_and_the_empty_sets(model_dir):  # noqa: F811
    server = build_server(model_dir)
    server.thresholds = np.array([0.5, 0.5])  # as a multi-label card's
    server._count(np.array([[0.6, 0.7], [0.1, 0.2], [0.9, 0.1]]))
    assert server.counts.tolist() == [2, 1] and server.no_label == 1 and server.texts == 3


def test_access_log_logs_each_request(model_dir, capsys):  # noqa: F811
    # before: uvicorn's access logger was set to the server's log level (warning), so
    # `labeling serve --access-log` printed nothing at all
    import threading

    import uvicorn

    from labeling.serve.server import bind, uvicorn_config

    server = build_server(model_dir)
    sock = bind("127.0.0.1", 0)
    url = "http://127.0.0.1:%d" % sock.getsockname()[1]
    uv = uvicorn.Server(uvicorn_config(server, access_log=True))
    thread = threading.Thread(target=uv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        for _ in range(2400):
            if uv.started:
                break
            thread.join(0.05)
        assert post(url, "/predict", {"texts": ["a"]})[0] == 200
        assert request(url, "GET", "/nope")[0] == 404
    finally:
        uv.should_exit = True
        thread.join(60)
        sock.close()
    output = "".join(capsys.readouterr())
    assert '"POST /predict HTTP/1.1" 200' in output and '"GET /nope HTTP/1.1" 404' in output


def test_the_servers_own_log_lines_carry_time_and_level(model_dir, capsys):  # noqa: F811
    # before: Python's last-resort handler printed a 500's reference line bare, with no
    # time to find it by in a container's log
    import re

    from labeling.serve.app import internal_error
    from labeling.serve.server import uvicorn_config

    served = logging.getLogger("labeling.serve")
    served.handlers.clear()  # one an earlier test's server added writes to its capture
    uvicorn_config(build_server(model_dir))
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        line = internal_error("POST", "/predict")
    finally:
        served.handlers.clear()
    reference = line.split("reference ")[1].split(";")[0]
    err = capsys.readouterr().err
    assert re.search(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ ERROR labeling.serve: internal "
                     rf"error {reference} serving POST /predict$", err, re.M), err
    assert "RuntimeError: boom" in err


def test_a_model_failing_on_its_first_text_stops_the_start_with_one_line(model_dir):  # noqa: F811
    # before: uvicorn's traceback, then its sys.exit(3) went past run_uvicorn's own line
    # ("the server did not start; see the log above"), so nothing named the model
    from labeling.errors import LabelingError
    from labeling.serve.server import bind, run_uvicorn

    server = build_server(model_dir)

    def broken(texts):
        raise RuntimeError("cannot load encoder\nfrom /models/x")

    server.exported.predict_proba = broken
    sock = bind("127.0.0.1", 0)
    try:
        with pytest.raises(LabelingError) as raised:
            run_uvicorn(server, sock)
    finally:
        sock.close()
    assert str(raised.value) == (f"the server did not start: model {server.name!r} failed on "
                                 "its first text (RuntimeError: cannot load encoder from "
                                 "/models/x)")
