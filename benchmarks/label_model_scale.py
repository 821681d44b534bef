"""Label-model scale benchmark: fit + predict_proba on a synthetic n x m binary label
matrix, our default scalable model (dawid_skene) vs snorkel's LabelModel.

Each model runs in its own subprocess, which regenerates the same seeded int8 matrix
and then reads its peak RSS (``ru_maxrss``) before and after fit + predict_proba:
the difference is the model's own peak memory, not the matrix's or the other model's.
The matrix is generated from known LF accuracies and coverages, so the script also
prints how well dawid_skene recovers the true accuracies.

    python benchmarks/label_model_scale.py [--rows 1000000] [--lfs 50] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

MODELS = ("dawid_skene", "snorkel")
TARGETS = {"time": 1 / 3, "memory": 1 / 4}  # ours / snorkel's, at most


def truth(n_lfs: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """True LF accuracies (0.55..0.95) and coverages (0.05..0.5), seeded."""
    rng = np.random.default_rng(seed)
    return rng.uniform(0.55, 0.95, n_lfs), rng.uniform(0.05, 0.5, n_lfs)


def synthetic(n: int, n_lfs: int, seed: int, prior: float = 0.4):
    """int8 label matrix from :func:`truth`, built one LF at a time to stay lean."""
    accs, covs = truth(n_lfs, seed)
    rng = np.random.default_rng(seed + 1)
    y = (rng.random(n) < prior).astype(np.int8)
    L = np.full((n, n_lfs), -1, dtype=np.int8)
    for j in range(n_lfs):
        votes = rng.random(n) < covs[j]
        correct = rng.random(n) < accs[j]
        L[votes, j] = np.where(correct[votes], y[votes], 1 - y[votes])
    return L, y, accs


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def make_model(model_name: str):
    """dawid_skene through our registry; snorkel's own LabelModel, untouched (its own
    fit and predict_proba, as a snorkel user runs it)."""
    if model_name == "snorkel":
        import warnings

        from snorkel.labeling.model import LabelModel

        warnings.simplefilter("ignore")  # snorkel's int8 / dtype warnings
        lm = LabelModel(cardinality=2, verbose=False)
        fit = lambda L: lm.fit(L, n_epochs=500, seed=123, progress_bar=False)  # noqa: E731
        return lm, fit
    from labeling import models

    model = models.make(model_name, cardinality=2)
    return model, model.fit


def worker(model_name: str, rows: int, lfs: int, seed: int) -> dict:
    """Fit + predict_proba one model in this process; returns timings and peak memory."""
    L, y, accs = synthetic(rows, lfs, seed)
    model, fit = make_model(model_name)  # imports happen here, before the baseline
    baseline = peak_mb()
    cpu_start = time.process_time()
    start = time.perf_counter()
    fit(L)
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    proba = model.predict_proba(L)
    predict_s = time.perf_counter() - start
    out = {"model": model_name, "fit_s": fit_s, "predict_s": predict_s,
           "total_s": fit_s + predict_s, "cpu_s": time.process_time() - cpu_start,
           "peak_mb": peak_mb() - baseline,
           "baseline_mb": baseline, "accuracy": float((proba.argmax(axis=1) == y).mean())}
    learned = getattr(model, "lf_accuracies_", None)
    if learned is not None:
        err = np.abs(np.asarray(learned) - accs)
        out.update(acc_err_max=float(err.max()), acc_err_mean=float(err.mean()))
    return out


def run_in_subprocess(model_name: str, args) -> dict:
    cmd = [sys.executable, __file__, "--worker", model_name, "--rows", str(args.rows),
           "--lfs", str(args.lfs), "--seed", str(args.seed)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{model_name} worker failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--lfs", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", metavar="PATH", help="write results as JSON here")
    parser.add_argument("--worker", choices=MODELS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker, args.rows, args.lfs, args.seed)))
        return 0

    print(f"synthetic binary label matrix: {args.rows} x {args.lfs} int8, seed {args.seed}")
    res = {name: run_in_subprocess(name, args) for name in MODELS}
    print(f"{'model':<13}{'fit s':>8}{'predict s':>11}{'total s':>9}{'cpu s':>8}{'peak MB':>9}"
          f"{'acc':>7}")
    for name, r in res.items():
        print(f"{name:<13}{r['fit_s']:>8.2f}{r['predict_s']:>11.2f}{r['total_s']:>9.2f}"
              f"{r['cpu_s']:>8.2f}{r['peak_mb']:>9.0f}{r['accuracy']:>7.3f}")
    ours, theirs = res["dawid_skene"], res["snorkel"]
    ratios = {"time": ours["total_s"] / theirs["total_s"],
              "cpu_time": ours["cpu_s"] / theirs["cpu_s"],
              "memory": max(ours["peak_mb"], 1.0) / max(theirs["peak_mb"], 1.0)}
    for key, ratio in ratios.items():
        target = TARGETS["time" if key == "cpu_time" else key]
        verdict = "meets" if ratio <= target else "MISSES"
        print(f"{key} ratio dawid_skene/snorkel: {ratio:.3f} ({verdict} target <= {target:.2f})")
    print(f"dawid_skene recovered LF accuracies: max |error| {ours['acc_err_max']:.4f}, "
          f"mean {ours['acc_err_mean']:.4f} (vs the generator's true accuracies)")
    print("total s = wall fit + predict_proba; cpu s = process CPU time over all threads (less "
          "sensitive to other load on the machine);\npeak MB = ru_maxrss after fit + "
          "predict_proba minus before (matrix already built).")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": args.rows, "lfs": args.lfs,
                                               "results": res, "ratios": ratios}, indent=2) + "\n",
                                   encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
