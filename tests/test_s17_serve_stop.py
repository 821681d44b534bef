"""`labeling serve` stopping (session 17): a connection made just before the stop gets an
answer, not a reset; a stopped server's exit does not walk the model's objects again.
Servers on 127.0.0.1 only; every wait below is a hang guard, not a timing assert."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import pytest
import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_serve import CLI, TIMEOUT, model_dir  # noqa: E402,F401

from labeling.serve import build_server  # noqa: E402
from labeling.serve.server import bind, run_uvicorn  # noqa: E402


def _request(method: str, path: str, body: bytes = b"") -> bytes:
    return (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json"
            f"\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body


def _read_all(sock: socket.socket) -> bytes:
    chunks = []
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            chunks.append(b"<reset>")
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize("method, path, body, status", [
    ("POST", "/predict", b'{"texts": ["check out my channel"]}', b"200"),
    ("GET", "/v2/health/ready", b"", b"503"),  # stopping: not ready any more
])
def test_a_connection_queued_when_the_stop_begins_is_answered(model_dir, monkeypatch,  # noqa: F811
                                                              method, path, body, status):
    # before: the stop closed the listening socket at once, and a connection the kernel
    # had completed (its request sent) but the server had not yet accepted was reset:
    # its client could not tell whether the request had run
    stop, held, connected = threading.Event(), threading.Event(), threading.Event()
    original = uvicorn.Server.on_tick

    async def on_tick(self, counter):
        if stop.is_set():  # the loop thread waits here: nothing is accepted meanwhile
            held.set()
            connected.wait(TIMEOUT)
            return True  # what SIGTERM does: the stop begins, with no loop turn first
        return await original(self, counter)

    monkeypatch.setattr(uvicorn.Server, "on_tick", on_tick)
    server = build_server(model_dir)
    sock = bind("127.0.0.1", 0)
    thread = threading.Thread(target=run_uvicorn, args=(server, sock), daemon=True)
    thread.start()
    try:
        for _ in range(TIMEOUT * 10):
            if server.ready:
                break
            thread.join(0.1)
        stop.set()
        assert held.wait(TIMEOUT)
        client = socket.create_connection(sock.getsockname(), timeout=TIMEOUT)
        client.sendall(_request(method, path, body))
        connected.set()
        answer = _read_all(client)
        client.close()
    finally:
        stop.set()
        connected.set()
        thread.join(TIMEOUT)
        sock.close()
    assert not thread.is_alive()
    head, _, content = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 " + status), answer
    assert b"connection: close" in head.lower(), head  # and then the connection closes
    if status == b"200":
        assert json.loads(content)["classes"] == ["ham", "spam"]
    else:
        assert json.loads(content) == {"ready": False}


SITECUSTOMIZE = """\
import atexit, gc, os, sys
atexit.register(lambda: sys.stderr.write(
    f"exiting {os.getpid()} with {gc.get_freeze_count()} objects frozen\\n"))
"""


def _serve_then_sigterm(model_dir: Path, *extra: str, env=None, when_ready=False):
    """`labeling serve --port 0` in a subprocess, SIGTERM on its first line (or once it
    answers ready): (its process, the first line, stdout after it, stderr)."""
    proc = subprocess.Popen([*CLI, "serve", "--model", str(model_dir), "--port", "0", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        first = proc.stdout.readline()
        if when_ready and " on http://" in first:
            url = first.split(" on ")[1].split()[0]
            with urllib.request.urlopen(url + "/v2/health/ready", timeout=TIMEOUT) as ready:
                assert ready.status == 200  # (answered once the model has run: serving)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert " on http://" in first, first + err
    return proc, first, out, err


@pytest.mark.parametrize("extra", [[], ["--workers", "2"]])
def test_a_stopped_server_exits_without_walking_the_model_objects(model_dir, tmp_path,  # noqa: F811
                                                                   extra):
    # before: the lifespan's end handed the model's ~300k objects back to the garbage
    # collector, whose last collection at the interpreter's exit walked them all: a
    # stopped server (and each worker) stayed alive 0.4-1.6 s after its last answer
    (tmp_path / "sitecustomize.py").write_text(SITECUSTOMIZE)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(tmp_path), *filter(None, [os.environ.get("PYTHONPATH")])])}
    proc, _, out, err = _serve_then_sigterm(model_dir, *extra, env=env, when_ready=True)
    assert proc.returncode == 0 and out == "stopped\n", (out, err)
    exits = {int(words[1]): int(words[3]) for words in map(str.split, err.splitlines())
             if words[:1] == ["exiting"]}  # (with --workers, multiprocessing's helper too)
    assert exits[proc.pid] > 0, err
    assert sum(frozen > 0 for frozen in exits.values()) == 1 + (2 if extra else 0), err


def test_a_sigterm_right_after_the_serving_line_is_a_graceful_stop(model_dir):  # noqa: F811
    # before: the line was printed before uvicorn had installed its signal handlers, so a
    # SIGTERM sent on seeing it (a script, an orchestrator rolling back at once) killed the
    # process: status -15, no "stopped"
    proc, _, out, err = _serve_then_sigterm(model_dir)
    assert proc.returncode == 0 and out == "stopped\n" and "Traceback" not in err, (out, err)


@pytest.mark.parametrize("args, message", [
    (["--port", "-1"], "error: --port -1: must be between 0 and 65535 (0: any free port)"),
    (["--runtime", "tf"], "error: --runtime must be sklearn, onnx or onnx_int8, not 'tf'"),
])
def test_a_bad_port_or_runtime_is_one_line_naming_the_option(model_dir, args, message):  # noqa: F811
    # before: --port -1 said "--host 127.0.0.1: cannot resolve: Servname not supported",
    # --runtime tf named no option
    from typer.testing import CliRunner

    from labeling.cli import app

    result = CliRunner().invoke(app, ["serve", "--model", str(model_dir), *args])
    assert result.exit_code == 2 and result.stderr.strip() == message, result.output


def test_a_port_beyond_65535_is_refused_not_wrapped_around():
    # before: the resolver took 70000 as 70000 - 65536: the server listened on port 4464
    from labeling.errors import LabelingError

    with pytest.raises(LabelingError, match=r"^--port 70000: must be between 0 and 65535"):
        bind("127.0.0.1", 70000).close()
