"""Benchmark: `labeling serve` over HTTP against calling the same model in-process (the ceiling).

    python benchmarks/serve.py [--model DIR[@RUNTIME] ...] [--build-dir D] [--seconds 5]
                               [--concurrency 1,16,64] [--texts-per-request 1] [--json PATH]

For each model (``--model``, repeatable; any exported model folder, ``@onnx`` or another
runtime name after it picks the runtime; default: a tfidf_logreg model built by the
bundled task's pipeline in a temporary folder, or in ``--build-dir`` to reuse it):

- in-process (no HTTP, JSON or queue), two ways: ``in_process_rps``, the ceiling: the
  requests' texts predicted ``--batch`` (256, serve's --max-batch) at a time, as the
  server's batcher groups them, so HTTP could at best reach it (measured again after each
  HTTP case, which is compared with that measurement; the median is reported); and
  ``in_process_per_call_rps``: one ``load_exported(DIR).predict_proba(request_texts)``
  call per request, back to back (a program embedding the model without batching);
- HTTP: `labeling serve --model DIR --port 0` in a subprocess (the real command, default
  settings), and C client connections (C = 1, 16, 64), each sending ``POST /predict`` with
  keep-alive as soon as its previous answer arrived, for ``--seconds``; then the v2
  ``/infer`` endpoint at the highest C. Requests/s, p50 and p99 latency, errors (any
  non-200), and each rate's ratio to both in-process figures.

Texts: short comment-like texts built from the bundled YouTube data (benchmarks/predict.py's
``make_texts``, seeded, none repeated). The client is a minimal asyncio HTTP/1.1 client (no
JSON parsing on the hot path) so that it takes as little of the machine as possible; it
still shares the CPUs with the server: on 2 cores the HTTP figures are a floor. Every
answer's labels are checked against the in-process ones at the end of each case (a sample
per connection). The machine is shared: read ratios, not absolute rates across runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from predict import make_texts  # noqa: E402  (benchmarks/predict.py)


def build_default_model(tmp: Path) -> Path:
    """The bundled task (labeling.toml) run with end model tfidf_logreg, exported into
    ``tmp`` (kept and reused when ``tmp`` already holds one: the run takes minutes)."""
    from labeling import pipeline

    if (tmp / "run" / "model" / "model_card.json").is_file():
        print(f"reusing {tmp / 'run' / 'model'}", flush=True)
        return tmp / "run" / "model"

    sys.path.insert(0, str(ROOT / "tests"))
    from conftest import bundled_config, dump_toml  # the test suite's config writer

    tmp.mkdir(parents=True, exist_ok=True)
    config = bundled_config(tmp / "run")
    config["end_model"] = {"name": "tfidf_logreg"}
    path = tmp / "labeling.toml"
    path.write_text(dump_toml(config), encoding="utf-8")
    task = pipeline.load_task(path)
    pipeline.run(task, progress=False)
    return task.run_dir / "model"


def percentiles(latencies: list[float]) -> dict:
    ms = np.asarray(latencies) * 1000
    return {"p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99))}


class InProcess:
    """The model called in this process, no HTTP, JSON or queue: ``per_call`` (one
    ``predict_proba`` per request, back to back) and ``batched`` (the requests grouped
    ``batch`` texts per call, as the server's batcher groups them: the ceiling)."""

    def __init__(self, model_dir: Path, runtime: str, requests: list[list[str]], batch: int):
        from labeling.export import load_exported

        self.exported = load_exported(model_dir, runtime)
        self.requests = requests
        self.group = max(1, batch // len(requests[0]))
        self.batches = [[t for r in requests[j:j + self.group] for t in r]
                        for j in range(0, len(requests) - self.group + 1, self.group)]
        for texts in requests[:50]:  # warm-up (caches, lazy init)
            self.exported.predict_proba(texts)

    def per_call(self, seconds: float) -> dict:
        latencies, i = [], 0
        start = time.perf_counter()
        while time.perf_counter() - start < seconds:
            t0 = time.perf_counter()
            self.exported.predict_proba(self.requests[i % len(self.requests)])
            latencies.append(time.perf_counter() - t0)
            i += 1
        return {"rps": i / (time.perf_counter() - start), **percentiles(latencies)}

    def batched(self, seconds: float) -> float:
        done, j = 0, 0
        start = time.perf_counter()
        while time.perf_counter() - start < seconds:
            self.exported.predict_proba(self.batches[j % len(self.batches)])
            done, j = done + self.group, j + 1
        return done / (time.perf_counter() - start)


def start_server(model_dir: Path, runtime: str, extra: list[str]
                 ) -> tuple[subprocess.Popen, str, int]:
    command = [sys.executable, "-m", "labeling.cli", "serve", "--model", str(model_dir),
               "--runtime", runtime, "--port", "0", *extra]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=os.environ | {"PYTHONUNBUFFERED": "1"})
    line = proc.stdout.readline()  # "serving NAME (RUNTIME) on http://127.0.0.1:PORT ..."
    if " on http://" not in line:
        proc.kill()
        sys.exit(f"labeling serve did not start: {line}{proc.stderr.read()}")
    address = line.split(" on http://")[1].split()[0]
    host, port = address.rsplit(":", 1)
    return proc, host, int(port)


def stop_server(proc: subprocess.Popen) -> int:
    proc.terminate()  # SIGTERM: the graceful stop
    try:
        return proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


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


def http_case(host: str, port: int, wire: list[bytes], concurrency: int, seconds: float,
              check) -> dict:
    asyncio.run(_load(host, port, wire, concurrency, min(1.0, seconds)))  # warm-up
    latencies, errors, samples, elapsed = asyncio.run(
        _load(host, port, wire, concurrency, seconds))
    wrong = sum(not check(index, body) for index, body in samples)
    return {"rps": len(latencies) / elapsed, **percentiles(latencies), "requests": len(latencies),
            "errors": len(errors), "wrong": wrong, "first_error": errors[0] if errors else None}


def bench_model(spec: str, args, requests: list[list[str]]) -> tuple[str, dict]:
    from labeling.export import load_exported

    directory, _, runtime = spec.partition("@")
    runtime = runtime or "sklearn"
    model_dir = Path(directory)
    exported = load_exported(model_dir, runtime)
    end_model = exported.card.get("end_model")
    if isinstance(end_model, dict):
        end_model = end_model.get("name")
    key = f"{end_model or model_dir.name} ({runtime})"
    expected = [[exported.labels[k] for k in exported.predict_proba(texts).argmax(1)]
                for texts in requests]
    result = {"model_dir": str(model_dir), "runtime": runtime, "seconds": args.seconds,
              "texts_per_request": len(requests[0])}
    model = InProcess(model_dir, runtime, requests, args.batch)
    per_call = model.per_call(args.seconds)
    ceilings = [model.batched(args.seconds)]
    result |= {"in_process_per_call_rps": per_call["rps"],
               "in_process_per_call_p50_ms": per_call["p50_ms"],
               "in_process_per_call_p99_ms": per_call["p99_ms"]}
    print(f"{key}: in-process {ceilings[0]:,.0f} req/s batched {args.batch} texts per call "
          f"(the ceiling); {per_call['rps']:,.0f} req/s one call per request (p50 "
          f"{per_call['p50_ms']:.2f} ms, p99 {per_call['p99_ms']:.2f} ms)", flush=True)
    proc, host, port = start_server(model_dir, runtime, args.serve_args.split())
    try:
        predict_wire = encode_requests("/predict", [json.dumps({"texts": t}).encode()
                                                    for t in requests])
        name = exported.card.get("task") or model_dir.resolve().name
        infer_wire = encode_requests(f"/v2/models/{name}/infer", [json.dumps({"inputs": [
            {"name": "text", "shape": [len(t)], "datatype": "BYTES", "data": t}]}).encode()
            for t in requests])

        def check_predict(index, body):
            return json.loads(body)["labels"] == expected[index]

        def check_infer(index, body):
            return json.loads(body)["outputs"][0]["data"] == expected[index]

        cases = [(f"concurrency_{c}", predict_wire, c, check_predict) for c in args.concurrency]
        cases.append((f"v2_infer_concurrency_{max(args.concurrency)}", infer_wire,
                      max(args.concurrency), check_infer))
        for label, wire, concurrency, check in cases:
            case = http_case(host, port, wire, concurrency, args.seconds, check)
            # the machine's load drifts: the ceiling is measured again right after each
            # case (the server idle) and the case is compared with that measurement
            ceilings.append(model.batched(args.seconds))
            case["in_process_rps_next_to_it"] = ceilings[-1]
            case["ratio_to_in_process"] = case["rps"] / ceilings[-1]
            case["ratio_to_per_call"] = case["rps"] / per_call["rps"]
            result[label] = case
            print(f"  {label:28s} {case['rps']:8,.0f} req/s  p50 {case['p50_ms']:7.2f} ms  "
                  f"p99 {case['p99_ms']:7.2f} ms  {case['ratio_to_in_process']:.2f}x ceiling  "
                  f"{case['ratio_to_per_call']:.2f}x per-call"
                  f"  errors {case['errors']}  wrong {case['wrong']}", flush=True)
    finally:
        result["server_exit_code"] = stop_server(proc)
    result["in_process_rps"] = float(np.median(ceilings))
    return key, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", default=[],
                        help="exported model folder, optionally DIR@RUNTIME (repeatable)")
    parser.add_argument("--build-dir", type=Path,
                        help="without --model: build the default model here, or reuse it")
    parser.add_argument("--seconds", type=float, default=5.0, help="per case")
    parser.add_argument("--concurrency", default="1,16,64",
                        type=lambda s: [int(c) for c in s.split(",")])
    parser.add_argument("--texts-per-request", type=int, default=1)
    parser.add_argument("--batch", type=int, default=256,
                        help="texts per in-process call for the ceiling (serve's --max-batch)")
    parser.add_argument("--requests", type=int, default=5000, help="distinct request bodies")
    parser.add_argument("--serve-args", default="",
                        help="extra options for labeling serve, e.g. '--max-wait-ms 0'")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    n = args.texts_per_request
    texts = make_texts(args.requests * n, seed=0)
    requests = [texts[i * n:(i + 1) * n] for i in range(args.requests)]
    with tempfile.TemporaryDirectory() as tmp:
        build_dir = args.build_dir or Path(tmp)
        specs = args.model or [str(build_default_model(build_dir))]
        results = dict(bench_model(spec, args, requests) for spec in specs)
    print(f"\n(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; texts per "
          f"request {n})")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
