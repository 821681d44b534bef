"""`labeling serve --model-process`: the model in a child process. Its
answers are the in-process model's, bit for bit; a child that dies is replaced for the
next batch (the batch it was computing gets a JSON 500); a folder the child cannot load
stops the start with the reason; Ctrl+C (SIGINT to the whole process group) still drains
the queue through the child and exits 0; the child never outlives the server.

(tests/test_serve.py's load test runs a CLI server with --model-process too.)
No timing asserts: timeouts only keep a broken server from hanging the suite."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_serve import CLI, EDGE, TIMEOUT, _export, post  # noqa: E402

from labeling.export import load_exported  # noqa: E402
from labeling.serve.model_process import ModelProcess, ModelProcessError  # noqa: E402

TEXTS = ["subscribe to my channel", "free money now", "check out my video", "love this song",
         "great song", "beautiful voice"]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    return _export(tmp_path_factory.mktemp("model_process") / "model", TEXTS,
                   ["ham", "spam"], np.array([1, 1, 1, 0, 0, 0]))


def _pid_gone(pid: int) -> bool:
    """The process has exited (a zombie not yet reaped by its parent counts as exited)."""
    for _ in range(TIMEOUT * 10):
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.1)
    return False


def test_answers_equal_in_process_and_a_dead_child_is_replaced(model_dir):
    texts = TEXTS + EDGE
    want = load_exported(model_dir).predict_proba(texts)
    worker = ModelProcess(model_dir).start()
    try:
        assert np.array_equal(worker.predict_proba(texts), want)  # equal, not close
        first = worker._process.pid
        os.kill(first, signal.SIGKILL)
        worker._process.join(TIMEOUT)
        assert np.array_equal(worker.predict_proba(texts[:3]), want[:3])
        assert worker.starts == 2 and worker._process.pid != first
        second = worker._process.pid
    finally:
        worker.stop()
    assert worker._process is None and _pid_gone(second)


def test_a_child_dying_mid_batch_fails_that_batch_only(model_dir, monkeypatch):
    worker = ModelProcess(model_dir).start()
    try:
        os.kill(worker._process.pid, signal.SIGKILL)
        worker._process.join(TIMEOUT)
        # as if it died between the liveness check and the answer
        monkeypatch.setattr(worker._process, "is_alive", lambda: True)
        with pytest.raises(ModelProcessError, match="exited while predicting"):
            worker.predict_proba(["a"])
        assert worker.predict_proba(["a"]).shape == (1, 2) and worker.starts == 2
    finally:
        worker.stop()


def test_a_folder_the_child_cannot_load_stops_the_start(model_dir, tmp_path):
    broken = tmp_path / "model"
    broken.mkdir()
    with pytest.raises(ModelProcessError, match="could not load .*no model_card.json"):
        ModelProcess(broken).start()


def test_ctrl_c_to_the_process_group_drains_through_the_child(model_dir):
    proc = subprocess.Popen([*CLI, "serve", "--model",
                             str(model_dir), "--port", "0", "--model-process"],
                            stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        line = proc.stdout.readline()
        assert " on http://" in line, line + proc.stderr.read()
        url = line.split(" on ")[1].split()[0]
        status, body = post(url, "/predict", {"texts": TEXTS})
        assert status == 200
        assert np.array_equal(body["probabilities"],
                              load_exported(model_dir).predict_proba(TEXTS))
        children = subprocess.run(["pgrep", "-g", str(proc.pid)], capture_output=True,
                                  text=True).stdout.split()
        os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl+C does
        out, err = proc.communicate(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0 and "stopped" in out and "Traceback" not in err, err
    assert all(_pid_gone(int(pid)) for pid in children)
