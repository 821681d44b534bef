"""The review app's first page on a large run: seconds to render the overview, cold.

    python benchmarks/app_load.py [--rows 6000] [--task DIR] [--repeats 2] [--json PATH]

Builds a task of ``--rows`` train rows (the bundled YouTube train comments, each repeated
with a numbered suffix so every text is new to the embedding cache; dev and test as
bundled), runs ``labeling run`` on it once, then renders the app's first page (the
overview, with its end-model label distribution) in a fresh process each time with
Streamlit's AppTest, which runs the page script as ``streamlit run`` does, without a
browser. Two ways, in the same run:

- **stored**: as the app does today: it reads the end model's predictions that
  ``labeling train`` stored with the model (``end_probs.parquet``);
- **recomputed**: with that file and the run's embedding cache moved aside, as the app
  did before (issue 14): the page predicts every row with the end model, computing every
  MiniLM embedding. (Each call warms the embedding cache again; it is cleared each time.)

It prints both and their ratio. Issue 14's target: the first page within a few seconds
on 5-7k rows (it took 60-140 s). ``--task DIR`` reuses a task built by an earlier call.
Timings are wall-clock on a shared machine: compare the ratio, not seconds across runs.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent / "labeling"
ENV = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL")}

RENDER = """
import sys, time
from streamlit.testing.v1 import AppTest
started = time.perf_counter()
at = AppTest.from_file(sys.argv[1], default_timeout=900)
at.run()
seconds = time.perf_counter() - started
assert not at.exception, at.exception
assert not at.error, [e.value for e in at.error]
assert at.title and at.title[0].value == "Overview", [t.value for t in at.title]
print(seconds)
"""


def build_task(rows: int) -> Path:
    task = Path(tempfile.mkdtemp(prefix="app-load-"))
    shutil.copytree(ROOT / "functions", task / "functions")
    shutil.copytree(ROOT / "data", task / "data")
    shutil.copy(ROOT / "labeling.toml", task / "labeling.toml")
    source = task / "data" / "youtube" / "train.csv"
    with source.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        fields, base = reader.fieldnames, list(reader)
    with source.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        for i in range(rows):
            row = dict(base[i % len(base)])
            copy = i // len(base)
            row["id"] = f"{row['id']}-{copy}"
            row["text"] = row["text"] + (f" #{copy}" if copy else "")
            writer.writerow(row)
    subprocess.run([str(BIN), "run", "labeling.toml", "--no-progress"], cwd=task, env=ENV,
                   check=True, stdout=subprocess.DEVNULL)
    return task


def first_page(task: Path) -> float:
    env = {**ENV, "LABELING_PROJECT": str(task / "labeling.toml"),
           "LABELING_ANNOTATIONS": str(task / "bench-annotations.sqlite")}
    env.pop("LABELING_RUN_DIR", None)
    out = subprocess.run([sys.executable, "-c", RENDER, str(ROOT / "app" / "streamlit_app.py")],
                         env=env, check=True, capture_output=True, text=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=6000)
    ap.add_argument("--task", type=Path, help="a task folder built by an earlier call")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    started = time.perf_counter()
    task = args.task or build_task(args.rows)
    print(f"task {task} ({time.perf_counter() - started:.0f} s to build and run)")
    run_dir = task / "runs" / "youtube"
    stored_file, cache = run_dir / "end_probs.parquet", run_dir / "embedding_cache"
    if not stored_file.is_file():
        raise SystemExit(f"{stored_file}: missing; run `labeling train` in {task}")
    stored = [first_page(task) for _ in range(args.repeats)]
    aside = Path(tempfile.mkdtemp(prefix="app-load-aside-"))
    stored_file.rename(aside / stored_file.name)
    if cache.is_dir():
        cache.rename(aside / cache.name)
    recomputed = []
    try:
        for _ in range(args.repeats):
            recomputed.append(first_page(task))
            shutil.rmtree(cache, ignore_errors=True)
    finally:
        (aside / stored_file.name).rename(stored_file)
        if (aside / cache.name).is_dir():
            (aside / cache.name).rename(cache)
    out = {"rows": args.rows, "stored_s": round(min(stored), 2),
           "recomputed_s": round(min(recomputed), 2),
           "ratio": round(min(stored) / min(recomputed), 3)}
    print(f"first page ({args.rows} train rows), best of {args.repeats}: stored predictions "
          f"{out['stored_s']:.1f} s, recomputed {out['recomputed_s']:.1f} s, "
          f"ratio {out['ratio']:.3f} (target: a few seconds)")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
