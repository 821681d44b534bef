"""Several server processes on one port: ``labeling serve --workers N``.

One server process gets about one core, whatever the machine has: its event loop (reading,
parsing, answering requests) and its model thread share one interpreter lock, and with short
texts both are mostly Python (docs/serve.md, "Measured"). With ``--workers N`` there are N
complete servers, each a process with its own interpreter, event loop, batcher and copy of
the model, behind one address:

- The parent (this module's :func:`serve_workers`) checks the host (loopback unless
  ``allow_remote``), then binds and listens on one socket, without SO_REUSEPORT: a port in
  use (by anything, another ``--workers`` server included) is one line before any worker
  starts, and port 0 gets its number. That one listening socket is handed to every worker
  (passed as a file descriptor to the ``spawn``-ed process, as gunicorn's workers share
  theirs): whichever worker is free accepts the next connection, the connection stays with
  that worker, and a worker that dies takes no queued connection with it.
- Each worker (a ``spawn``-ed process: nothing of the parent's state is inherited) loads
  the folder itself (card validated, hashes checked, as `labeling predict`) and serves on
  the inherited socket. Each worker is the single-process server of
  :mod:`labeling.serve.server` (same app, limits and errors); it tells the parent once its
  model runs, or sends the one-line reason it could not start.
- The parent prints the address once every worker is ready. On SIGTERM or SIGINT it sends
  SIGTERM to each worker, which stops as a single server does (stops accepting, lets the
  requests in flight finish, answers every queued text), waits for all, then returns.
  A worker that dies meanwhile (killed, out of memory) is replaced by a new one on the
  same socket; its open connections are lost, the other workers' are not. A replacement
  that cannot start counts as another exit and is tried again; a crash loop (more than
  ``MAX_RESTARTS`` exits within ``RESTART_WINDOW`` seconds) stops the server with an error.
- A worker whose parent is gone (killed with SIGKILL, so it could not stop them) stops
  itself, whether it is still loading or serving: it watches its pipe to the parent,
  which the kernel closes when the parent dies.

The address rules are those of one process: there is one socket, opened by the parent.
"""

from __future__ import annotations

import collections
import multiprocessing
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import wait
from pathlib import Path
from typing import Callable

from labeling.errors import LabelingError
from labeling.serve.logs import check_log_format
from labeling.serve.server import (bind, build_server, check_host, process_ending, run_uvicorn,
                                   url_of)

START_SECONDS = 600  # a hang guard for one worker loading its model, not a budget
STOP_SECONDS = 120  # after the graceful stop's own limit: time to answer queued texts
MAX_RESTARTS, RESTART_WINDOW = 5, 60.0


def max_workers() -> int:
    """At most one worker per CPU (each is CPU-bound; more only add memory and switching),
    and 2 on a one-CPU machine (to try the setup)."""
    return max(2, os.cpu_count() or 1)


def check_workers(workers: int) -> None:
    if not 1 <= workers <= max_workers():
        raise LabelingError(f"--workers {workers}: must be between 1 and {max_workers()} "
                            "(the number of CPUs)")


def _watch_parent(conn) -> None:
    """In a worker: block on the pipe to the parent, which never writes to it; when the
    parent is gone (it closes, or the kernel closes it when the parent dies), stop."""
    try:
        conn.recv()
    except (EOFError, OSError):
        pass
    os.kill(os.getpid(), signal.SIGTERM)  # uvicorn's graceful stop


def _worker(conn, sock, options: dict, access_log: bool, graceful_seconds: float,
            log_format: str = "text") -> None:
    """One worker process: load the model, serve on the parent's listening ``sock`` until
    SIGTERM. Reports ``("ready", name, runtime)`` or ``("error", one line)``."""
    # A Ctrl+C reaches the whole process group: SIGINT is ignored from the process's start
    # (start_ignoring_sigint), so while the model loads the parent's stop (a SIGTERM) ends
    # the worker; once serving, uvicorn's handler takes SIGINT too.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Watched from the start, not once ready: a parent killed while a worker loads its
    # model (minutes for a large one) must not leave that worker to serve on the socket.
    # Until uvicorn installs its handler, the SIGTERM this sends ends the worker at once.
    threading.Thread(target=_watch_parent, args=(conn,), daemon=True,
                     name="labeling-parent-watch").start()
    try:
        server = build_server(**options)
    except Exception as exc:  # noqa: BLE001 - reported to the parent as one line
        message = str(exc) if isinstance(exc, LabelingError) else f"{type(exc).__name__}: {exc}"
        conn.send(("error", " ".join(message.split())))
        return

    server.on_ready = lambda: conn.send(("ready", server.name, server.exported.runtime))
    try:
        run_uvicorn(server, sock, access_log, graceful_seconds, log_format)
    except LabelingError as exc:  # the lifespan failed: uvicorn logged why
        sys.exit(f"error: {exc}")
    finally:
        sock.close()
    process_ending()


def start_ignoring_sigint(process: multiprocessing.Process) -> None:
    """``process.start()`` with SIGINT ignored meanwhile: the spawned interpreter inherits
    the ignored disposition (and Python keeps it), so a Ctrl+C to the process group while
    it imports and loads prints no KeyboardInterrupt traceback; the parent stops it with
    SIGTERM. (A Ctrl+C in this short window is lost; the parent's SIGTERM still works.)"""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        process.start()
    finally:
        signal.signal(signal.SIGINT, previous)


@dataclass
class _Worker:
    process: multiprocessing.Process
    conn: object  # the parent's end of the pipe


class WorkerPool:
    """The parent's side: start, watch, replace and stop the worker processes."""

    def __init__(self, sock, options: dict, workers: int,
                 access_log: bool = False, graceful_seconds: float = 10,
                 log_format: str = "text"):
        self.sock, self.options, self.log_format = sock, options, log_format
        self.count, self.access_log, self.graceful_seconds = workers, access_log, graceful_seconds
        self.context = multiprocessing.get_context("spawn")
        self.workers: list[_Worker] = []
        self.stopping = False
        self.restarts: collections.deque = collections.deque()
        self.name = self.runtime = None

    def _spawn(self) -> _Worker:
        parent, child = self.context.Pipe()
        process = self.context.Process(
            target=_worker, name="labeling-serve-worker", daemon=True,
            # the socket is pickled as a duplicate of its descriptor, passed to the child
            args=(child, self.sock, self.options, self.access_log, self.graceful_seconds,
                  self.log_format))
        start_ignoring_sigint(process)
        child.close()
        return _Worker(process, parent)

    def _wait_ready(self, worker: _Worker) -> bool:
        """Wait for ``worker``'s first message: True once ready, False if the pool is
        stopping; a worker that could not start raises its one-line reason."""
        deadline = time.monotonic() + START_SECONDS
        while not worker.conn.poll(0.2):
            if self.stopping:
                return False
            if not worker.process.is_alive() and not worker.conn.poll(0):
                raise LabelingError(f"a server worker exited while starting (status "
                                    f"{worker.process.exitcode})")
            if time.monotonic() > deadline:
                raise LabelingError(f"a server worker did not load the model within "
                                    f"{START_SECONDS} s")
        try:
            message = worker.conn.recv()
        except (EOFError, OSError):
            raise LabelingError(f"a server worker exited while starting (status "
                                f"{worker.process.join(5) or worker.process.exitcode})") from None
        if message[0] != "ready":
            raise LabelingError(message[1])
        self.name, self.runtime = message[1], message[2]
        return True

    def start(self) -> bool:
        """Start every worker (they load in parallel) and wait until all are ready;
        False if a stop signal came first."""
        self.workers = [self._spawn() for _ in range(self.count)]
        return all(self._wait_ready(w) for w in list(self.workers))

    def watch(self) -> None:
        """Until a stop signal: replace any worker that exits."""
        while not self.stopping:
            gone = wait([w.process.sentinel for w in self.workers], timeout=0.2)
            for index, worker in enumerate(self.workers):
                if worker.process.sentinel in gone and not self.stopping:
                    worker.process.join()
                    worker.conn.close()
                    self._replace(index, f"worker {worker.process.pid} exited (status "
                                         f"{worker.process.exitcode})")

    def _replace(self, index: int, why: str) -> None:
        """Start a worker in place of ``self.workers[index]``, which ended (``why``). A new
        worker that cannot start (the folder changed on disk, memory ran out) counts as one
        more exit and is tried again: the other workers keep serving meanwhile, and only a
        crash loop stops the server."""
        while not self.stopping:
            self._count_exit(why)
            print(f"labeling serve: {why}; starting another", file=sys.stderr, flush=True)
            replacement = self.workers[index] = self._spawn()
            try:
                self._wait_ready(replacement)
                return
            except LabelingError as exc:
                why = f"a new worker could not start: {exc}"
                if replacement.process.is_alive():  # it hung while loading
                    replacement.process.kill()
                replacement.process.join()
                replacement.conn.close()

    def _count_exit(self, why: str) -> None:
        """Record an exit; the ``MAX_RESTARTS + 1``-th within ``RESTART_WINDOW`` seconds
        stops the server (a worker that dies at once would otherwise respawn forever)."""
        now = time.monotonic()
        while self.restarts and now - self.restarts[0] > RESTART_WINDOW:
            self.restarts.popleft()
        if len(self.restarts) >= MAX_RESTARTS:
            raise LabelingError(f"server workers keep exiting ({MAX_RESTARTS + 1} in "
                                f"{RESTART_WINDOW:.0f} s, the last: {why}); stopping")
        self.restarts.append(now)

    def stop(self) -> None:
        """SIGTERM to every worker (each stops gracefully), then wait for all of them."""
        self.stopping = True
        for worker in self.workers:
            if worker.process.is_alive():
                os.kill(worker.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + self.graceful_seconds + STOP_SECONDS
        for worker in self.workers:
            worker.process.join(max(0.0, deadline - time.monotonic()))
            if worker.process.is_alive():  # stuck: no orphan is left behind
                worker.process.kill()
                worker.process.join()
            worker.conn.close()


def serve_workers(options: dict, workers: int, host: str, port: int,
                  allow_remote: bool = False, access_log: bool = False,
                  graceful_seconds: float = 10,
                  on_listen: Callable[[str, str, str], None] | None = None,
                  log_format: str = "text") -> None:
    """Serve with ``workers`` processes on ``host:port`` until SIGTERM/SIGINT.

    ``options``: :func:`labeling.serve.server.build_server`'s keyword arguments (each
    worker builds its own server with them). ``on_listen(url, name, runtime)`` once every
    worker is ready. Call from the main thread (it handles the stop signals)."""
    check_host(host, allow_remote)
    check_workers(workers)
    check_log_format(log_format)
    if options.get("model_process"):
        raise LabelingError("--workers and --model-process: choose one (each worker runs "
                            "its own model)")
    # on loopback, each worker answers only Host names of the loopback (DNS rebinding)
    options = {**options, "model_dir": Path(options["model_dir"]),
               "local_only": not allow_remote}
    listening = bind(host, port)  # no SO_REUSEPORT: a port in use fails here, in one line
    pool = WorkerPool(listening, options, workers, access_log, graceful_seconds, log_format)

    def on_signal(signum, frame) -> None:
        pool.stopping = True

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        if pool.start() and on_listen is not None:
            on_listen(url_of(listening), pool.name, pool.runtime)
        pool.watch()
    finally:
        # closed first: once the workers have closed theirs (at once, on their SIGTERM),
        # a new connection is refused, instead of waiting in the socket's backlog, which
        # no worker accepts from any more, for the whole stop, and then being reset
        listening.close()
        pool.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
