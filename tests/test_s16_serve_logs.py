"""`labeling serve`'s log lines as JSON (``log_format="json"``, session 16): every line
on stdout and stderr one JSON object, a 500's reference as the client got it, no query
string or request text. A real server on 127.0.0.1, bounded traffic."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_s16_serve_batching import uvicorn_thread  # noqa: E402
from test_serve import model_dir, post, request  # noqa: E402,F401

from labeling.errors import LabelingError  # noqa: E402
from labeling.serve import build_server  # noqa: E402
from labeling.serve.server import serve, uvicorn_config  # noqa: E402

SECRET = "tok3n-s3cret"


def _served(server, log_format, calls):
    try:
        with uvicorn_thread(lambda: uvicorn_config(server, access_log=True,
                                                   log_format=log_format)) as (_, url):
            return [call(url) for call in calls]
    finally:
        logging.getLogger("labeling.serve").handlers.clear()  # the next test's own


def test_json_log_lines_one_object_each_with_the_500s_reference(model_dir, capsys):  # noqa: F811
    server = build_server(model_dir)
    real, failures = server.exported.predict_proba, ["the model broke on " + SECRET]

    def failing_once(texts):
        if failures:
            raise RuntimeError(failures.pop())
        return real(texts)

    server.batcher.predict_proba = failing_once
    logging.getLogger("labeling.serve").handlers.clear()
    failed, ok, missing = _served(server, "json", [
        lambda url: post(url, "/predict", {"texts": ["my text " + SECRET]}),
        lambda url: post(url, f"/predict?token={SECRET}", {"texts": ["my text " + SECRET]}),
        lambda url: request(url, "GET", "/nope")])
    out, err = capsys.readouterr()
    assert failed[0] == 500 and ok[0] == 200 and missing[0] == 404
    lines = [json.loads(line) for line in (out + err).splitlines() if line.strip()]
    assert lines and all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    requests = [line for line in lines if line["logger"] == "uvicorn.access"]
    assert [(r["method"], r["path"], r["status"]) for r in requests] == [
        ("POST", "/predict", 500), ("POST", "/predict", 200), ("GET", "/nope", 404)]
    reference = failed[1]["error"].split("reference ")[1].split(";")[0]
    errors = [line for line in lines if line["level"] == "ERROR"]
    assert len(errors) == 1 and errors[0]["reference"] == reference
    assert errors[0]["logger"] == "labeling.serve" and "RuntimeError" in errors[0]["exception"]
    # the exception's own text is the server log's to keep (as in text); the query string
    # and the request's texts are not logged
    assert "my text" not in out + err and f"token={SECRET}" not in out + err


def test_text_log_lines_are_unchanged_by_default(model_dir, capsys):  # noqa: F811
    server = build_server(model_dir)
    logging.getLogger("labeling.serve").handlers.clear()
    _served(server, "text", [lambda url: request(url, "GET", "/nope")])
    out = capsys.readouterr().out
    assert '"GET /nope HTTP/1.1" 404' in out and not out.lstrip().startswith("{")


def test_text_access_lines_leave_the_query_string_out(model_dir, capsys):  # noqa: F811
    # before: only the JSON lines stripped it; the text access line kept "?token=..."
    server = build_server(model_dir)
    logging.getLogger("labeling.serve").handlers.clear()
    _served(server, "text", [lambda url: request(url, "GET", f"/v2?token={SECRET}")])
    out, err = capsys.readouterr()
    assert '"GET /v2 HTTP/1.1" 200' in out and SECRET not in out + err


def test_an_unknown_log_format_is_one_line(model_dir):  # noqa: F811
    with pytest.raises(LabelingError, match=r"--log-format 'xml': must be one of text, json"):
        serve(build_server(model_dir), port=0, log_format="xml")
