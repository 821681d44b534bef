"""Benchmark: `labeling predict` end to end (read file -> predict -> write file) on ONE core.

    python benchmarks/predict.py [--model runs/youtube/model] [--n 100000] [--json PATH]

Pinned to one CPU (os.sched_setaffinity) with OMP/OPENBLAS/MKL threads and
onnxruntime's intra-op threads set to 1. Texts (seeded): N short comments built from
the bundled YouTube data, each with the word count of a real comment and words drawn
from the corpus' own token stream, so lengths and vocabulary are realistic and texts
do not repeat (no cache can answer a whole text). Cases: the sklearn runtime (the
exact fast TF-IDF path), the stock scikit-learn ``predict_proba`` on the same batches
(the baseline, same run), and the onnx runtime (on ``--onnx-n`` texts: it is much
slower). Prints docs/s, the ratio to the 20k docs/s target and to the stock baseline.
The machine is shared: read ratios, not absolute times across runs.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before numpy is imported

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TARGET = 20_000


def make_texts(n: int, seed: int = 0) -> list[str]:
    """``n`` comment-like texts from data/youtube (word counts and words of real ones)."""
    frames = [pd.read_csv(ROOT / "data" / "youtube" / f"{s}.csv") for s in ("train", "dev", "test")]
    comments = pd.concat(frames)["text"].astype(str).tolist()
    lengths = np.array([max(1, len(c.split())) for c in comments])
    stream = np.array([w for c in comments for w in c.split()], dtype=object)
    rng = np.random.default_rng(seed)
    counts = rng.choice(lengths, size=n)
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    words = stream[rng.integers(0, len(stream), size=int(counts.sum()))]
    return [" ".join(words[s:s + c]) for s, c in zip(starts, counts)]


def stock_exported(exported):
    """The same exported model, predicting with plain ``model.predict_proba`` (baseline)."""
    exported._fast = None
    return exported


def run_case(model_dir: Path, runtime: str, path: Path, fmt: str, stock: bool = False) -> dict:
    from labeling.export import load_exported
    from labeling.predict import read_texts, write_predictions

    exported = load_exported(model_dir, runtime)
    if stock:
        stock_exported(exported)
    out_path = path.with_suffix(f".{runtime}{'.stock' if stock else ''}.{fmt}")
    start = time.perf_counter()
    texts = read_texts(str(path))
    with open(out_path, "w", encoding="utf-8") as out:
        write_predictions(exported, texts, out, fmt)
    seconds = time.perf_counter() - start
    return {"runtime": runtime + (" (stock predict_proba)" if stock else ""), "format": fmt,
            "docs": len(texts), "seconds": seconds, "docs_per_s": len(texts) / seconds,
            "ratio_to_target": len(texts) / seconds / TARGET, "output": str(out_path)}


def default_model(tmp: Path) -> Path:
    """runs/youtube/model if it has an ONNX file, else a fresh export of its end model."""
    model_dir = ROOT / "runs" / "youtube" / "model"
    if (model_dir / "model.onnx").is_file():
        return model_dir
    from labeling.export import export_model, load_model

    source = ROOT / "runs" / "youtube" / "end_model.skops"
    if not source.is_file():
        sys.exit(f"{source}: not found; run `labeling run` first or pass --model")
    return export_model(load_model(source), tmp / "model", {"task": "youtube",
                                                            "labels": ["ham", "spam"]})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="exported model folder (with model.onnx)")
    parser.add_argument("--n", type=int, default=100_000, help="texts for the sklearn cases")
    parser.add_argument("--onnx-n", type=int, default=10_000, help="texts for the onnx case")
    parser.add_argument("--cpu", type=int, default=0, help="the one CPU to pin to")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    os.sched_setaffinity(0, {args.cpu})
    from labeling.export import onnx_io

    onnx_io.THREADS = 1
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        model_dir = args.model or default_model(tmp)
        texts = make_texts(args.n)
        short = np.mean([len(t) for t in texts])
        print(f"{len(texts)} texts, mean {short:.0f} chars, median "
              f"{np.median([len(t) for t in texts]):.0f}; pinned to CPU {args.cpu}; "
              f"model {model_dir}")
        path = tmp / "in.txt"
        path.write_text("\n".join(texts) + "\n",
                        encoding="utf-8")
        small = tmp / "small.txt"
        small.write_text("\n".join(texts[:args.onnx_n]) + "\n", encoding="utf-8")
        results = [run_case(model_dir, "sklearn", path, "tsv"),
                   run_case(model_dir, "sklearn", path, "jsonl"),
                   run_case(model_dir, "sklearn", path, "tsv", stock=True),
                   run_case(model_dir, "onnx", small, "tsv")]
        fast_out = Path(results[0]["output"]).read_bytes()
        same = fast_out == Path(results[2]["output"]).read_bytes()
        stock = results[2]["docs_per_s"]
        print(f"\n{'runtime':<34} {'format':<6} {'docs':>7} {'docs/s':>9} "
              f"{'x 20k target':>12} {'x stock':>8}")
        for r in results:
            r["ratio_to_stock"] = r["docs_per_s"] / stock
            print(f"{r['runtime']:<34} {r['format']:<6} {r['docs']:>7} "
                  f"{r['docs_per_s']:>9.0f} {r['ratio_to_target']:>12.2f} "
                  f"{r['ratio_to_stock']:>8.2f}")
        print(f"\nfast and stock sklearn tsv outputs byte-identical: {same}")
    if args.json:
        for r in results:
            r.pop("output")
        args.json.write_text(json.dumps({"texts": args.n, "mean_chars": float(short),
                                         "target_docs_per_s": TARGET,
                                         "fast_equals_stock": same, "results": results},
                                        indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
