"""Benchmark: how long `labeling serve` takes to start, against `import torch` alone.

    python benchmarks/serve_startup.py --model DIR [--repeat 3] [--serve-args ARGS] [--json PATH]

Each repeat launches `labeling serve --model DIR --port 0` (the real command, in a fresh
interpreter) and records the seconds until it prints its address (the model is loaded)
and until ``GET /v2/health/ready`` answers 200 (with the default model process: the child
has loaded the model too), then stops it with SIGTERM. Whether the server process
imported torch is read from its /proc maps (torch's shared library mapped or not). The
baseline, measured in the same run: ``python -c "import torch"`` (what loading a model
used to pay on top, through skops; docs/serve.md). The median of the repeats is reported.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


CLI = [sys.executable, "-c", "from labeling.cli import main; main()"]  # `labeling ...`


def start_once(model_dir: Path, extra: list[str]) -> dict:
    t0 = time.perf_counter()
    proc = subprocess.Popen([*CLI, "serve", "--model",
                             str(model_dir), "--port", "0", *extra], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        listening = time.perf_counter() - t0
        if " on http://" not in line:
            sys.exit(f"labeling serve did not start: {line}{proc.stderr.read()}")
        url = line.split(" on ")[1].split()[0]
        while True:
            try:
                with urllib.request.urlopen(f"{url}/v2/health/ready", timeout=60) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                time.sleep(0.02)
        ready = time.perf_counter() - t0
        maps = Path(f"/proc/{proc.pid}/maps").read_text()
        return {"listening_s": listening, "ready_s": ready, "torch_loaded": "libtorch" in maps}
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True, help="exported model folder")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--serve-args", default="", help="e.g. '--no-model-process'")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    torch_s = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import torch"], check=True)
        torch_s.append(time.perf_counter() - t0)
    runs = [start_once(args.model, args.serve_args.split()) for _ in range(args.repeat)]
    result = {"model_dir": str(args.model), "serve_args": args.serve_args,
              "listening_s": statistics.median(r["listening_s"] for r in runs),
              "ready_s": statistics.median(r["ready_s"] for r in runs),
              "torch_loaded": any(r["torch_loaded"] for r in runs),
              "import_torch_s": statistics.median(torch_s), "runs": runs,
              "load_average": list(os.getloadavg())}
    result["ready_vs_import_torch"] = result["ready_s"] / result["import_torch_s"]
    print(f"labeling serve {args.serve_args}: listening after {result['listening_s']:.2f} s, "
          f"ready after {result['ready_s']:.2f} s (median of {args.repeat}); torch loaded: "
          f"{result['torch_loaded']}; `import torch` alone: {result['import_torch_s']:.2f} s "
          f"(ready = {result['ready_vs_import_torch']:.2f}x it); load average "
          f"{result['load_average'][0]:.1f}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
