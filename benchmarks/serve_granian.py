"""`labeling serve`'s server, but with granian instead of uvicorn: for benchmarks/serve.py
``--server granian`` (docs/serve.md, "granian instead of uvicorn").

    python benchmarks/serve_granian.py --model DIR [--runtime R] [--port 0] [--loop uvloop]
                                       [--runtime-mode mt|st] [--task-impl asyncio|rust]
                                       [--workers N]

The same ``ModelServer`` ASGI app (labeling.serve.build_server: same batcher, limits,
errors and lifespan), the same loopback check and listening socket (labeling.serve.server
.bind: port 0 gets a free port, a port in use is one line), served by one granian ASGI
worker in this process, as granian's own worker process runs one (granian.server.mp's
``_spawn_asgi_lifespan_worker``): the app's lifespan started on the event loop, granian's
Rust HTTP server (hyper, HTTP/1.1 only) on the listening socket, calling the app on that
loop; SIGTERM or SIGINT stops it, then the lifespan's exit answers every queued text
(whether granian lets the requests in flight finish first, as uvicorn does, was not
checked: the benchmark stops the server only after its load).
granian has no public API to serve on a socket bound by its caller (it binds its own,
SO_REUSEPORT on Linux, and port 0 is not reported), hence its worker classes here.
Prints the line `labeling serve` prints once it listens, and "stopped". ``--workers N``:
N spawned processes on the one socket, each as above (as `labeling serve --workers N`,
without its restarts). Not part of `labeling serve`: granian was measured and not kept
(docs/serve.md, "granian instead of uvicorn"); it is not a dependency.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import signal
import sys
import threading


def run_granian(server, sock, loop_name: str = "uvloop", runtime_threads: int = 1,
                runtime_mode: str = "mt", task_impl: str = "asyncio") -> None:
    """Serve ``server.app`` on the listening ``sock`` with one granian ASGI worker until
    SIGTERM/SIGINT. The options are granian's (``--loop``, ``--runtime-threads``,
    ``--runtime-mode`` (granian picks mt for ASGI), ``--task-impl`` (rust: Python < 3.12))."""
    from granian._futures import _future_watcher_wrapper, _new_cbscheduler
    from granian._granian import ASGIWorker, SocketHolder
    from granian._signals import set_loop_signals
    from granian.asgi import LifespanProtocol, _callback_wrapper
    from granian.http import HTTP1Settings

    if loop_name == "uvloop":
        import uvloop
        loop = uvloop.new_event_loop()
    else:
        loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    lifespan = LifespanProtocol(server.app)
    callback = _future_watcher_wrapper(_callback_wrapper(server.app, {}, lifespan.state))
    stopping = set_loop_signals(loop)  # a WorkerSignal, set by SIGTERM/SIGINT
    stopped = asyncio.Event()
    stopping.add_cb(lambda: loop.call_soon_threadsafe(stopped.set))
    loop.run_until_complete(lifespan.startup())
    if lifespan.interrupt:
        sys.exit(f"error: the server did not start: {lifespan.exc}")
    backlog = 1024
    holder = SocketHolder(os.dup(sock.fileno()), False, backlog)
    no_tls = (False, None, None, None, "tls13", None, [], False)
    worker = ASGIWorker(1, (None, holder), None, runtime_threads, 512, 1, 30, backlog, "1",
                        HTTP1Settings(), None, False, None, *no_tls, (None, None))
    serve = worker.serve_mtr if runtime_mode == "mt" else worker.serve_str
    serve(_new_cbscheduler(loop, callback, impl_asyncio=task_impl == "asyncio"), loop, stopping)
    loop.run_until_complete(stopped.wait())
    loop.run_until_complete(lifespan.shutdown())
    loop.close()


def _worker(conn, sock, model: str, runtime: str, options: dict) -> None:
    """One of ``--workers N``: its own copy of the model, served on the parent's socket."""
    from labeling.serve import build_server

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops it with SIGTERM
    server = build_server(model, runtime)
    server.on_ready = lambda: conn.send((server.name, server.exported.runtime))
    run_granian(server, sock, **options)


def serve_workers(sock, args, options: dict) -> None:
    """``--workers N`` (as ``labeling serve --workers N``, simplified: no restarts): N
    spawned processes serving on the one listening socket; SIGTERM/SIGINT to the parent
    is passed on to each as SIGTERM."""
    from labeling.serve import listening_message
    from labeling.serve.server import url_of

    context = multiprocessing.get_context("spawn")
    workers = []
    for _ in range(args.workers):
        parent, child = context.Pipe()
        process = context.Process(target=_worker, args=(child, sock, args.model, args.runtime,
                                                        options), daemon=True)
        process.start()
        workers.append((process, parent))
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    name, runtime = [conn.recv() for _, conn in workers][-1]
    print(listening_message(name, runtime, url_of(sock)), flush=True)
    stop.wait()
    for process, _ in workers:
        os.kill(process.pid, signal.SIGTERM)
    for process, _ in workers:
        process.join(60)


def main() -> None:
    from labeling.serve import build_server, listening_message
    from labeling.serve.server import bind, check_host, url_of

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--runtime", default="sklearn")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop")
    parser.add_argument("--runtime-threads", type=int, default=1)
    parser.add_argument("--runtime-mode", choices=("mt", "st"), default="mt")
    parser.add_argument("--task-impl", choices=("asyncio", "rust"), default="asyncio")
    parser.add_argument("--workers", type=int, default=1, help="processes on the one socket")
    args = parser.parse_args()
    try:
        import granian  # noqa: F401
    except ImportError:
        sys.exit("--server granian: granian is not installed (pip install granian)")
    check_host(args.host)
    options = dict(loop_name=args.loop, runtime_threads=args.runtime_threads,
                   runtime_mode=args.runtime_mode, task_impl=args.task_impl)
    if args.workers > 1:
        sock = bind(args.host, args.port)
        try:
            serve_workers(sock, args, options)
        finally:
            sock.close()
        print("stopped", flush=True)
        return
    server = build_server(args.model, args.runtime)
    sock = bind(args.host, args.port)
    print(listening_message(server.name, server.exported.runtime, url_of(sock)), flush=True)
    try:
        run_granian(server, sock, **options)
    finally:
        sock.close()
    print("stopped", flush=True)


if __name__ == "__main__":
    main()
