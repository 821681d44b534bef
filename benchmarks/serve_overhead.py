"""Server overhead alone: an ASGI app that answers a constant, under uvicorn (as `labeling
serve` runs it) and under granian (as benchmarks/serve_granian.py runs it), loaded by wrk.

    python benchmarks/serve_overhead.py [--rounds 3] [--seconds 5] [--concurrency 64]

Each round runs both servers, one after the other, each on labeling's listening socket
(labeling.serve.server.bind) in a subprocess: a 1 s wrk warm-up, then ``--seconds`` of
``wrk -t1 -c C`` sending ``POST /`` with a one-text JSON body; the app reads the body and
answers a fixed JSON body. Prints requests/s and the server's CPU microseconds per request
(from /proc), with the load average: what HTTP and the ASGI plumbing cost per request
without the model or the app's own work (docs/serve.md, "granian instead of uvicorn").
granian is not a dependency: without it, only uvicorn runs.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from http_load import cpu_seconds  # noqa: E402

ANSWER = b'{"classes":["ham","spam"],"labels":["spam"],"probabilities":[[0.1,0.9]]}'
WRK_POST = """wrk.method = "POST"
wrk.body = '{"texts": ["check out my channel, subscribe now"]}'
wrk.headers["Content-Type"] = "application/json"
"""


async def constant_app(scope, receive, send) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    more = True
    while more:  # the body, read as the real app reads it
        more = (await receive()).get("more_body", False)
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-length", str(len(ANSWER)).encode()),
                            (b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": ANSWER})


class ConstantServer:  # what run_uvicorn and run_granian use of a ModelServer
    app = staticmethod(constant_app)


def serve(server: str) -> None:
    from labeling.serve.server import bind, run_uvicorn

    sock = bind("127.0.0.1", 0)
    print(sock.getsockname()[1], flush=True)
    if server == "granian":
        from serve_granian import run_granian
        run_granian(ConstantServer, sock)
    else:
        run_uvicorn(ConstantServer, sock)


def measure(server: str, seconds: float, concurrency: int, script: Path) -> dict:
    proc = subprocess.Popen([sys.executable, __file__, "--serve", server],
                            stdout=subprocess.PIPE, text=True)
    try:
        url = f"http://127.0.0.1:{int(proc.stdout.readline())}/"
        wrk = ["wrk", "-t1", f"-c{concurrency}", "-s", str(script), url]
        subprocess.run([*wrk[:3], "-d1s", *wrk[3:]], capture_output=True, check=True)
        load, cpu0 = os.getloadavg()[0], cpu_seconds(proc.pid)
        out = subprocess.run([*wrk[:3], f"-d{round(seconds)}s", *wrk[3:]],
                             capture_output=True, text=True, check=True).stdout
        cpu = cpu_seconds(proc.pid) - cpu0
    finally:
        proc.terminate()
        proc.wait(30)
    requests = int(next(line for line in out.splitlines() if "requests in" in line).split()[0])
    rps = float(next(line for line in out.splitlines() if "Requests/sec" in line).split()[1])
    return {"rps": rps, "cpu_us": 1e6 * cpu / requests, "load": load}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--serve", help=argparse.SUPPRESS)  # the server subprocess
    args = parser.parse_args()
    if args.serve:
        return serve(args.serve)
    servers = ["uvicorn", "granian"]
    if importlib.util.find_spec("granian") is None:
        print("granian is not installed (pip install granian); uvicorn only", file=sys.stderr)
        servers = ["uvicorn"]
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "post.lua"
        script.write_text(WRK_POST)
        for round_ in range(1, args.rounds + 1):
            for server in servers:
                r = measure(server, args.seconds, args.concurrency, script)
                print(f"round {round_} {server:8s} {r['rps']:9,.0f} req/s  server CPU "
                      f"{r['cpu_us']:5.1f} us/request  (load average {r['load']:.1f}, "
                      f"{time.strftime('%H:%M:%S', time.gmtime())} UTC)", flush=True)


if __name__ == "__main__":
    main()
