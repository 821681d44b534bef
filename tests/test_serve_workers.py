"""`labeling serve --workers N`: N server processes sharing the parent's listening socket.

A real server on 127.0.0.1 (the CLI in a subprocess): connections land on the workers
(checked from /proc: which process holds each accepted connection), and every worker
answers both APIs exactly as `labeling predict` does, with the same limits and one-line
errors; SIGTERM and Ctrl+C stop all of them (exit 0, no process left); a killed worker is
replaced; a killed parent's workers stop themselves; bad settings are one-line errors; a
second server on a port in use does not start.

No timing asserts: timeouts only keep a broken server from hanging the suite, and every
test kills what it started (the parent's group, then each worker seen) in ``finally``."""

from __future__ import annotations

import http.client
import json
import multiprocessing
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent))
from test_serve import (CLI, LIMITS, TIMEOUT, _export, expected, infer_body,  # noqa: E402,F401
                        texts)
from test_serve_model_process import _pid_gone  # noqa: E402

from labeling.cli import app  # noqa: E402
from labeling.serve.workers import max_workers, start_ignoring_sigint  # noqa: E402
from serve_worker_targets import worker_with_a_model_that_never_loads  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    import pandas as pd

    dev = pd.read_csv(REPO_ROOT / "data" / "youtube" / "dev.csv")
    return _export(tmp_path_factory.mktemp("workers") / "model", dev["text"].tolist(),
                   ["ham", "spam"], (dev["label"] == "spam").to_numpy(int))


def _line_reader(stream) -> "queue.Queue[str]":
    """Lines of ``stream`` as they arrive (a thread, so a read can time out)."""
    lines: queue.Queue = queue.Queue()

    def pump():
        for line in iter(stream.readline, ""):
            lines.put(line)
        lines.put("")  # EOF

    threading.Thread(target=pump, daemon=True).start()
    return lines


def _drain(lines: queue.Queue) -> str:
    """What ``lines`` holds until EOF, waiting at most TIMEOUT for each line."""
    text = []
    try:
        while line := lines.get(timeout=TIMEOUT):
            text.append(line)
    except queue.Empty:
        text.append("<no EOF: the stream is still open>")
    return "".join(text)


class Server:
    """``labeling serve --workers 2`` in its own session (so the whole group can be killed),
    its output read by threads (every read bounded, workers holding the pipes or not)."""

    def __init__(self, model_dir: Path, *extra: str, port: int = 0):
        self.proc = subprocess.Popen([*CLI, "serve", "--model", str(model_dir), "--port",
                                      str(port), "--workers", "2", *extra],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, start_new_session=True)
        self.out, self.err = _line_reader(self.proc.stdout), _line_reader(self.proc.stderr)
        self.seen: set[int] = set()  # every worker pid seen: killed at the end

    def url(self) -> str:
        try:
            line = self.out.get(timeout=TIMEOUT * 3)  # printed once every worker is ready
        except queue.Empty:
            line = "<nothing>"
        if " on http://" not in line:
            self.kill()
            pytest.fail(f"labeling serve --workers did not start: {line!r} "
                        f"{_drain(self.err)}")
        return line.split(" on ")[1].split()[0]

    def workers(self, port: int, gone: int | None = None) -> list[int]:
        found = wait_workers(port, self.proc.pid, gone)
        self.seen.update(found)
        return found

    def finish(self, sig=signal.SIGTERM, group: bool = False) -> tuple[int, str, str]:
        """Send ``sig``; (status, stdout, stderr) once it exited and its pipes closed."""
        self.seen.update(descendants(self.proc.pid))
        if group:
            os.killpg(self.proc.pid, sig)
        else:
            self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            pytest.fail("the server did not stop on a signal")
        return code, _drain(self.out), _drain(self.err)

    def kill(self) -> None:
        """Kill the group and every worker seen (no-op for what is gone)."""
        self.seen.update(descendants(self.proc.pid))
        for kill in [lambda: os.killpg(self.proc.pid, signal.SIGKILL),
                     *[lambda pid=pid: os.kill(pid, signal.SIGKILL) for pid in self.seen]]:
            try:
                kill()
            except (ProcessLookupError, PermissionError):
                pass
        self.proc.wait(timeout=TIMEOUT)


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


def listening_sockets(port: int) -> set[int]:
    """The inodes of the sockets listening on 127.0.0.1:``port``."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1].endswith(f":{port:04X}") and fields[3] == "0A":  # LISTEN
            inodes.add(int(fields[9]))
    return inodes


def _holders(inodes: set[int]) -> dict[int, set[int]]:
    """{socket inode: pids of the processes holding it}."""
    holders: dict[int, set[int]] = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
                if link.startswith("socket:[") and int(link[8:-1]) in inodes:
                    holders.setdefault(int(link[8:-1]), set()).add(int(pid))
        except (FileNotFoundError, PermissionError, ProcessLookupError):
            continue
    return holders


def _owners(inodes: set[int]) -> dict[int, int]:
    return {inode: min(pids) for inode, pids in _holders(inodes).items()}


def connection_owner(port: int, client_port: int) -> int | None:
    """The pid of the process holding the server side of the connection from
    ``client_port`` to ``port``."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if (fields[1].endswith(f":{port:04X}") and fields[2].endswith(f":{client_port:04X}")
                and fields[3] == "01"):  # ESTABLISHED
            return _owners({int(fields[9])}).get(int(fields[9]))
    return None


def wait_workers(port: int, parent: int, gone: int | None = None) -> list[int]:
    """The 2 worker pids once one socket listens on ``port``, held by ``parent`` and two
    workers (its descendants), none of them ``gone``."""
    for _ in range(TIMEOUT * 10):
        inodes = listening_sockets(port)
        holders = _holders(inodes)
        pids = set().union(*holders.values()) if holders else set()
        workers = sorted(pids - {parent})
        if (len(inodes) == 1 and parent in pids and len(workers) == 2 and gone not in workers
                and set(workers) <= set(descendants(parent))):
            return workers
        time.sleep(0.1)
    pytest.fail(f"one listening socket held by the parent {parent} and 2 workers expected "
                f"on port {port}, found {holders}")


def test_every_worker_answers_as_labeling_predict_with_the_same_limits(model_dir, texts,
                                                                      expected):
    args = [str(a) for pair in LIMITS.items() for a in pair]
    server = Server(model_dir, *args)
    try:
        port = int(server.url().rsplit(":", 1)[1])
        workers = set(server.workers(port))
        want = np.array([expected[t] for t in texts])
        labels = [["ham", "spam"][k] for k in want.argmax(1)]
        connections, served_by = [], {}
        # whichever worker accepts first takes a connection (one may take them all): to
        # reach both, the first worker is paused while the second accepts one
        for _ in range(2):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
            connection.request("GET", "/v2/health/ready")  # accepted once this is answered
            assert connection.getresponse().read() is not None
            connections.append(connection)
            owner = connection_owner(port, connection.sock.getsockname()[1])
            assert owner in workers
            if len(connections) == 1:
                paused = owner
                os.kill(paused, signal.SIGSTOP)  # (kill() in finally: SIGKILL ends it stopped)
        os.kill(paused, signal.SIGCONT)
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
        assert set(served_by) == workers, served_by  # each worker answered on its own
        for connection in connections:
            connection.close()
        code, out, err = server.finish(signal.SIGTERM)
        assert code == 0 and "stopped" in out + err and "Traceback" not in err, err
        assert all(_pid_gone(pid) for pid in server.seen)  # no orphan worker (or tracker)
    finally:
        server.kill()


def test_ctrl_c_to_the_group_stops_all_a_killed_worker_is_replaced(model_dir):
    server = Server(model_dir)
    try:
        port = int(server.url().rsplit(":", 1)[1])
        victim = server.workers(port)[0]
        os.kill(victim, signal.SIGKILL)
        assert _pid_gone(victim)
        server.workers(port, gone=victim)  # a new worker, on the same socket
        text = ["check out my channel"]
        for _ in range(6):  # fresh connections: whichever worker, the same answer
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
            connection.request("POST", "/predict", body=json.dumps({"texts": text}))
            response = connection.getresponse()
            assert response.status == 200 and json.loads(response.read())["labels"] == ["spam"]
            connection.close()
        # what a terminal's Ctrl+C does: SIGINT to the group
        code, out, err = server.finish(signal.SIGINT, group=True)
        assert code == 0 and "stopped" in out + err and "Traceback" not in err, err
        assert f"worker {victim} exited" in err
        assert all(_pid_gone(pid) for pid in server.seen)
    finally:
        server.kill()


def test_workers_of_a_killed_parent_stop_themselves(model_dir):
    server = Server(model_dir)
    try:
        port = int(server.url().rsplit(":", 1)[1])
        workers = server.workers(port)
        server.proc.kill()  # SIGKILL, to the parent only: it cannot stop them
        server.proc.wait(timeout=TIMEOUT)
        assert all(_pid_gone(pid) for pid in workers)
        with pytest.raises(OSError):  # nobody listens any more
            socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT).close()
    finally:
        server.kill()


def test_a_worker_still_loading_its_model_stops_when_its_parent_dies():
    # before: a worker watched its parent only once its model had loaded, so a parent
    # killed during a (long) load left the worker to finish loading and serve on the
    # socket, an orphan. Closing the parent's end of the pipe is what the kernel does
    # when the parent dies.
    context = multiprocessing.get_context("spawn")
    parent_end, child_end = context.Pipe()
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        process = context.Process(target=worker_with_a_model_that_never_loads,
                                  args=(child_end, listening), daemon=True)
        process.start()
    child_end.close()
    try:
        time.sleep(1)  # whatever the moment: the worker is loading until it is told
        assert process.is_alive()
        parent_end.close()
        process.join(TIMEOUT)
        assert process.exitcode == -signal.SIGTERM
    finally:
        if process.is_alive():
            process.kill()
            process.join(TIMEOUT)


def test_a_replacement_that_cannot_start_is_retried_while_the_other_worker_serves(
        model_dir, tmp_path):
    # before: a replacement worker that failed to load stopped the whole server (exit 2),
    # the healthy worker with it, and was not counted as an exit
    folder = tmp_path / "model"
    shutil.copytree(model_dir, folder)
    server = Server(folder)
    try:
        port = int(server.url().rsplit(":", 1)[1])
        victim, survivor = server.workers(port)
        card = folder / "model_card.json"
        card.rename(tmp_path / "card.json")  # the folder stops loading
        os.kill(victim, signal.SIGKILL)
        seen = []  # the victim's exit, then the first replacement's failure
        while not seen or ("could not start" not in seen[-1] and seen[-1] and len(seen) < 20):
            seen.append(server.err.get(timeout=TIMEOUT))  # "" once stderr closed
        assert f"worker {victim} exited" in seen[0], seen
        assert "a new worker could not start" in seen[-1], seen
        assert "no model_card.json" in seen[-1], seen
        assert server.proc.poll() is None  # still serving, on the survivor
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
        connection.request("POST", "/predict", body=json.dumps({"texts": ["my channel"]}))
        assert connection.getresponse().status == 200
        assert connection_owner(port, connection.sock.getsockname()[1]) == survivor
        connection.close()
        (tmp_path / "card.json").rename(card)  # loads again: the next attempt starts
        server.workers(port, gone=victim)
        code, out, err = server.finish(signal.SIGTERM)
        assert code == 0 and "stopped" in out + err and "Traceback" not in err, err
    finally:
        server.kill()


def test_a_second_server_on_the_port_of_a_first_does_not_start(model_dir):
    # before: both bound with SO_REUSEPORT, so the second started and the kernel split the
    # connections between the two servers (two different models on one address)
    first = Server(model_dir)
    second = None
    try:
        port = int(first.url().rsplit(":", 1)[1])
        first.workers(port)
        second = Server(model_dir, port=port)
        try:
            code = second.proc.wait(timeout=TIMEOUT * 3)
        except subprocess.TimeoutExpired:
            pytest.fail("a second server started on a port in use")
        err = _drain(second.err)
        assert code == 2 and _drain(second.out) == ""
        assert err == f"error: cannot listen on 127.0.0.1:{port}: Address already in use\n", err
        assert len(listening_sockets(port)) == 1  # the first still serves alone
        assert first.proc.poll() is None
    finally:
        first.kill()
        if second is not None:
            second.kill()


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
    server = Server(tmp_path)
    try:
        code = server.proc.wait(timeout=TIMEOUT * 3)
        assert code == 2 and _drain(server.out) == ""
        assert _drain(server.err).strip() == f"error: {tmp_path}: no model_card.json; is " \
                                             "this an exported model folder?"
    finally:
        server.kill()


def test_a_worker_ignores_ctrl_c_from_its_first_instruction():
    # before: SIGINT was ignored only once _worker ran, so a Ctrl+C while a spawned worker
    # imported printed its KeyboardInterrupt traceback. The child raises SIGINT at itself
    # first thing: ignored, it exits 0; with Python's default handler, 1.
    process = multiprocessing.get_context("spawn").Process(target=signal.raise_signal,
                                                           args=(signal.SIGINT,))
    start_ignoring_sigint(process)
    try:
        process.join(TIMEOUT)
        assert process.exitcode == 0
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored
    finally:
        if process.is_alive():
            process.kill()
            process.join(TIMEOUT)
