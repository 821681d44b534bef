"""`labeling serve` on loopback against DNS rebinding.

The server has no authentication and listens on 127.0.0.1, but any web page the analyst
opens can make their browser send it requests; with DNS rebinding (the page's own name,
``evil.example``, re-resolved to 127.0.0.1) the page also reads the answers, since the
browser sees them as same-origin. Such a request carries the page's name in its Host
header: a loopback-only server answers only Host names of this machine's loopback.
"""

from __future__ import annotations

import json
import signal
import socket
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_serve import TIMEOUT, model_dir, start_cli_server, stop  # noqa: E402,F401

from labeling.serve.protocol import loopback_host  # noqa: E402

BODY = b'{"texts": ["check out my channel"]}'


def ask(url: str, host: bytes | None, path: bytes = b"/predict") -> tuple[int, dict]:
    """(status, JSON body) of a POST with ``host`` as its Host header (None: none)."""
    address, port = url.removeprefix("http://").rsplit(":", 1)
    head = b"POST " + path + b" HTTP/1.1\r\n" + (b"Host: " + host + b"\r\n" if host else b"")
    with socket.create_connection((address, int(port)), timeout=TIMEOUT) as sock:
        sock.sendall(head + b"Connection: close\r\nContent-Type: text/plain\r\n"
                     b"Content-Length: %d\r\n\r\n" % len(BODY) + BODY)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    status_line, _, rest = answer.partition(b"\r\n")
    return int(status_line.split()[1]), json.loads(rest.partition(b"\r\n\r\n")[2])


@pytest.fixture(scope="module")
def loopback_server(model_dir):  # noqa: F811 - the fixture imported above
    proc, url = start_cli_server(model_dir)
    yield url
    code, output = stop(proc, signal.SIGTERM)
    assert code == 0 and "Traceback" not in output, output


@pytest.mark.parametrize("host", [b"evil.example", b"evil.example:8000",
                                  b"127.0.0.1.evil.example", b"localhost.evil.example:80"])
def test_a_request_naming_another_host_is_refused(loopback_server, host):
    for path in (b"/predict", b"/v2/models/youtube"):  # the hot path and Starlette's
        status, body = ask(loopback_server, host, path)
        assert status == 403, body
        assert body["error"].startswith(f"Host {host.decode()!r} is not a loopback name")
        assert "--allow-remote" in body["error"]


@pytest.mark.parametrize("host", [b"127.0.0.1", b"127.0.0.1:8000", b"localhost:8000",
                                  b"LOCALHOST", b"[::1]:8000", None])
def test_loopback_names_and_no_host_are_answered(loopback_server, host):
    status, body = ask(loopback_server, host)
    assert status == 200 and body["labels"] == ["spam"], body


def test_each_worker_refuses_another_host_too(model_dir):  # noqa: F811
    proc, url = start_cli_server(model_dir, "--workers", "2")
    try:
        for _ in range(6):  # whichever worker accepts the connection
            assert ask(url, b"evil.example")[0] == 403
        assert ask(url, b"localhost")[0] == 200
    finally:
        assert stop(proc, signal.SIGTERM)[0] == 0


def test_allow_remote_answers_any_host_behind_a_proxy(model_dir):  # noqa: F811
    # a reverse proxy on the machine passes the public name on (proxy_set_header Host)
    proc, url = start_cli_server(model_dir, "--allow-remote")
    try:
        status, body = ask(url, b"models.example.com")
        assert status == 200 and body["labels"] == ["spam"], body
    finally:
        assert stop(proc, signal.SIGTERM)[0] == 0


def test_loopback_host():
    assert loopback_host("127.0.0.2:1") and loopback_host("[::1]") and loopback_host("localhost")
    for bad in ("", "evil", "localhost:x", "[::1]x", "127.0.0.1:80:80", "0.0.0.0",
                "[::ffff:7f00:1", "localhost.", "10.0.0.1:80"):
        assert not loopback_host(bad), bad


# --- slow clients: the request headers have --body-timeout to arrive -------------------

def _wait_answer(sock) -> bytes:
    """Everything the server sends until it closes the connection."""
    answer = b""
    while chunk := sock.recv(65536):
        answer += chunk
    return answer


@pytest.fixture(scope="module")
def impatient_server(model_dir):  # noqa: F811
    proc, url = start_cli_server(model_dir, "--body-timeout", "1")
    yield url
    code, output = stop(proc, signal.SIGTERM)
    assert code == 0 and "Traceback" not in output, output


@pytest.mark.parametrize("sent", [b"", b"POST /predict HTTP/1.1\r\nHost: localhost\r\n"],
                         ids=["nothing", "half-the-headers"])
def test_a_connection_without_whole_headers_is_closed(impatient_server, sent):
    # before: uvicorn has no timeout for a request's headers; a client holding many
    # connections open, sending nothing or a header byte now and then (slowloris), used
    # up the server's file descriptors and no one else could connect
    address, port = impatient_server.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((address, int(port)), timeout=TIMEOUT) as sock:
        sock.sendall(sent)
        answer = _wait_answer(sock)
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    body = json.loads(answer.partition(b"\r\n\r\n")[2])
    assert body == {"error": "no complete request headers within 1 s (--body-timeout)"}
    assert ask(impatient_server, b"localhost")[0] == 200  # and it goes on serving


def test_keep_alive_requests_are_not_cut_by_the_header_timeout(impatient_server):
    import time

    address, port = impatient_server.removeprefix("http://").rsplit(":", 1)
    request = (b"POST /predict HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\n\r\n"
               % len(BODY) + BODY)
    with socket.create_connection((address, int(port)), timeout=TIMEOUT) as sock:
        for _ in range(3):  # each within the timeout of the previous answer
            sock.sendall(request)
            answer = b""
            while b'"probabilities"' not in answer or not answer.endswith(b"]]}"):
                answer += sock.recv(65536)
            assert answer.startswith(b"HTTP/1.1 200 "), answer
            time.sleep(0.3)
