"""`labeling serve` (session 16): every error answer is the one-line JSON error, on the
Starlette routes too (GET), logged once; the model's v2 version is its export time, which
a person reads, the server's version labeling's, the sha256 in provenance. A real server
on 127.0.0.1, bounded traffic, no timing asserts."""

from __future__ import annotations

import http.client
import json
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_s16_serve_batching import uvicorn_thread  # noqa: E402
from test_serve import (TIMEOUT, HeldModel, ThreadServer, model_dir, post,  # noqa: E402,F401
                        request)

import labeling  # noqa: E402
from labeling.serve import build_server  # noqa: E402


class _Records(logging.Handler):
    """Every record of uvicorn's loggers (they do not propagate to caplog's) and ours."""

    def __enter__(self):
        self.records = []
        for name in ("uvicorn", "labeling.serve"):
            logging.getLogger(name).addHandler(self)
        return self

    def __exit__(self, *exc):
        for name in ("uvicorn", "labeling.serve"):
            logging.getLogger(name).removeHandler(self)

    def emit(self, record):
        self.records.append(record)


def _broken_provenance(*args, **kwargs):
    raise RuntimeError("/home/alice/secret.csv")


def test_a_get_failing_inside_gets_one_json_500_logged_once_and_keeps_its_connection(
        model_dir, monkeypatch):  # noqa: F811
    # before: the JSON 500 went out, then Starlette re-raised the exception: uvicorn
    # logged it a second time ("Exception in ASGI application", no reference) and closed
    # the keep-alive connection
    import labeling.serve.app as app_module

    server = build_server(model_dir)
    monkeypatch.setattr(app_module, "provenance", _broken_provenance)
    running = ThreadServer(server)  # (uvicorn's loggers set up: then the records')
    with _Records() as caplog, running:
        host, port = running.url.removeprefix("http://").rsplit(":", 1)
        connection = http.client.HTTPConnection(host, int(port), timeout=TIMEOUT)
        try:
            connection.request("GET", "/v2/models/youtube")
            first = connection.getresponse()
            status, kind, raw = first.status, first.getheader("content-type"), first.read()
            connection.request("GET", "/v2/health/live")  # the same connection
            again = connection.getresponse()
            live = again.status, again.read()
        finally:
            connection.close()
    assert (status, kind) == (500, "application/json") and b"\n" not in raw.strip()
    message = json.loads(raw)["error"]
    assert message.startswith("internal error (reference ") and "alice" not in message
    reference = message.split("reference ")[1].split(";")[0]
    logged = [r for r in caplog.records if r.exc_info]
    assert len(logged) == 1 and reference in logged[0].getMessage(), [
        r.getMessage() for r in logged]
    assert not any("Exception in ASGI application" in r.getMessage() for r in caplog.records)
    assert live == (200, b'{"live":true}')


def test_an_error_escaping_the_starlette_routes_is_a_json_500_not_plain_text(
        model_dir):  # noqa: F811
    # before: uvicorn's own "Internal Server Error" (text/plain) and its traceback
    server = build_server(model_dir)

    async def broken(scope, receive, send):
        if scope["type"] == "lifespan":
            return await starlette(scope, receive, send)
        raise RuntimeError("/home/alice/secret.csv")

    starlette, server.starlette = server.starlette, broken
    running = ThreadServer(server)  # (uvicorn's loggers set up: then the records')
    with _Records() as caplog, running:
        status, kind, raw = request(running.url, "GET", "/stats")
        posted = post(running.url, "/predict", {"texts": ["a"]})  # the hot path
    assert (status, kind) == (500, "application/json"), raw
    assert json.loads(raw)["error"].startswith("internal error (reference ")
    assert posted[0] == 200
    assert not any("Exception in ASGI application" in r.getMessage() for r in caplog.records)


def test_a_cancelled_get_is_the_json_503_of_a_cut_off_request(model_dir):  # noqa: F811
    # a stop out of time cancels every request still running, those on Starlette's
    # routes too: they got uvicorn's plain-text 500
    import asyncio

    server = build_server(model_dir)

    async def cancelled(scope, receive, send):
        raise asyncio.CancelledError

    server.starlette = cancelled
    sent = []

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": "/v2/health/ready", "headers": []}
    asyncio.run(server(scope, None, send))
    assert sent[0]["status"] == 503
    assert json.loads(sent[1]["body"]) == {"error": "the server stopped before the model "
                                                    "answered this request; retry (on "
                                                    "another server)"}


def test_the_model_version_is_its_export_time_and_the_server_version_labelings(
        model_dir):  # noqa: F811
    # before: the model's version was the model file's sha256 prefix ("45a83a647cb7"),
    # and GET /v2 gave that as the *server's* version (the protocol's server metadata
    # names the server software)
    from labeling.export.card import read_card

    card = read_card(model_dir)
    stamp = card["exported_at"]  # 2026-12-07T14:16:08+00:00
    readable = (stamp[:10].replace("-", "") + "T" + stamp[11:19].replace(":", "") + "Z")
    server = build_server(model_dir)
    body = {"inputs": [{"name": "text", "shape": [1], "datatype": "BYTES", "data": ["a"]}]}
    with ThreadServer(server) as running:
        meta = json.loads(request(running.url, "GET", "/v2/models/youtube")[2])
        about = json.loads(request(running.url, "GET", "/v2")[2])
        stats = json.loads(request(running.url, "GET", "/stats")[2])
        inferred = post(running.url, f"/v2/models/youtube/versions/{readable}/infer", body)
        pinned = post(running.url, "/v2/models/youtube/versions/"
                      f"{card['model_sha256'][:12]}/infer", body)  # the old version
        wrong = post(running.url, "/v2/models/youtube/versions/20990101T000000Z/infer",
                     body)
    assert meta["versions"] == [readable] and stats["version"] == readable
    assert meta["parameters"]["provenance"]["model_sha256"] == card["model_sha256"]
    assert about == {"name": "labeling", "version": labeling.__version__, "extensions": [],
                     "models": ["youtube"]}
    assert inferred[0] == 200 and inferred[1]["model_version"] == readable
    assert pinned[0] == 200 and pinned[1]["outputs"] == inferred[1]["outputs"]
    assert wrong[0] == 404 and readable in wrong[1]["error"]


def test_a_card_without_an_export_time_keeps_the_sha256_version():
    from labeling.serve.server import export_version

    sha = "c2d36d6dcb84" + "0" * 52
    assert export_version({"model_sha256": sha}) == "c2d36d6dcb84"
    assert export_version({"model_sha256": sha, "exported_at": "yesterday"}) == "c2d36d6dcb84"
    assert export_version({"exported_at": "2026-12-07T15:16:08+01:00"}) == "20261207T141608Z"


def test_a_compressed_body_is_a_415_naming_its_encoding(model_dir):  # noqa: F811
    # before: a gzip body (a client or proxy compressing requests) was read as text:
    # "request body is not valid UTF-8 (byte 1) (Content-Type: ...)", which blamed the
    # Content-Type
    import gzip

    server = build_server(model_dir)
    body = gzip.compress(json.dumps({"texts": ["a"]}).encode())
    with ThreadServer(server) as running:
        status, kind, raw = request(running.url, "POST", "/predict", body,
                                    headers={"Content-Encoding": "gzip"})
        plain = request(running.url, "POST", "/predict", json.dumps({"texts": ["a"]}),
                        headers={"Content-Encoding": "identity"})
    assert (status, kind) == (415, "application/json")
    assert json.loads(raw) == {"error": "Content-Encoding 'gzip': the server reads only "
                                        "uncompressed JSON bodies; send it without "
                                        "compression"}
    assert plain[0] == 200


def test_a_second_signal_stops_without_a_traceback_and_answers_json(model_dir):  # noqa: F811
    # before: on a second SIGTERM/Ctrl+C (uvicorn's force exit) the waiting request got
    # its JSON 503, but the lifespan, cancelled by the event loop's end, was logged as a
    # failed shutdown with a CancelledError traceback
    from concurrent.futures import ThreadPoolExecutor

    import uvicorn

    server = build_server(model_dir)
    blocking = HeldModel(server)
    entered, release = blocking.entered, blocking.release

    config = lambda: uvicorn.Config(server.app, log_level="warning",  # noqa: E731
                                    lifespan="on")
    caplog = _Records()
    with uvicorn_thread(config, logged=caplog) as (uv, url), ThreadPoolExecutor(1) as pool:
        server.batcher.predict_proba = blocking
        try:
            pending = pool.submit(request, url, "POST", "/predict", {"texts": ["a"]})
            assert entered.wait(TIMEOUT)
            uv.force_exit = uv.should_exit = True  # SIGTERM, then another
            status, kind, raw = pending.result(TIMEOUT)
        finally:
            release.set()
    assert (status, kind) == (503, "application/json"), raw
    assert not [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
