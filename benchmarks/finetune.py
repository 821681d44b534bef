"""``minilm_finetune`` against the frozen-feature end models, and its ONNX fp32/int8 copies.

For WRENCH youtube / sms / trec (benchmarks/data/wrench) and the bundled task
(labeling.toml; its LFs applied as in benchmarks/learning_curve.py), the label model
(``auto``, cached as in benchmarks/end_models.py) gives train soft labels; then every
end model is fit on **the same rows**: the covered train rows with their soft labels
(weight 1 each) plus the dev gold rows (3 copies each), no CV, no decision bias, fixed
hyperparameters (the defaults, chosen before any measurement). Test gold only scores.

Per model: test score (accuracy; F1 of the positive class for sms and the bundled
task), fit seconds (the MiniLM embeddings of ``minilm_logreg`` are cached on disk, so
its fit excludes embedding: the fine-tune's fit embeds everything, every epoch), model
size (skops, deflated; for the ONNX files their bytes), docs/s on the test texts (one
process, cold of any embedding cache; ONNX on one intra-op thread) both per wall-clock
second and per CPU second of the process (the machine is shared: CPU time is the
steadier figure), and the ratio of each to ``tfidf_logreg`` in the same run. For
``minilm_logreg`` and ``minilm_finetune`` also their ONNX fp32 and int8 exports
(labeling.export.onnx_transformer: encoder + head), their max |probability difference|
to the skops model, and the int8 test-metric drop (goal <= 0.005).

Against the issue's goals, per dataset: the fine-tune's gain in points over the best
frozen model of the run (``notes.<ds>.vs_best_frozen``; goal >= 1), epochs run and
whether ``--max-time`` cut the fit (``notes.<ds>.finetune_fit``), trec >= 0.90; the JSON's
``environment`` records torch's thread count, CPU affinity, load average and the command
at start and end (pin with ``taskset -c 0``: torch then takes one thread).

The fitted fine-tunes are kept in benchmarks/.cache/finetune (keyed by data, labels
and params) so a re-run only exports and predicts; ``--refit`` fits again.

    python benchmarks/finetune.py [--json PATH] [--datasets youtube sms trec bundled]
        [--max-time SECONDS] [--refit] [--finetune-params JSON]

``--finetune-params '{"gold_epochs": 4}'``: more ``minilm_finetune`` parameters (as in
``[end_model] params``), e.g. the gold stage chosen on dev by finetune_trec_dev.py.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))
sys.path.insert(0, str(ROOT))

from end_models import label_model_probs  # noqa: E402
from learning_curve import load_dataset  # noqa: E402
from labeling.export import skops_io  # noqa: E402
from labeling.export import onnx_transformer, transformer_runtime  # noqa: E402
from labeling.metrics import score_predictions  # noqa: E402
from labeling.train.end_model import predict_proba_full, train_end_model  # noqa: E402

CACHE = ROOT / ".cache"
DATASETS = ("youtube", "sms", "trec", "bundled")
FROZEN = ("tfidf_logreg", "minilm_logreg", "tfidf_minilm_avg")
DEV_WEIGHT = 3.0  # the pipeline's default (labeling.train.auto.DEFAULT_DEV_WEIGHT)
INT8_DROP_GOAL = 0.005
GAIN_GOAL = 0.01  # the issue: the fine-tune beats the best frozen model by >= 1 point
TREC_GOAL = 0.90  # the issue: trec >= 0.90 with all dev rows
FIT_VERSION = "2"  # bump when labeling/train/finetune.py changes what a fit gives


def _fit_key(name: str, texts, probs, dev_texts, y_dev, params: dict) -> str:
    h = hashlib.sha1(name.encode())
    h.update(json.dumps([list(texts), list(dev_texts)]).encode())
    h.update(np.asarray(probs, np.float64).round(6).tobytes())
    h.update(np.asarray(y_dev, np.int64).tobytes())
    h.update(json.dumps(params, sort_keys=True).encode())
    h.update(FIT_VERSION.encode())
    return h.hexdigest()[:16]


def fit_finetune(ds, texts, probs, covered, dev_texts, y_dev, params, refit):
    """``(model, fit seconds)``: fit, or load the fit this code and data already made."""
    path = CACHE / "finetune" / f"{ds}-{_fit_key(ds, texts, probs, dev_texts, y_dev, params)}"
    model_path, meta = path.with_suffix(".skops"), path.with_suffix(".json")
    if model_path.exists() and meta.exists() and not refit:
        return skops_io.load_model(model_path), json.loads(meta.read_text())["fit_seconds"]
    start = time.perf_counter()
    model = train_end_model(texts, probs, covered, "minilm_finetune", seed=0,
                            dev_texts=dev_texts, y_dev=y_dev, dev_weight=DEV_WEIGHT, **params)
    seconds = time.perf_counter() - start
    path.parent.mkdir(parents=True, exist_ok=True)
    skops_io.save_model(model, model_path)
    meta.write_text(json.dumps({"fit_seconds": seconds, "history": model.history_}) + "\n")
    return model, seconds


def skops_mb(model) -> float:
    import skops.io as sio

    return len(sio.dumps(model, compression=zipfile.ZIP_DEFLATED)) / 1e6


def docs_per_s(predict, texts) -> tuple[np.ndarray, dict]:
    """``(probabilities, {"docs_per_s": wall clock, "docs_per_cpu_s": per second of this
    process's CPU time})``. On a shared machine the wall figure depends on the other load;
    CPU seconds (all threads summed) are what one uncontended core would need, roughly."""
    predict(texts[:2])  # load models outside the timing
    wall, cpu = time.perf_counter(), time.process_time()
    proba = predict(texts)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return proba, {"docs_per_s": round(len(texts) / wall, 1),
                   "docs_per_cpu_s": round(len(texts) / max(cpu, 1e-9), 1)}


def onnx_rows(model, name, reference, k, texts, score, label) -> dict:
    """The fp32 and int8 ONNX exports of ``model`` (labeling.export.onnx_transformer):
    test score, file size, speed, and how far they are from ``reference`` (the model's
    own probabilities)."""
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        files = onnx_transformer.save_transformer_onnx(model, Path(tmp))
        for variant, file in (("fp32", onnx_transformer.ONNX_FILE),
                              ("int8", onnx_transformer.INT8_FILE)):
            onnx_model = onnx_transformer.TransformerOnnxModel(Path(tmp), file, files["info"])
            proba, speed = docs_per_s(lambda t: onnx_model.predict_proba_full(t, k), texts)
            rows[f"{name}_onnx_{variant}"] = {
                "metric": label, "score": score(proba),
                "size_mb": round(os.path.getsize(Path(tmp) / file) / 1e6, 3), **speed,
                "max_abs_diff_vs_skops": float(np.abs(proba - reference).max()),
                "metric_drop_vs_skops": round(score(reference) - score(proba), 4)}
            print(f"{name} onnx {variant}: {rows[f'{name}_onnx_{variant}']}", flush=True)
    return rows


def run(datasets, max_time=None, refit=False, extra=None) -> tuple[dict, dict]:
    results, notes = {}, {}
    transformer_runtime.THREADS = 1  # one core: the figure the goal is stated in
    for ds in datasets:
        data, (k, metric, pos) = load_dataset(ds, CACHE)
        train, dev, test = data["train"], data["valid"], data["test"]
        probs, _ = label_model_probs(ds, k, train, dev)
        covered = (train["L"] != -1).any(axis=1)
        texts, test_texts = np.asarray(train["text"], dtype=object), list(test["text"])

        def score(proba):
            return round(score_predictions(test["y"], proba.argmax(axis=1), metric, pos), 4)

        label = f"f1(pos={pos})" if metric == "f1" else metric
        rows, notes[ds] = {}, {"train_rows": int(covered.sum()), "dev_rows": len(dev["y"])}
        for name in FROZEN:
            start = time.perf_counter()
            model = train_end_model(texts, probs, covered, name, seed=0, dev_texts=dev["text"],
                                    y_dev=dev["y"], dev_weight=DEV_WEIGHT,
                                    cache_dir=CACHE / "embeddings")
            seconds = time.perf_counter() - start
            proba, speed = docs_per_s(lambda t: predict_proba_full(model, t, k), test_texts)
            rows[name] = {"metric": label, "score": score(proba), "fit_seconds": round(seconds, 2),
                          "size_mb": round(skops_mb(model), 3), **speed}
            print(f"{ds} {name}: {rows[name]}", flush=True)
            if name == "minilm_logreg":  # its encoder + head in ONNX: the fast runtime
                rows |= onnx_rows(model, name, proba, k, test_texts, score, label)
        params = {"progress": True} | ({"max_time": max_time} if max_time else {}) \
            | (extra or {})
        model, seconds = fit_finetune(ds, texts, probs, covered, dev["text"], dev["y"],
                                      params, refit)
        torch_proba, speed = docs_per_s(lambda t: predict_proba_full(model, t, k), test_texts)
        rows["minilm_finetune"] = {"metric": label, "score": score(torch_proba),
                                   "fit_seconds": round(seconds, 2),
                                   "size_mb": round(skops_mb(model), 3), **speed}
        notes[ds]["finetune_history"] = model.history_
        rows |= onnx_rows(model, "minilm_finetune", torch_proba, k, test_texts, score, label)
        base = rows["tfidf_logreg"]
        for row in rows.values():
            for key in ("fit_seconds", "docs_per_s", "docs_per_cpu_s", "size_mb"):
                if key in row and base.get(key):
                    row[f"{key}_vs_tfidf"] = round(row[key] / base[key], 3)
        results[ds] = rows
        notes[ds]["vs_best_frozen"] = versus_best_frozen(rows)
        notes[ds]["finetune_fit"] = {"epochs_run": len(model.history_),
                                     "best_epoch": int(model.best_epoch_),
                                     "max_time": max_time,
                                     "time_capped": bool(max_time and seconds >= max_time)}
        print(f"{ds} minilm_finetune: {rows['minilm_finetune']}", flush=True)
    return results, notes


def versus_best_frozen(rows: dict) -> dict:
    """The issue's first goal for one dataset: the fine-tune's test score against the best
    frozen-feature model's (same training rows), in points (1 point = 0.01)."""
    best = max(FROZEN, key=lambda name: rows[name]["score"])
    gain = rows["minilm_finetune"]["score"] - rows[best]["score"]
    return {"best_frozen": best, "best_frozen_score": rows[best]["score"],
            "finetune_score": rows["minilm_finetune"]["score"],
            "gain_points": round(100 * gain, 2), "beats_by_1_point": gain >= GAIN_GOAL - 1e-9}


def environment() -> dict:
    """What the figures depend on besides the code: threads, load, when, the command."""
    import torch

    return {"command": " ".join([Path(sys.executable).name] + sys.argv),
            "utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "torch_threads": torch.get_num_threads(),
            "cpu_affinity": sorted(os.sched_getaffinity(0)),
            "load_average": [round(x, 2) for x in os.getloadavg()]}


def print_table(results: dict, notes: dict) -> None:
    print(f"\n{'dataset':<9}{'end model':<30}{'metric':<12}{'test':>7}{'fit s':>9}{'x tfidf':>9}"
          f"{'MB':>8}{'docs/s':>9}{'docs/cpu-s':>11}{'x tfidf':>9}")
    for ds, rows in results.items():
        for name, r in rows.items():
            fit = f"{r['fit_seconds']:>9.1f}{r.get('fit_seconds_vs_tfidf', 0):>9.1f}" \
                if "fit_seconds" in r else f"{'':>18}"
            print(f"{ds:<9}{name:<30}{r['metric']:<12}{r['score']:>7.3f}{fit}"
                  f"{r['size_mb']:>8.2f}{r['docs_per_s']:>9.1f}{r['docs_per_cpu_s']:>11.1f}"
                  f"{r.get('docs_per_cpu_s_vs_tfidf', 0):>9.3f}")
        vs, fit = notes[ds]["vs_best_frozen"], notes[ds]["finetune_fit"]
        drop = rows["minilm_finetune_onnx_int8"]["metric_drop_vs_skops"]
        print(f"{'':9}fine-tune vs best frozen ({vs['best_frozen']} {vs['best_frozen_score']:.4f})"
              f": {vs['gain_points']:+.2f} points (goal >= {100 * GAIN_GOAL:.0f}: "
              f"{'met' if vs['beats_by_1_point'] else 'NOT met'}); int8 metric drop {drop:+.4f} "
              f"(goal <= {INT8_DROP_GOAL}: {'met' if drop <= INT8_DROP_GOAL else 'NOT met'}); "
              f"epochs run {fit['epochs_run']}, best {fit['best_epoch']}"
              f"{', TIME-CAPPED' if fit['time_capped'] else ''}")
        if ds == "trec":
            score = rows["minilm_finetune"]["score"]
            print(f"{'':9}trec goal >= {TREC_GOAL} with all {notes[ds]['dev_rows']} dev rows: "
                  f"{'met' if score >= TREC_GOAL else 'NOT met'} ({score:.4f})")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", metavar="PATH", help="write results as JSON here")
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS)
    parser.add_argument("--max-time", type=float, default=None,
                        help="seconds of fine-tuning at most per dataset (default: none)")
    parser.add_argument("--refit", action="store_true", help="ignore cached fine-tunes")
    parser.add_argument("--finetune-params", type=json.loads, default=None, metavar="JSON",
                        help="more minilm_finetune params, e.g. '{\"gold_epochs\": 4}'")
    args = parser.parse_args(argv)
    started = environment()
    results, notes = run(args.datasets, args.max_time, args.refit, args.finetune_params)
    print_table(results, notes)
    env = {"start": started, "end": environment()}
    print(f"\nstart {env['start']}\nend   {env['end']}")
    if args.json:
        Path(args.json).write_text(json.dumps({"results": results, "notes": notes,
                                               "environment": env}, indent=2)
                                   + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
