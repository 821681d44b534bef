"""Benchmark: docs/s of an exported transformer's ONNX file on one onnxruntime thread,
by how its texts are chunked: in input order, sorted by characters (the code before
length sorting by tokens), sorted by tokens in chunks of ``TransformerOnnxModel.BATCH``
(labeling/export/transformer_runtime.py now); the first two in chunks of 64 (as before).

    taskset -c 1 python benchmarks/transformer_speed.py --model RUN/model [--file int8]
        [--seconds 5] [--rounds 3] [--batch 256] [--baseline-file ONNX] [--json PATH]

Pin it to one core (``taskset -c 1``) for the issue's "docs/s on one core". The variants
run the same onnxruntime session (``intra_op_num_threads`` 1) on the same texts, in
interleaved rounds (each variant ``--seconds`` per round) so that the machine's load
drifts over all of them alike; each reports docs per wall second and per CPU second of
this process (on a shared core the CPU figure is the steadier one), and its ratio to the
input-order and character-sorted figures of the same run. Texts: trec's test questions
(benchmarks/data/wrench/trec/test.json; texts only, no labels read) and comment-like texts
from the bundled YouTube data (benchmarks/predict.py's ``make_texts``), ``--batch`` texts
per ``predict_proba_full`` call (256: serve's --max-batch, and `labeling predict`'s).
The answers of every variant are compared with the token-sorted ones (max |diff|):
fp32's agree to float rounding, and so do a per-text int8 file's (exported with
``[export] int8_scales = "per_text"``: labeling/export/int8_per_text.py); the default int8 file's
move with the chunking (``quantize_dynamic``: one activation scale per call). ``alone_vs_batched``: the first 512 texts each
run alone against the same texts in calls of ``--batch``. ``--baseline-file``: another
ONNX file of the same model (e.g. the plain dynamic int8 file) run the runtime's way in
the same interleaved rounds, each variant's docs per CPU second also given as a ratio to
it (``vs_baseline``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from predict import make_texts  # noqa: E402  (benchmarks/predict.py)

from labeling.export.transformer_runtime import INT8_FILE, TransformerOnnxModel  # noqa: E402
from labeling.train.finetune_data import encode  # noqa: E402

OLD_BATCH = 64  # texts per onnxruntime call in the code before (commit 650ffa4)


def input_order(model: TransformerOnnxModel, texts: list[str], k: int) -> np.ndarray:
    """Chunks of ``OLD_BATCH`` in the input order, each padded to its longest."""
    full = np.zeros((len(texts), k))
    for start in range(0, len(texts), OLD_BATCH):
        ids, mask = encode(model.tokenizer, texts[start:start + OLD_BATCH])
        full[start:start + len(ids), model.classes] = model.session.run(
            [model.proba_output], {"input_ids": ids, "attention_mask": mask})[0]
    return full


def by_characters(model: TransformerOnnxModel, texts: list[str], k: int) -> np.ndarray:
    """The code before (commit 650ffa4): sorted by character count, chunks of
    ``OLD_BATCH``, tokenized per chunk."""
    full = np.zeros((len(texts), k))
    order = np.argsort([len(t) for t in texts], kind="stable")
    for start in range(0, len(texts), OLD_BATCH):
        rows = order[start:start + OLD_BATCH]
        ids, mask = encode(model.tokenizer, [texts[i] for i in rows])
        full[np.ix_(rows, model.classes)] = model.session.run(
            [model.proba_output], {"input_ids": ids, "attention_mask": mask})[0]
    return full


def by_tokens(model: TransformerOnnxModel, texts: list[str], k: int) -> np.ndarray:
    return model.predict_proba_full(texts, k)


VARIANTS = {"input_order": input_order, "by_characters": by_characters, "by_tokens": by_tokens}


def trec_questions() -> list[str]:
    rows = json.loads((ROOT / "benchmarks" / "data" / "wrench" / "trec" / "test.json")
                      .read_text(encoding="utf-8"))
    return [row["data"]["text"] for row in rows.values()]


ALONE = 512  # texts each run alone, against the same texts in calls of --batch


def alone_vs_batched(model, texts: list[str], k: int, batch: int) -> dict:
    """Each of the first ``ALONE`` texts alone against its answer inside calls of ``batch``
    texts (the runtime's chunks): does the file answer a text the same whatever its
    neighbours?"""
    sample = texts[:ALONE]
    alone = np.vstack([model.predict_proba_full([t], k) for t in sample])
    batched = np.vstack([model.predict_proba_full(sample[i:i + batch], k)
                         for i in range(0, len(sample), batch)])
    diff = np.abs(alone - batched).max(axis=1)
    return {"texts": len(sample), "max_abs_diff": float(diff.max()),
            "median_abs_diff": float(np.median(diff)),
            "label_flips": int(np.sum(alone.argmax(1) != batched.argmax(1)))}


def measure(model, texts: list[str], k: int, batch: int, seconds: float, rounds: int,
            baseline=None) -> dict:
    variants = dict(VARIANTS)
    if baseline is not None:  # another file of the same model, the runtime's way
        variants["baseline"] = lambda _, chunk, k: baseline.predict_proba_full(chunk, k)
    totals = {name: [0, 0.0, 0.0] for name in variants}  # docs, wall s, CPU s
    for name, run in variants.items():  # warm-up
        run(model, texts[:batch], k)
    for _ in range(rounds):
        for name, run in variants.items():
            done, t0, c0 = 0, time.perf_counter(), time.process_time()
            while time.perf_counter() - t0 < seconds:
                start = (done // batch * batch) % len(texts)
                chunk = texts[start:start + batch]
                run(model, chunk, k)
                done += len(chunk)
            totals[name][0] += done
            totals[name][1] += time.perf_counter() - t0
            totals[name][2] += time.process_time() - c0
    sample = texts[:batch * 4]
    reference = np.vstack([by_tokens(model, sample[i:i + batch], k)
                           for i in range(0, len(sample), batch)])
    result = {}
    for name, (done, wall, cpu) in totals.items():
        answers = np.vstack([variants[name](model, sample[i:i + batch], k)
                             for i in range(0, len(sample), batch)])
        result[name] = {"docs_per_s": done / wall, "docs_per_cpu_s": done / cpu,
                        "max_abs_diff_vs_by_tokens": float(np.abs(answers - reference).max())}
    for name in variants:
        for base in ("input_order", "by_characters") + (("baseline",) if baseline else ()):
            result[name][f"vs_{base}"] = (result[name]["docs_per_cpu_s"]
                                          / result[base]["docs_per_cpu_s"])
    result["alone_vs_batched"] = alone_vs_batched(model, texts, k, batch)
    if baseline is not None:
        result["baseline_alone_vs_batched"] = alone_vs_batched(baseline, texts, k, batch)
    lengths = [int(m.sum()) for m in (encode(model.tokenizer, [t])[1] for t in texts[:2000])]
    result["texts"] = {"n": len(texts), "words_mean": float(np.mean([len(t.split())
                                                                      for t in texts])),
                       "tokens_mean": float(np.mean(lengths)),
                       "tokens_p90": float(np.percentile(lengths, 90)),
                       "tokens_max": int(max(lengths))}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True,
                        help="an exported transformer folder (minilm_finetune)")
    parser.add_argument("--file", choices=("int8", "fp32"), default="int8")
    parser.add_argument("--seconds", type=float, default=5.0, help="per variant per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=256, help="texts per predict call")
    parser.add_argument("--comments", type=int, default=5000, help="comment-like texts")
    parser.add_argument("--baseline-file", type=Path, metavar="ONNX",
                        help="another ONNX file of the same model (e.g. the plain dynamic "
                             "int8 one), run by tokens in the same rounds: vs_baseline")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    card = json.loads((args.model / "model_card.json").read_text(encoding="utf-8"))
    info = card["onnx"]
    k = len(card["labels"])
    model = TransformerOnnxModel(args.model, INT8_FILE if args.file == "int8" else "model.onnx",
                                 info, threads=1)
    baseline = None
    if args.baseline_file:
        baseline = TransformerOnnxModel(args.baseline_file.parent, args.baseline_file.name,
                                        info, threads=1)
    affinity = sorted(os.sched_getaffinity(0))
    results = {"model": str(args.model), "file": args.file, "batch": args.batch,
               "chunk": model.BATCH, "cpus": affinity, "seconds": args.seconds,
               "rounds": args.rounds, "load_average_before": list(os.getloadavg()),
               "baseline_file": str(args.baseline_file) if args.baseline_file else None}
    for name, texts in (("trec_test_questions", trec_questions()),
                        ("bundled_comments", make_texts(args.comments, seed=0))):
        results[name] = r = measure(model, texts, k, args.batch, args.seconds, args.rounds,
                                    baseline)
        t = r["texts"]
        print(f"{name}: {t['n']} texts, {t['words_mean']:.1f} words, {t['tokens_mean']:.1f} "
              f"tokens on average (p90 {t['tokens_p90']:.0f}, max {t['tokens_max']}); "
              f"{args.file}, one thread on CPUs {affinity}, {args.batch} texts per call",
              flush=True)
        for variant in list(VARIANTS) + (["baseline"] if baseline else []):
            v = r[variant]
            vs = f"{v['vs_baseline']:.2f}x baseline  " if baseline else ""
            print(f"  {variant:14s} {v['docs_per_s']:7,.0f} docs/s  {v['docs_per_cpu_s']:7,.0f} "
                  f"per CPU s  {v['vs_input_order']:.2f}x input order  "
                  f"{v['vs_by_characters']:.2f}x by characters  {vs}(per CPU s)  max |diff| "
                  f"vs by tokens {v['max_abs_diff_vs_by_tokens']:.2g}", flush=True)
        for key in ("alone_vs_batched", "baseline_alone_vs_batched"):
            if key in r:
                a = r[key]
                print(f"  {key}: {a['texts']} texts alone vs in calls of {args.batch}: max "
                      f"|diff| {a['max_abs_diff']:.2g}, median {a['median_abs_diff']:.2g}, "
                      f"{a['label_flips']} labels flip", flush=True)
    load = os.getloadavg()
    results["load_average_after"] = list(load)
    print(f"(load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} on {os.cpu_count()} CPUs)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
