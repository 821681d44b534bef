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

Open vocabulary: corpus words flatter the fast path's per-word cache (every word is
seen again and again), so the same N texts are built again with ``--novel`` (30%) of
their words replaced by fresh random tokens, and the sklearn and stock cases run on
them too; each case's ``ratio_to_stock`` is against the stock baseline on the same texts.

Streaming: ``labeling predict --model DIR`` as a subprocess reading ``--stream-n`` lines
(100k and 1M) from stdin; its peak RSS (os.wait4) per size, and their ratio, show
whether memory stays flat as the input grows (it read all of stdin first before).

The machine is shared: read ratios, not absolute times across runs.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before numpy is imported

import argparse  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TARGET = 20_000


def make_texts(n: int, seed: int = 0, novel: float = 0.0) -> list[str]:
    """``n`` comment-like texts from data/youtube (word counts and words of real ones);
    with ``novel`` > 0, that fraction of the words are fresh random tokens instead (an
    open vocabulary: words no cache has seen, mostly not in the model's vocabulary)."""
    frames = [pd.read_csv(ROOT / "data" / "youtube" / f"{s}.csv") for s in ("train", "dev", "test")]
    comments = pd.concat(frames)["text"].astype(str).tolist()
    lengths = np.array([max(1, len(c.split())) for c in comments])
    stream = np.array([w for c in comments for w in c.split()], dtype=object)
    rng = np.random.default_rng(seed)
    counts = rng.choice(lengths, size=n)
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    words = stream[rng.integers(0, len(stream), size=int(counts.sum()))]
    if novel:
        fresh = np.flatnonzero(rng.random(len(words)) < novel)
        letters = np.array(list("abcdefghijklmnopqrstuvwxyz0123456789"))
        sizes = rng.integers(3, 11, size=len(fresh))
        chars = letters[rng.integers(0, len(letters), size=int(sizes.sum()))]
        cuts = np.r_[0, np.cumsum(sizes)]
        words[fresh] = ["".join(chars[a:b]) for a, b in zip(cuts[:-1], cuts[1:])]
    return [" ".join(words[s:s + c]) for s, c in zip(starts, counts)]


def stock_exported(exported):
    """The same exported model, predicting with plain ``model.predict_proba`` (baseline)."""
    exported._fast = None
    return exported


def run_case(model_dir: Path, runtime: str, path: Path, fmt: str, stock: bool = False,
             vocabulary: str = "corpus") -> dict:
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
            "vocabulary": vocabulary, "docs": len(texts), "seconds": seconds, "docs_per_s": len(texts) / seconds,
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


# Started fresh between this process and `labeling predict`: Linux counts the RSS a child
# had before exec (a fork of this big process) in its ru_maxrss, so the child is forked
# from a small interpreter that reports the child's own peak.
_RSS_LAUNCHER = ("import os, subprocess, sys\n"
                 "proc = subprocess.Popen(sys.argv[1:])\n"
                 "_, status, usage = os.wait4(proc.pid, 0)\n"
                 "print('peak_rss_kib', usage.ru_maxrss, os.waitstatus_to_exitcode(status),"
                 " file=sys.stderr)")


def stream_case(model_dir: Path, path: Path, lines: int) -> dict:
    """`labeling predict` in a subprocess fed ``path`` on stdin: time and peak RSS."""
    command = [sys.executable, "-m", "labeling.cli", "predict", "--model", str(model_dir)]
    start = time.perf_counter()
    with open(path, "rb") as stdin:
        done = subprocess.run([sys.executable, "-c", _RSS_LAUNCHER, *command], stdin=stdin,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - start
    report = done.stderr.strip().splitlines()[-1].split() if done.stderr.strip() else []
    if len(report) != 3 or report[0] != "peak_rss_kib" or report[2] != "0":
        sys.exit(f"streaming case: {' '.join(command)} failed:\n{done.stderr}")
    return {"lines": lines, "seconds": seconds, "docs_per_s": lines / seconds,
            "peak_rss_mb": int(report[1]) / 1024}  # Linux: ru_maxrss in KiB


def same_output(a: dict, b: dict) -> bool:
    return Path(a["output"]).read_bytes() == Path(b["output"]).read_bytes()


def write_lines(path: Path, texts: list[str]) -> Path:
    path.write_text("\n".join(texts) + "\n", encoding="utf-8")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="exported model folder (with model.onnx)")
    parser.add_argument("--n", type=int, default=100_000, help="texts for the sklearn cases")
    parser.add_argument("--onnx-n", type=int, default=10_000, help="texts for the onnx case")
    parser.add_argument("--novel", type=float, default=0.3,
                        help="fraction of fresh random words in the open-vocabulary case")
    parser.add_argument("--stream-n", default="100000,1000000",
                        help="stdin sizes (lines) of the streaming case, comma-separated")
    parser.add_argument("--cpu", type=int, default=0, help="the one CPU to pin to")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    stream_sizes = sorted(int(n) for n in args.stream_n.split(","))
    os.sched_setaffinity(0, {args.cpu})  # inherited by the streaming subprocess
    from labeling.export import onnx_io

    onnx_io.THREADS = 1
    open_label = f"open ({args.novel:.0%} novel)"
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        model_dir = args.model or default_model(tmp)
        texts = make_texts(args.n)
        short = np.mean([len(t) for t in texts])
        print(f"{len(texts)} texts, mean {short:.0f} chars, median "
              f"{np.median([len(t) for t in texts]):.0f}; pinned to CPU {args.cpu}; "
              f"model {model_dir}")
        path = write_lines(tmp / "in.txt", texts)
        small = write_lines(tmp / "small.txt", texts[:args.onnx_n])
        open_path = write_lines(tmp / "open.txt", make_texts(args.n, novel=args.novel))
        results = [run_case(model_dir, "sklearn", path, "tsv"),
                   run_case(model_dir, "sklearn", path, "jsonl"),
                   run_case(model_dir, "sklearn", path, "tsv", stock=True),
                   run_case(model_dir, "onnx", small, "tsv"),
                   run_case(model_dir, "sklearn", open_path, "tsv", vocabulary=open_label),
                   run_case(model_dir, "sklearn", open_path, "tsv", stock=True,
                            vocabulary=open_label)]
        same, open_same = same_output(results[0], results[2]), same_output(results[4], results[5])
        stock = {"corpus": results[2]["docs_per_s"], open_label: results[5]["docs_per_s"]}
        print(f"\n{'runtime':<34} {'format':<6} {'vocabulary':<16} {'docs':>7} {'docs/s':>9} "
              f"{'x 20k target':>12} {'x stock':>8}")
        for r in results:  # against the stock baseline on the same texts, this run
            r["ratio_to_stock"] = r["docs_per_s"] / stock[r["vocabulary"]]
            print(f"{r['runtime']:<34} {r['format']:<6} {r['vocabulary']:<16} {r['docs']:>7} "
                  f"{r['docs_per_s']:>9.0f} {r['ratio_to_target']:>12.2f} "
                  f"{r['ratio_to_stock']:>8.2f}")
        open_vs_corpus = results[4]["docs_per_s"] / results[0]["docs_per_s"]
        print(f"\nfast and stock sklearn tsv outputs byte-identical: {same} (corpus), "
              f"{open_same} (open vocabulary)")
        print(f"fast path, open vocabulary vs corpus words: x{open_vs_corpus:.2f}")

        stream_texts = make_texts(stream_sizes[-1], seed=1)
        streaming = [stream_case(model_dir, write_lines(tmp / f"stream{n}.txt",
                                                        stream_texts[:n]), n)
                     for n in stream_sizes]
        del stream_texts
        rss_ratio = streaming[-1]["peak_rss_mb"] / streaming[0]["peak_rss_mb"]
        print("\nstreaming stdin (labeling predict subprocess): "
              + ", ".join(f"{s['lines']} lines peak RSS {s['peak_rss_mb']:.0f} MB "
                          f"({s['docs_per_s']:.0f} docs/s with start-up)" for s in streaming)
              + f"; RSS x{rss_ratio:.2f} for x{stream_sizes[-1] / stream_sizes[0]:.0f} lines")
    if args.json:
        for r in results:
            r.pop("output")
        args.json.write_text(json.dumps({"texts": args.n, "mean_chars": float(short),
                                         "target_docs_per_s": TARGET,
                                         "fast_equals_stock": same,
                                         "open_fast_equals_stock": open_same,
                                         "novel_fraction": args.novel,
                                         "open_vs_corpus_fast": open_vs_corpus,
                                         "results": results,
                                         "streaming": {"cases": streaming,
                                                       "peak_rss_ratio": rss_ratio}},
                                        indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
