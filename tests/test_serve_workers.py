"""`labeling serve --workers N`: N server processes on one port (SO_REUSEPORT).

A real server on 127.0.0.1 (the CLI in a subprocess): connections land on every worker
(checked from /proc: which process holds each accepted connection), and every worker
answers both APIs exactly as `labeling predict` does, with the same limits and one-line
errors; SIGTERM and Ctrl+C stop all of them (exit 0, no process left); a killed worker is
replaced; a killed parent's workers stop themselves; bad settings are one-line errors.

No timing asserts: timeouts only keep a broken server from hanging the suite."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent))
from test_serve import (CLI, LIMITS, TIMEOUT, _export, expected, infer_body,  # noqa: E402,F401
                        stop, texts)
from test_serve_model_process import _pid_gone  # noqa: E402

from labeling.cli import app  # noqa: E402
from labeling.serve.workers import max_workers  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    import pandas as pd

    dev = pd.read_csv(REPO_ROOT / "data" / "youtube" / "dev.csv")
    return _export(tmp_path_factory.mktemp("workers") / "model", dev["text"].tolist(),
                   ["ham", "spam"], (dev["label"] == "spam").to_numpy(int))


def start(model_dir: Path, *extra: str, **popen) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([*CLI, "serve", "--model", str(model_dir), "--port", "0",
                             "--workers", "2", *extra], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **popen)
    line = proc.stdout.readline()  # printed once every worker is ready
    if " on http://" not in line:
        proc.kill()
        pytest.fail(f"labeling serve --workers did not start: {line!r} {proc.stderr.read()}")
    return proc, line.split(" on ")[1].split()[0]


def descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                kids = Path(f"/proc/{p}/task/{task}/children").read_text().split()
                found += [int(k) for k in kids]
                todo += [int(k) for k in kids]
        except FileNotFoundError:
            pass
    return found


def listening_pids(port: int) -> dict[int, int]:
    """{socket inode: pid} of the processes listening on 127.0.0.1:``port``."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1].endswith(f":{port:04X}") and fields[3] == "0A":  # LISTEN
            inodes.add(int(fields[9]))
    return _owners(inodes)


def _owners(inodes: set[int]) -> dict[int, int]:
    owners = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
                if link.startswith("socket:[") and int(link[8:-1]) in inodes:
                    owners[int(link[8:-1])] = int(pid)
        except (FileNotFoundError, PermissionError, ProcessLookupError):
            continue
    return owners


def connection_owner(port: int, client_port: int) -> int | None:
    """The pid of the process holding the server side of the connection from
    ``client_port`` to ``port``."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if (fields[1].endswith(f":{port:04X}") and fields[2].endswith(f":{client_port:04X}")
                and fields[3] == "01"):  # ESTABLISHED
            return _owners({int(fields[9])}).get(int(fields[9]))
    return None


def wait_listening(port: int, count: int, gone: int | None = None) -> dict[int, int]:
    """{inode: pid} once ``count`` sockets listen on ``port``, none of them ``gone``'s."""
    for _ in range(TIMEOUT * 10):
        owners = listening_pids(port)
        if len(owners) == count and gone not in owners.values():
            return owners
        time.sleep(0.1)
    pytest.fail(f"{count} listening sockets expected on port {port}, found {owners}")


def test_every_worker_answers_as_labeling_predict_with_the_same_limits(model_dir, texts,
                                                                      expected):
    args = [str(a) for pair in LIMITS.items() for a in pair]
    proc, url = start(model_dir, *args)
    port = int(url.rsplit(":", 1)[1])
    workers = set(wait_listening(port, 2).values())
    try:
        assert len(workers) == 2 and workers <= set(descendants(proc.pid))
        want = np.array([expected[t] for t in texts])
        labels = [["ham", "spam"][k] for k in want.argmax(1)]
        connections, served_by = [], {}
        for _ in range(24):  # new connections spread over the workers by the kernel
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
            connection.connect()
            connections.append(connection)
        for connection in connections:  # keep-alive: every request on its worker
            connection.request("POST", "/predict", body=json.dumps({"texts": texts}))
            body = json.loads(connection.getresponse().read())
            assert np.array_equal(np.array(body["probabilities"]), want)  # equal, not close
            assert body["labels"] == labels
            connection.request("POST", "/v2/models/youtube/infer",
                               body=json.dumps(infer_body(texts)))
            outputs = json.loads(connection.getresponse().read())["outputs"]
            assert outputs[0]["data"] == labels
            assert np.array_equal(np.array(outputs[1]["data"], np.float32).reshape(-1, 2),
                                  want.astype(np.float32))
            # the limits and one-line errors of one server hold in every worker
            for body, status, text in [(b'{"texts": ["a"', 400, "not valid JSON"),
                                       (json.dumps({"texts": ["x" * 5_001]}), 413,
                                        "at most 5000 per text")]:
                connection.request("POST", "/predict", body=body)
                response = connection.getresponse()
                raw = response.read()
                assert response.status == status and text in json.loads(raw)["error"]
                assert b"\n" not in raw.strip()
            connection.request("GET", "/v2/models/nope")
            response = connection.getresponse()
            assert response.status == 404 and "unknown model" in json.loads(response.read())[
                "error"]
            owner = connection_owner(port, connection.sock.getsockname()[1])
            served_by[owner] = served_by.get(owner, 0) + 1
        # each of the 24 connections is held by one of the two workers, and both got some
        # (all on one would have chance 2**-23 with the kernel's hash)
        assert set(served_by) == workers, served_by
        for connection in connections:
            connection.close()
        everyone = descendants(proc.pid)
    finally:
        code, output = stop(proc, signal.SIGTERM)
    assert code == 0 and "stopped" in output and "Traceback" not in output, output
    assert all(_pid_gone(pid) for pid in everyone)  # no orphan worker (or tracker)


def test_ctrl_c_to_the_group_stops_all_a_killed_worker_is_replaced(model_dir):
    proc, url = start(model_dir, start_new_session=True)
    port = int(url.rsplit(":", 1)[1])
    try:
        first = wait_listening(port, 2)
        victim = sorted(first.values())[0]
        os.kill(victim, signal.SIGKILL)
        assert _pid_gone(victim)
        wait_listening(port, 2, gone=victim)  # a new worker, on a new socket
        text = ["check out my channel"]
        for _ in range(6):  # fresh connections: whichever worker, the same answer
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
            connection.request("POST", "/predict", body=json.dumps({"texts": text}))
            response = connection.getresponse()
            assert response.status == 200 and json.loads(response.read())["labels"] == ["spam"]
            connection.close()
        everyone = descendants(proc.pid)
        os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl+C does
        out, err = proc.communicate(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0 and "stopped" in out and "Traceback" not in err, err
    assert f"worker {victim} exited" in err
    assert all(_pid_gone(pid) for pid in everyone)


def test_workers_of_a_killed_parent_stop_themselves(model_dir):
    proc, url = start(model_dir)
    port = int(url.rsplit(":", 1)[1])
    workers = list(wait_listening(port, 2).values())
    proc.kill()  # SIGKILL: the parent cannot stop them
    proc.communicate(timeout=TIMEOUT)
    assert all(_pid_gone(pid) for pid in workers)
    with pytest.raises(OSError):  # nobody listens any more
        socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT).close()


def test_bad_settings_are_one_line_errors(model_dir, tmp_path):
    runner = CliRunner()

    def error(*args: str) -> str:
        result = runner.invoke(app, ["serve", "--model", str(model_dir), *args])
        assert result.exit_code == 2, result.output
        return result.output.strip()

    top = max_workers()
    assert error("--workers", "0") == (f"error: --workers 0: must be between 1 and {top} "
                                       "(the number of CPUs)")
    assert error("--workers", str(top + 1)).startswith(f"error: --workers {top + 1}: must")
    assert "choose one" in error("--workers", "2", "--model-process")
    assert "not a loopback address" in error("--workers", "2", "--host", "0.0.0.0")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        assert error("--workers", "2", "--port", str(busy.getsockname()[1])) == (
            f"error: cannot listen on 127.0.0.1:{busy.getsockname()[1]}: Address already in use")
    # a folder the workers cannot load: their reason, one line, nothing left running
    proc = subprocess.run([*CLI, "serve", "--model", str(tmp_path), "--port", "0",
                           "--workers", "2"], capture_output=True, text=True, timeout=TIMEOUT * 3)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip() == f"error: {tmp_path}: no model_card.json; is this an " \
                                  "exported model folder?"
