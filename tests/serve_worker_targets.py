"""Targets for processes that tests/test_serve_workers.py spawns (a spawned process imports
its target by module name, so they live in a small module of their own)."""

from __future__ import annotations

import time

import labeling.serve.workers as workers


def worker_with_a_model_that_never_loads(conn, sock) -> None:
    """``labeling serve --workers``'s worker, whose model load hangs (a huge model on a slow
    disk, say): what happens when its parent dies meanwhile."""
    workers.build_server = lambda **options: time.sleep(3600)
    workers._worker(conn, sock, {}, False, 1.0)
