"""HTTP load generation for benchmarks/serve.py: keep-alive clients that send each
request as soon as the previous answer arrived, and the server's CPU per request.

- ``asyncio``: a minimal asyncio HTTP/1.1 client (no JSON parsing on the hot path) in the
  benchmark's own process; every answer's status is checked and one answer per
  connection is kept for checking against the in-process labels.
- ``wrk``: `wrk` (C, epoll; Debian package ``wrk``), one thread, cycling through the same
  request bodies with a Lua script; several times cheaper per request, so more of a
  shared machine is left to the server. It counts non-2xx answers and socket errors.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
from pathlib import Path

import numpy as np


def percentiles(latencies: list[float]) -> dict:
    ms = np.asarray(latencies) * 1000
    return {"p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99))}


def encode_requests(path: str, bodies: list[bytes]) -> list[bytes]:
    return [(f"POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
             f"Content-Length: {len(body)}\r\n\r\n").encode() + body for body in bodies]


async def _client(host: str, port: int, wire: list[bytes], offset: int, stop_at: float,
                  latencies: list[float], errors: list[str], samples: list) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    i = offset
    try:
        while time.perf_counter() < stop_at:
            t0 = time.perf_counter()
            writer.write(wire[i % len(wire)])
            status = (await reader.readline()).split(b" ", 2)
            length = 0
            while (header := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = header.partition(b":")
                if name.lower() == b"content-length":
                    length = int(value)
            body = await reader.readexactly(length)
            latencies.append(time.perf_counter() - t0)
            if len(status) < 2 or status[1] != b"200":
                errors.append(body.decode(errors="replace")[:200])
            elif i == offset:  # one answer per connection is checked afterwards
                samples.append((i % len(wire), body))
            i += 1
    finally:
        writer.close()


async def _load(host: str, port: int, wire: list[bytes], concurrency: int, seconds: float):
    latencies, errors, samples = [], [], []
    stop_at = time.perf_counter() + seconds
    start = time.perf_counter()
    await asyncio.gather(*(_client(host, port, wire, c * 997, stop_at, latencies, errors,
                                   samples) for c in range(concurrency)))
    elapsed = time.perf_counter() - start
    return latencies, errors, samples, elapsed


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and its children still running (the model
    process)."""
    tick, total = os.sysconf("SC_CLK_TCK"), 0.0
    pids, seen = [pid], set()
    while pids:
        p = pids.pop()
        if p in seen:
            continue
        seen.add(p)
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            for task in os.listdir(f"/proc/{p}/task"):
                children = Path(f"/proc/{p}/task/{task}/children").read_text()
                pids += [int(c) for c in children.split()]
        except OSError:
            pass
    return total


WRK_SCRIPT = """
local requests, i = {}, 0
function init(args)
  for body in io.lines(args[1]) do
    requests[#requests + 1] = wrk.format("POST", args[2],
                                         {["Content-Type"] = "application/json"}, body)
  end
  i = tonumber(args[3]) % #requests
end
function request()
  i = i % #requests + 1
  return requests[i]
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRK {"requests": %d, "duration_us": %d, "p50_us": %f, "p99_us": %f, '
    .. '"non2xx": %d, "socket_errors": %d}\\n', summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), e.status,
    e.connect + e.read + e.write + e.timeout))
end
"""


def wrk_case(host: str, port: int, path: str, bodies: list[bytes], workdir: Path,
             concurrency: int, seconds: float) -> dict:
    """``wrk -t1 -c C`` for ``seconds``, cycling through ``bodies``."""
    (workdir / "bodies.txt").write_bytes(b"\n".join(bodies) + b"\n")
    (workdir / "bench.lua").write_text(WRK_SCRIPT)
    command = ["wrk", "-t1", f"-c{concurrency}", f"-d{max(1, round(seconds))}s", "--timeout",
               "10s", "-s", str(workdir / "bench.lua"), f"http://{host}:{port}{path}", "--",
               str(workdir / "bodies.txt"), path, "0"]
    t0 = time.perf_counter()
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    elapsed = time.perf_counter() - t0
    result = json.loads(next(line for line in out.splitlines() if line.startswith("WRK "))[4:])
    return {"rps": result["requests"] / (result["duration_us"] / 1e6),
            "p50_ms": result["p50_us"] / 1000, "p99_ms": result["p99_us"] / 1000,
            "requests": result["requests"], "errors": result["non2xx"] + result["socket_errors"],
            "wall_seconds": elapsed}


def http_case(host: str, port: int, wire: list[bytes], concurrency: int, seconds: float,
              check, server_pid: int, client: str = "asyncio", wrk_args=None) -> dict:
    """One measured case: a warm-up second with the asyncio client (its answers checked),
    then ``seconds`` of ``client``; rates, latencies, errors and CPU per request."""
    _, warmup_errors, samples, _ = asyncio.run(
        _load(host, port, wire, concurrency, min(1.0, seconds)))
    wrong = sum(not check(index, body) for index, body in samples)
    server0, client0 = cpu_seconds(server_pid), time.process_time()
    if client == "wrk":
        case = wrk_case(host, port, *wrk_args, concurrency, seconds)
        client_cpu, first_error = None, None  # wrk's CPU time is not this process's
    else:
        latencies, errors, samples, elapsed = asyncio.run(
            _load(host, port, wire, concurrency, seconds))
        wrong += sum(not check(index, body) for index, body in samples)
        case = {"rps": len(latencies) / elapsed, **percentiles(latencies),
                "requests": len(latencies), "errors": len(errors)}
        client_cpu, first_error = time.process_time() - client0, (errors or [None])[0]
    server_cpu = cpu_seconds(server_pid) - server0
    n = max(1, case["requests"])
    return case | {"client": client, "wrong": wrong, "warmup_errors": len(warmup_errors),
                   "first_error": first_error or (warmup_errors or [None])[0],
                   "server_cpu_per_request_us": 1e6 * server_cpu / n,
                   "client_cpu_per_request_us": None if client_cpu is None
                   else 1e6 * client_cpu / n}
