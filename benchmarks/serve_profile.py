"""Where `labeling serve`'s CPU per request goes: per thread, per model call, per line.

    python benchmarks/serve_profile.py --model DIR [--seconds 6] [--connections 64]
                                       [--py-spy PATH] [--top 25]

Runs the server (``build_server`` + ``serve``, as `labeling serve` does, one process, the
model in its thread) in a child process whose only addition is a counter of the texts of
each model call (a wrapper around the batcher's ``predict_proba``), loads it with
``wrk -t1 -c N`` on ``POST /predict`` (one text per request, benchmarks/http_load.py's Lua
script, texts from benchmarks/predict.py) for ``--seconds`` after a 1 s warm-up, and
prints: requests/s; the server's CPU us per request per thread (utime + stime of
/proc/PID/task/*/stat around the run: the event-loop thread and the model thread); the
model calls' sizes; with ``--py-spy`` (the py-spy binary, e.g. from
``pip install --target /tmp/pyspy py-spy``), a py-spy profile of the run (``--threads``,
250 Hz, raw) summarised per thread by self and inclusive samples (docs/serve.md, "Where
the CPU per request goes"). For native time (system calls, the interpreter, NumPy),
run ``perf record -F 499 -g -p PID`` on the printed server pid alongside.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def serve_child(model: str, sizes_path: str) -> None:
    """The server, with a counter of each model call's texts (written on exit)."""
    from labeling.serve.server import build_server, listening_message, serve

    server = build_server(Path(model))
    sizes, inner = collections.Counter(), server.batcher.predict_proba

    def counted(texts):
        sizes[len(texts)] += 1
        return inner(texts)

    server.batcher.predict_proba = counted
    try:
        serve(server, port=0, on_listen=lambda url: print(
            listening_message(server.name, "sklearn", url), flush=True))
    finally:
        Path(sizes_path).write_text(json.dumps(sorted(sizes.items())))


def threads_cpu(pid: int) -> dict[str, float]:
    """CPU seconds per thread (``name/tid``) of ``pid``."""
    tick, out = os.sysconf("SC_CLK_TCK"), {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            stat = Path(f"/proc/{pid}/task/{tid}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        out[f"{name}/{tid}"] = (int(fields[11]) + int(fields[12])) / tick
    return out


def summarise_py_spy(path: Path, top: int) -> None:
    per_thread = collections.Counter()
    self_time = collections.defaultdict(collections.Counter)
    inclusive = collections.defaultdict(collections.Counter)
    for line in path.read_text().splitlines():
        stack, count = line.rsplit(" ", 1)
        frames = stack.split(";")
        thread = re.sub(r"\(\d+\)|0x[0-9a-f]+", "", frames[0]).strip()
        frames = [re.sub(r"\(/.*/(site-packages|python3\.\d+|labeling)/", r"(\1/", f)
                  for f in frames[1:]]
        per_thread[thread] += int(count)
        self_time[thread][frames[-1] if frames else "?"] += int(count)
        for frame in set(frames):
            inclusive[thread][frame] += int(count)
    for thread, n in per_thread.most_common():
        print(f"\n{thread}: {n} samples")
        for title, counter in (("self", self_time[thread]), ("inclusive", inclusive[thread])):
            print(f"  -- {title}")
            for frame, count in counter.most_common(top):
                print(f"  {count / n:6.1%}  {frame}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="exported model folder (sklearn runtime)")
    parser.add_argument("--seconds", type=int, default=6)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--py-spy", help="path of the py-spy binary: also profile the run")
    parser.add_argument("--top", type=int, default=25, help="lines per thread in the summary")
    parser.add_argument("--serve-child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_child:
        return serve_child(*args.serve_child)

    sys.path.insert(0, str(HERE))
    from http_load import WRK_SCRIPT
    from predict import make_texts

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "bench.lua").write_text(WRK_SCRIPT)
        (tmp / "bodies.txt").write_bytes(b"\n".join(
            json.dumps({"texts": [t]}).encode() for t in make_texts(5000, seed=0)) + b"\n")
        child = subprocess.Popen([sys.executable, __file__, "--model", args.model,
                                  "--serve-child", args.model, str(tmp / "sizes.json")],
                                 stdout=subprocess.PIPE, text=True)
        try:
            line = child.stdout.readline()
            url = line.split(" on ", 1)[1].split()[0]
            print(f"server pid {child.pid} at {url}; load average {os.getloadavg()[0]:.1f}",
                  flush=True)

            def wrk(seconds: int) -> dict:
                out = subprocess.run(
                    ["wrk", "-t1", f"-c{args.connections}", f"-d{seconds}s", "--timeout", "10s",
                     "-s", str(tmp / "bench.lua"), f"{url}/predict", "--",
                     str(tmp / "bodies.txt"), "/predict", "0"],
                    capture_output=True, text=True, check=True, timeout=seconds + 30).stdout
                return json.loads(next(x for x in out.splitlines() if x.startswith("WRK "))[4:])

            wrk(1)  # warm-up
            spy = None
            if args.py_spy:
                spy = subprocess.Popen([args.py_spy, "record", "-p", str(child.pid), "-d",
                                        str(args.seconds), "-r", "250", "--threads",
                                        "--format", "raw", "-o", str(tmp / "prof.txt")],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            before = threads_cpu(child.pid)
            result = wrk(args.seconds)
            after = threads_cpu(child.pid)
            if spy is not None:
                spy.wait(timeout=60)
        finally:
            child.send_signal(signal.SIGTERM)
            child.wait(timeout=60)
        n = result["requests"]
        print(f"{n / (result['duration_us'] / 1e6):,.0f} req/s at {args.connections} "
              f"connections, errors {result['non2xx'] + result['socket_errors']}; "
              f"load average {os.getloadavg()[0]:.1f}")
        total = 0.0
        for thread, seconds in after.items():
            used = seconds - before.get(thread, 0.0)
            total += used
            if used > 0:
                print(f"  thread {thread:28s} {1e6 * used / n:7.1f} CPU us/request")
        print(f"  all threads {1e6 * total / n:7.1f} CPU us/request")
        sizes = json.loads((tmp / "sizes.json").read_text())
        calls, texts = sum(c for _, c in sizes), sum(s * c for s, c in sizes)
        print(f"model calls (warm-up included) {calls}, texts {texts}, {texts / max(calls, 1):.1f} per call; "
              f"calls of <= 4 texts: {sum(c for s, c in sizes if s <= 4)}")
        if spy is not None and (tmp / "prof.txt").is_file():
            summarise_py_spy(tmp / "prof.txt", args.top)


if __name__ == "__main__":
    main()
