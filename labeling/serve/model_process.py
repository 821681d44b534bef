"""The model in a process of its own, so HTTP and the model run on two cores.

In one process, the event loop (reading, parsing and answering requests) and the model
thread share one interpreter lock: with one short text per request, both are mostly
Python, so the server used about one core whatever the machine had, and the model's share
of it came out of the HTTP side's. With ``labeling serve --model-process``, the batcher's
worker thread hands each batch to a child process over a pipe (one round trip per batch,
not per request) and waits for it without holding the lock. It is off by default: on the
2-core machine measured, shared with other jobs, it was no faster and it doubles start-up
(the child loads the model again; docs/serve.md, "Measured").

The child loads the same folder itself (``load_exported``: card and hashes checked again)
in a fresh interpreter (``spawn``: nothing of the server's threads or sockets is
inherited), ignores SIGINT (a Ctrl+C reaches the whole process group, but the server
still needs the model to answer what is queued; it stops the child itself), and exits
when its pipe closes, so it never outlives the server.
"""

from __future__ import annotations

import gc
import multiprocessing
import signal
import threading
from pathlib import Path

import numpy as np

from labeling.errors import LabelingError
from labeling.export import load_exported

START_SECONDS = 600  # a hang guard for loading the model in the child, not a budget


def warm_up(exported) -> None:
    """One text through the model before the server calls itself ready: a MiniLM model
    loads its encoder on its first call (10-25 s), which the first request used to wait
    for after /v2/health/ready had answered 200."""
    exported.predict_proba(["warm-up"])


class ModelProcessError(LabelingError):
    """The model failed in its process (the reason is the child's exception), or the
    process is gone; the batch's requests get a 500 with a reference to the log."""


def _serve_model(conn, model_dir: str, runtime: str) -> None:
    """The child: load the model, then answer ``texts -> ("ok", proba)`` until the pipe
    closes or a ``None`` arrives."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        exported = load_exported(Path(model_dir), runtime)
        warm_up(exported)
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which stops
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
        return
    # as in the server (app.py's lifespan): the model's objects out of the garbage
    # collector's sight, or every full collection walks them all (a latency spike)
    gc.collect()
    gc.freeze()
    conn.send(("ready", None))
    while True:
        try:
            texts = conn.recv()
        except (EOFError, OSError):  # the server is gone
            return
        if texts is None:
            return
        try:
            answer = ("ok", exported.predict_proba(texts))
        except Exception as exc:  # noqa: BLE001 - one batch failed; the model goes on
            answer = ("error", f"{type(exc).__name__}: {exc}")
        conn.send(answer)


class ModelProcess:
    """``predict_proba(texts)`` computed by a child process holding the model; called
    from one thread at a time (the batcher's worker)."""

    def __init__(self, model_dir: Path, runtime: str = "sklearn"):
        self.model_dir, self.runtime = str(model_dir), runtime
        self._conn = self._process = None
        self._lock = threading.Lock()
        self.starts = 0  # the tests read it

    def start(self) -> ModelProcess:
        """Start the child and wait until its model is loaded."""
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        process = context.Process(target=_serve_model, name="labeling-model",
                                  args=(child, self.model_dir, self.runtime), daemon=True)
        process.start()
        child.close()
        if not parent.poll(START_SECONDS):
            process.kill()
            raise ModelProcessError(f"the model process did not load {self.model_dir} "
                                    f"within {START_SECONDS} s")
        try:
            status, detail = parent.recv()
        except EOFError:
            status, detail = "error", f"exited with status {process.join(5) or process.exitcode}"
        if status != "ready":
            process.join(5)
            raise ModelProcessError(f"the model process could not load {self.model_dir}: "
                                    f"{detail}")
        self._conn, self._process = parent, process
        self.starts += 1
        return self

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            if self._process is None or not self._process.is_alive():
                # it died (killed, out of memory): a new one for this batch and the next
                self._close()
                self.start()
            try:
                self._conn.send(texts)
                status, answer = self._conn.recv()
            except (EOFError, OSError) as exc:
                self._close()
                raise ModelProcessError(f"the model process exited while predicting "
                                        f"({type(exc).__name__}); it is restarted for the "
                                        "next batch") from None
        if status != "ok":
            raise ModelProcessError(answer)
        return answer

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
        if self._process is not None:
            self._process.join(5)
            if self._process.is_alive():
                self._process.kill()
                self._process.join()
        self._conn = self._process = None

    def stop(self) -> None:
        """Let the child finish its batch and exit (killed if it does not within 5 s)."""
        with self._lock:
            if self._conn is not None:
                try:
                    self._conn.send(None)
                except OSError:
                    pass
            self._close()
