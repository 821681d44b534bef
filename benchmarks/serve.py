"""Benchmark: `labeling serve` over HTTP against calling the same model in-process (the ceiling).

    python benchmarks/serve.py [--model DIR[@RUNTIME] ...] [--build-dir D] [--seconds 5]
                               [--concurrency 1,16,64] [--texts-per-request 1] [--max-words N]
                               [--client asyncio|wrk] [--serve-args ARGS]
                               [--server uvicorn|granian|uvicorn,granian] [--rounds R]
                               [--granian-args ARGS] [--ceiling-processes N] [--json PATH]

For each model (``--model``, repeatable; any exported model folder, ``@onnx`` or another
runtime name after it picks the runtime; default: a tfidf_logreg model built by the
bundled task's pipeline in a temporary folder, or in ``--build-dir`` to reuse it):

- in-process (no HTTP, JSON or queue), two ways: ``in_process_rps``, the ceiling: the
  requests' texts predicted ``--batch`` (256, serve's --max-batch) at a time, as the
  server's batcher groups them, so HTTP could at best reach it (measured again after each
  HTTP case, which is compared with that measurement; the median is reported). It runs in
  one process, so on one core at most: with ``--ceiling-processes N`` (for
  ``--serve-args='--workers N'``) the ceiling of N processes predicting at once (their
  rates summed) is measured too, before and after the HTTP cases, and each case gets
  its ratio to the first of those; and
  ``in_process_per_call_rps``: one ``load_exported(DIR).predict_proba(request_texts)``
  call per request, back to back (a program embedding the model without batching);
- HTTP: `labeling serve --model DIR --port 0` in a subprocess (the real command, default
  settings), and C client connections (C = 1, 16, 64), each sending ``POST /predict`` with
  keep-alive as soon as its previous answer arrived, for ``--seconds``; then the v2
  ``/infer`` endpoint at the highest C. Requests/s, p50 and p99 latency, errors (any
  non-200), and each rate's ratio to both in-process figures.

Texts: short comment-like texts built from the bundled YouTube data (benchmarks/predict.py's
``make_texts``, seeded, none repeated). The load generator shares the CPUs with the
server, so on 2 cores the HTTP figures are a floor: ``--client asyncio`` (default) is a
minimal asyncio HTTP/1.1 client in this process (no JSON parsing on the hot path; every
answer's status checked, and one answer per connection checked against the in-process
labels); ``--client wrk`` is `wrk` (C, epoll; apt package ``wrk``), one thread, cycling
through the same request bodies (a Lua script), several times cheaper per request, so
more of the machine is left to the server; it counts non-2xx answers, and its warm-up
second runs the asyncio client, whose answers are checked as above. CPU seconds of the
server (with its model process) and of the client per request are recorded next to each
rate: on a shared machine they say where the time went when the rates do not.

A model exported with a fine-tuned transformer (``DIR@onnx_int8``) also gets
``one_thread``: docs/s of the int8 and fp32 ONNX files in this process with one
onnxruntime thread (the issue's "docs/s on one core"), per wall and per CPU second, on
the same texts, batched 256 at a time, and their ratio.

``--server granian`` serves the same app with granian instead of uvicorn
(benchmarks/serve_granian.py: the same ``build_server`` app, loopback check and socket,
one granian ASGI worker; ``--granian-args`` for its options, e.g. ``--loop asyncio``);
``--server uvicorn,granian --rounds R`` runs both R times, one after the other, the order
alternating between rounds (the first listed first in odd rounds), each run with its own
cases and ceilings next to them; the JSON's top-level cases are the first run's, and
``runs`` holds every run (server, round, cases). Without granian installed (it is not
a dependency: docs/serve.md, "granian instead of uvicorn"), granian is skipped with one
line on stderr (exit status 0 when nothing is left to run).
The machine is shared: read ratios, not absolute rates across runs.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
LABELING = [sys.executable, "-c", "from labeling.cli import main; main()"]  # the CLI
sys.path.insert(0, str(Path(__file__).resolve().parent))
from http_load import encode_requests, http_case, percentiles  # noqa: E402
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


def _ceiling_process(conn, model_dir: str, runtime: str, requests, batch: int,
                     seconds: float) -> None:
    model = InProcess(Path(model_dir), runtime, requests, batch)
    conn.send("ready")
    start_at = conn.recv()
    time.sleep(max(0.0, start_at - time.time()))
    conn.send(model.batched(seconds))


def parallel_ceiling(model_dir: Path, runtime: str, requests, batch: int, seconds: float,
                     processes: int) -> float:
    """The ceiling on ``processes`` cores: that many processes, each with its own copy of
    the model, running ``InProcess.batched`` at the same time; the sum of their rates
    (what N server workers could at best reach together)."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    pipes, workers = [], []
    for _ in range(processes):
        parent, child = context.Pipe()
        worker = context.Process(target=_ceiling_process, args=(
            child, str(model_dir), runtime, requests, batch, seconds))
        worker.start()
        pipes.append(parent)
        workers.append(worker)
    for conn in pipes:
        conn.recv()  # loaded and warmed up
    start_at = time.time() + 0.5
    for conn in pipes:
        conn.send(start_at)
    total = sum(conn.recv() for conn in pipes)
    for worker in workers:
        worker.join()
    return total


def start_server(model_dir: Path, runtime: str, extra: list[str], server: str = "uvicorn"
                 ) -> tuple[subprocess.Popen, str, int]:
    if server == "granian":  # the same app and socket, granian instead of uvicorn
        command = [sys.executable, str(Path(__file__).resolve().parent / "serve_granian.py"),
                   "--model", str(model_dir), "--runtime", runtime, "--port", "0", *extra]
    else:
        command = [*LABELING, "serve", "--model", str(model_dir),
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


def one_thread(model_dir: Path, texts: list[str], seconds: float) -> dict:
    """docs/s of model.int8.onnx and model.onnx with one onnxruntime thread, here."""
    from labeling.export import load_exported, transformer_runtime

    saved, transformer_runtime.THREADS = transformer_runtime.THREADS, 1
    rates = {}
    try:
        for runtime in ("onnx_int8", "onnx"):
            exported = load_exported(model_dir, runtime)
            exported.predict_proba(texts[:256])  # warm-up
            done, t0, c0 = 0, time.perf_counter(), time.process_time()
            while time.perf_counter() - t0 < seconds:
                batch = texts[done % len(texts):][:256]
                exported.predict_proba(batch)
                done += len(batch)
            rates[runtime] = {"docs_per_s": done / (time.perf_counter() - t0),
                              "docs_per_cpu_s": done / (time.process_time() - c0)}
    finally:
        transformer_runtime.THREADS = saved
    return {"int8": rates["onnx_int8"], "fp32": rates["onnx"],
            "int8_vs_fp32": rates["onnx_int8"]["docs_per_s"] / rates["onnx"]["docs_per_s"],
            "int8_vs_fp32_cpu": (rates["onnx_int8"]["docs_per_cpu_s"]
                                 / rates["onnx"]["docs_per_cpu_s"]),
            "words_per_text": float(np.mean([len(t.split()) for t in texts]))}


def bench_model(spec: str, args, requests: list[list[str]], workdir: Path) -> tuple[str, dict]:
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
              "texts_per_request": len(requests[0]), "client": args.client,
              "serve_args": args.serve_args}
    if runtime == "onnx_int8":
        texts = [t for r in requests for t in r]
        result["one_thread"] = one = one_thread(model_dir, texts, args.seconds)
        print(f"{key}: one onnxruntime thread, in-process: int8 "
              f"{one['int8']['docs_per_s']:,.0f} docs/s ({one['int8']['docs_per_cpu_s']:,.0f} "
              f"per CPU s), fp32 {one['fp32']['docs_per_s']:,.0f} docs/s "
              f"({one['fp32']['docs_per_cpu_s']:,.0f} per CPU s): int8 "
              f"{one['int8_vs_fp32']:.2f}x fp32 ({one['int8_vs_fp32_cpu']:.2f}x per CPU s); "
              f"{one['words_per_text']:.1f} words per text", flush=True)
    model = InProcess(model_dir, runtime, requests, args.batch)
    per_call = model.per_call(args.seconds)
    ceilings = [model.batched(args.seconds)]
    parallel = []
    if args.ceiling_processes > 1:  # before and after the HTTP cases
        parallel.append(parallel_ceiling(model_dir, runtime, requests, args.batch,
                                         args.seconds, args.ceiling_processes))
        print(f"{key}: in-process ceiling on {args.ceiling_processes} processes at once "
              f"{parallel[-1]:,.0f} req/s", flush=True)
    result |= {"in_process_per_call_rps": per_call["rps"],
               "in_process_per_call_p50_ms": per_call["p50_ms"],
               "in_process_per_call_p99_ms": per_call["p99_ms"]}
    print(f"{key}: in-process {ceilings[0]:,.0f} req/s batched {args.batch} texts per call "
          f"(the ceiling); {per_call['rps']:,.0f} req/s one call per request (p50 "
          f"{per_call['p50_ms']:.2f} ms, p99 {per_call['p99_ms']:.2f} ms)", flush=True)
    predict_bodies = [json.dumps({"texts": t}).encode() for t in requests]
    name = exported.card.get("task") or model_dir.resolve().name
    infer_bodies = [json.dumps({"inputs": [{"name": "text", "shape": [len(t)], "datatype":
                                            "BYTES", "data": t}]}).encode() for t in requests]
    predict_wire = encode_requests("/predict", predict_bodies)
    infer_wire = encode_requests(f"/v2/models/{name}/infer", infer_bodies)

    def check_predict(index, body):
        return json.loads(body)["labels"] == expected[index]

    def check_infer(index, body):
        return json.loads(body)["outputs"][0]["data"] == expected[index]

    cases = [(f"concurrency_{c}", predict_wire, c, check_predict,
              ("/predict", predict_bodies)) for c in args.concurrency]
    cases.append((f"v2_infer_concurrency_{max(args.concurrency)}", infer_wire,
                  max(args.concurrency), check_infer,
                  (f"/v2/models/{name}/infer", infer_bodies)))
    runs = []
    for round_ in range(1, args.rounds + 1):  # the order alternates between rounds
        for server in (args.server if round_ % 2 else args.server[::-1]):
            extra = (args.granian_args if server == "granian" else args.serve_args).split()
            load = os.getloadavg()
            print(f"{key}: round {round_}, {server} {' '.join(extra)} (load average "
                  f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}, "
                  f"{time.strftime('%H:%M:%S', time.gmtime())} UTC)", flush=True)
            run = {"server": server, "round": round_, "server_args": " ".join(extra),
                   "load_average_before": list(load)}
            proc, host, port = start_server(model_dir, runtime, extra, server)
            try:
                for label, wire, concurrency, check, wrk_args in cases:
                    case = http_case(host, port, wire, concurrency, args.seconds, check,
                                     proc.pid, args.client, (*wrk_args, workdir))
                    # the machine's load drifts: the ceiling is measured again right after
                    # each case (the server idle) and the case is compared with that
                    ceilings.append(model.batched(args.seconds))
                    case["in_process_rps_next_to_it"] = ceilings[-1]
                    case["ratio_to_in_process"] = case["rps"] / ceilings[-1]
                    if parallel:  # against the ceiling of as many processes, measured before
                        case[f"ratio_to_in_process_{args.ceiling_processes}_processes"] = (
                            case["rps"] / parallel[0])
                    case["ratio_to_per_call"] = case["rps"] / per_call["rps"]
                    run[label] = case
                    client_cpu = case["client_cpu_per_request_us"]
                    print(f"  {label:28s} {case['rps']:8,.0f} req/s  p50 {case['p50_ms']:7.2f} "
                          f"ms  p99 {case['p99_ms']:7.2f} ms  "
                          f"{case['ratio_to_in_process']:.2f}x ceiling  "
                          + (f"{case['rps'] / parallel[0]:.2f}x {args.ceiling_processes}-"
                             "process ceiling  " if parallel else "") +
                          f"{case['ratio_to_per_call']:.2f}x per-call  CPU us/req: server "
                          f"{case['server_cpu_per_request_us']:.0f}, client "
                          f"{'-' if client_cpu is None else f'{client_cpu:.0f}'}"
                          f"  errors {case['errors']}  wrong {case['wrong']}", flush=True)
            finally:
                run["server_exit_code"] = stop_server(proc)
            run["load_average_after"] = list(os.getloadavg())
            runs.append(run)
    first = runs[0]
    result |= {k: v for k, v in first.items() if k not in ("round", "load_average_before",
                                                            "load_average_after")}
    result["runs"] = runs
    result["in_process_rps"] = float(np.median(ceilings))
    result["in_process_rps_all"] = ceilings
    if parallel:
        parallel.append(parallel_ceiling(model_dir, runtime, requests, args.batch,
                                         args.seconds, args.ceiling_processes))
        result["ceiling_processes"] = args.ceiling_processes
        result[f"in_process_rps_{args.ceiling_processes}_processes"] = parallel
        print(f"{key}: in-process ceiling on {args.ceiling_processes} processes at once, "
              f"after: {parallel[-1]:,.0f} req/s", flush=True)
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
    parser.add_argument("--max-words", type=int, default=0,
                        help="cut each text to its first N words (0: as generated)")
    parser.add_argument("--batch", type=int, default=256,
                        help="texts per in-process call for the ceiling (serve's --max-batch)")
    parser.add_argument("--requests", type=int, default=5000, help="distinct request bodies")
    parser.add_argument("--serve-args", default="",
                        help="extra options for labeling serve, e.g. '--no-model-process'")
    parser.add_argument("--client", choices=("asyncio", "wrk"), default="asyncio",
                        help="load generator (wrk: the apt package, C, cheaper per request)")
    parser.add_argument("--server", default="uvicorn", type=lambda s: s.split(","),
                        help="uvicorn (labeling serve), granian (the same app under granian: "
                             "benchmarks/serve_granian.py), or both: uvicorn,granian")
    parser.add_argument("--rounds", type=int, default=1,
                        help="run every --server this many times, the order alternating")
    parser.add_argument("--granian-args", default="",
                        help="options for benchmarks/serve_granian.py, e.g. '--loop asyncio'")
    parser.add_argument("--ceiling-processes", type=int, default=1,
                        help="also measure the ceiling on N processes at once (for "
                             "--serve-args='--workers N'), before and after the HTTP cases")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    n = args.texts_per_request
    texts = make_texts(args.requests * n, seed=0)
    if args.max_words:  # shorter texts: the first words of each
        texts = [" ".join(t.split()[:args.max_words]) for t in texts]
    requests = [texts[i * n:(i + 1) * n] for i in range(args.requests)]
    if set(args.server) - {"uvicorn", "granian"} or args.rounds < 1:
        sys.exit(f"--server {','.join(args.server)}: uvicorn, granian or uvicorn,granian; "
                 "--rounds >= 1")
    if "granian" in args.server and importlib.util.find_spec("granian") is None:
        print("--server granian: granian is not installed (pip install granian); skipped",
              file=sys.stderr, flush=True)
        args.server = [s for s in args.server if s != "granian"]
        if not args.server:
            return
    if args.client == "wrk" and not shutil.which("wrk"):
        sys.exit("--client wrk: no wrk on PATH (apt-get install wrk)")
    with tempfile.TemporaryDirectory() as tmp:
        build_dir = args.build_dir or Path(tmp)
        specs = args.model or [str(build_default_model(build_dir))]
        results = dict(bench_model(spec, args, requests, Path(tmp)) for spec in specs)
    load = os.getloadavg()
    print(f"\n(load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} on {os.cpu_count()} "
          f"CPUs; texts per request {n}; client {args.client})")
    for result in results.values():
        result["load_average"] = list(load)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
