"""Would a decision bias help the fit-once ``minilm_finetune``? Measured on dev only.

Issue #16: on sms the fine-tune (fit once, no decision bias) is below the frozen default,
which gets a bias for spam fit on its CV's out-of-fold predictions. This script reads
only the train and valid splits (test gold is never loaded) and reuses
benchmarks/finetune_trec_dev.py's setup (:func:`finetune_trec_dev.prepare`): the dev rows
split once, stratified (``--split-seed``), into 2/3 fit and 1/3 held rows; the label
model refit on the fit part. Per fine-tune seed (``--seeds``), ``minilm_finetune`` with
default params is fit on the covered weak rows (weight 1) + the fit gold (x3) and
predicts the held rows (never trained on). There, F1 of the positive class from:

- the **argmax** (what the pipeline does for a fit-once model);
- a **cross-fitted bias**: the held rows in two stratified halves
  (:func:`labeling.metrics.stratified_folds`, seed ``s``); ``fit_decision_bias`` on one
  half decides the other and vice versa, decisions pooled
  (:func:`labeling.train.cross_validation.oof_predictions`); for ``s`` in
  ``0 .. --half-splits - 1`` (the probabilities are fixed; only the halves change).

The decision rule (docs/finetune.md, "A decision bias for the fine-tune? (dev only)",
written before the first run): supported if, at every seed, the mean over the half
splits of (cross-fitted F1 - argmax F1) exceeds the one-row floor (:func:`one_row_floor`).
Printed per seed: both F1s, spam precision/recall, the bias values (each half's at
``s = 0`` and, optimistic and for information only, the bias fit on all held rows), the
argmax's missed spam rows' probabilities, and the rule's line.

    python benchmarks/finetune_bias_dev.py [--dataset sms|bundled|youtube|trec]
        [--seeds 0 1] [--split-seed 0] [--half-splits 20] [--frozen] [--json PATH] [--smoke]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))
sys.path.insert(0, str(ROOT))

from finetune_trec_dev import DATASETS, DEV_WEIGHT, prepare  # noqa: E402
from labeling.metrics import (fit_decision_bias, score_predictions,  # noqa: E402
                              stratified_folds)
from labeling.train.auto import choose_end_model  # noqa: E402
from labeling.train.cross_validation import oof_predictions  # noqa: E402
from labeling.train.end_model import predict_proba_full, train_end_model  # noqa: E402


def counts(y, pred, pos: int) -> tuple[int, int, int]:
    """``(tp, fp, fn)`` of the positive class."""
    y, pred = np.asarray(y) == pos, np.asarray(pred) == pos
    return int((y & pred).sum()), int((~y & pred).sum()), int((y & ~pred).sum())


def f1_of(tp: int, fp: int, fn: int) -> float:
    return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0


def one_row_floor(y, pred, pos: int) -> float | None:
    """The F1 gained by fixing one row of ``pred``: a false negative made a true positive,
    else a false positive removed; None when ``pred`` is perfect (nothing to gain)."""
    tp, fp, fn = counts(y, pred, pos)
    if fn:
        return f1_of(tp + 1, fp, fn - 1) - f1_of(tp, fp, fn)
    if fp:
        return f1_of(tp, fp - 1, fn) - f1_of(tp, fp, fn)
    return None


def precision_recall(y, pred, pos: int) -> tuple[float, float]:
    tp, fp, fn = counts(y, pred, pos)
    return (tp / (tp + fp) if tp + fp else 0.0), (tp / (tp + fn) if tp + fn else 0.0)


def bias_study(proba: np.ndarray, y: np.ndarray, pos: int, half_splits: int) -> dict:
    """Argmax against the cross-fitted bias on the rows ``y`` (see the module doc)."""
    y = np.asarray(y, dtype=int)
    argmax = proba.argmax(axis=1)
    base = score_predictions(y, argmax, "f1", pos)
    per_split, halves_bias, gains = [], [], []
    for s in range(half_splits):
        fold_of = stratified_folds(y, 2, seed=s)
        pred = oof_predictions(proba, fold_of, y, "f1", pos, bias=True)
        f1 = score_predictions(y, pred, "f1", pos)
        gains.append(f1 - base)  # unrounded: a tie is 0, not a rounding residue
        p, r = precision_recall(y, pred, pos)
        per_split.append({"split": s, "f1": round(f1, 4), "precision": round(p, 4),
                          "recall": round(r, 4), "tp_fp_fn": counts(y, pred, pos)})
        if s == 0:  # the values oof_predictions used, for the record
            halves_bias = [round(float(fit_decision_bias(proba[fold_of != f], y[fold_of != f],
                                                         "f1", pos)[pos]), 2) for f in (0, 1)]
    gains = np.array(gains)
    p0, r0 = precision_recall(y, argmax, pos)
    floor = one_row_floor(y, argmax, pos)
    missed = np.flatnonzero((y == pos) & (argmax != pos))
    false_alarm = np.flatnonzero((y != pos) & (argmax == pos))
    return {
        "held_rows": int(len(y)), "held_positives": int((y == pos).sum()),
        "argmax": {"f1": round(base, 4), "precision": round(p0, 4), "recall": round(r0, 4),
                   "tp_fp_fn": counts(y, argmax, pos)},
        "cross_fitted_split0": per_split[0], "cross_fitted_all_splits": per_split,
        "mean_gain": round(float(gains.mean()), 4),
        "splits_gain_gt0": int((gains > 1e-9).sum()),
        "splits_gain_lt0": int((gains < -1e-9).sum()),
        "bias_split0_halves": halves_bias,
        "bias_all_held_in_sample": round(float(fit_decision_bias(proba, y, "f1", pos)[pos]), 2),
        "p_pos_of_missed": [round(float(proba[i, pos]), 4) for i in missed],
        "p_pos_of_false_alarms": [round(float(proba[i, pos]), 4) for i in false_alarm],
        "one_row_floor": None if floor is None else round(floor, 4),
        "rule": "pass" if floor is not None and gains.mean() > floor else "fail",
        "held_y": y.tolist(), "held_p_pos": [round(float(v), 5) for v in proba[:, pos]],
    }


def frozen_rows(d, cache: Path) -> dict:
    """For comparison (not part of the rule): the frozen default (``auto``: weak weight
    chosen by CV on the fit gold, then its decision bias) on the same rows, and the same
    choice without the bias, scored on the same held rows."""
    out = {}
    for use_bias in (True, False):
        start = time.perf_counter()
        model, report = choose_end_model(d.texts, d.probs, d.covered, d.fit_text, d.fit_y,
                                         metric="f1", pos_label=d.pos, seed=0,
                                         cache_dir=cache, decision_bias=use_bias)
        pred = predict_proba_full(model, list(d.held_text), d.k).argmax(axis=1)
        p, r = precision_recall(d.held_y, pred, d.pos)
        out["with_bias" if use_bias else "argmax"] = {
            "name": report["name"], "weak_weight": report["weak_weight"],
            "decision_bias": report["decision_bias"], "cv": report.get("cv"),
            "f1": round(score_predictions(d.held_y, pred, "f1", d.pos), 4),
            "precision": round(p, 4), "recall": round(r, 4),
            "tp_fp_fn": counts(d.held_y, pred, d.pos),
            "fit_s": round(time.perf_counter() - start, 1)}
        print(f"frozen default ({'its CV bias' if use_bias else 'argmax'}): "
              f"{out['with_bias' if use_bias else 'argmax']}", flush=True)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="sms", help=f"one of {', '.join(DATASETS)}; "
                        "needs an F1 task (a positive class) for the bias")
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1],
                        help="fine-tune seeds (the held split stays the same); none: "
                        "no fine-tune (with --frozen: the frozen rows alone)")
    parser.add_argument("--split-seed", type=int, default=0, help="the dev fit/held split")
    parser.add_argument("--half-splits", type=int, default=20,
                        help="half splits of the held rows for the cross-fitted bias")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/labeling-bench"),
                        help="the bundled task's LF outputs go here")
    parser.add_argument("--json", metavar="PATH", help="write results as JSON here")
    parser.add_argument("--frozen", action="store_true",
                        help="also score the frozen default (auto, with/without its CV bias) "
                        "on the same held rows, for comparison")
    parser.add_argument("--smoke", action="store_true",
                        help="150 train rows, 1 epoch: checks the script, measures nothing")
    args = parser.parse_args(argv)
    if args.dataset not in DATASETS:
        parser.exit(2, f"finetune_bias_dev.py: unknown dataset {args.dataset!r}; "
                       f"use one of {', '.join(DATASETS)}\n")
    if args.half_splits < 1:
        parser.exit(2, f"finetune_bias_dev.py: --half-splits must be >= 1, got "
                       f"{args.half_splits}\n")
    d = prepare(args.dataset, args.split_seed, args.cache, args.smoke)
    if d.metric != "f1":
        parser.exit(2, f"finetune_bias_dev.py: dataset {args.dataset!r} is scored by "
                       f"{d.metric}; the decision bias is fit for F1 tasks only\n")
    out = {"_meta": {"dataset": args.dataset, "metric": f"f1(pos={d.pos})",
                     "split_seed": args.split_seed, "fit_rows": int(len(d.fit_idx)),
                     "held_rows": int(len(d.held_idx)), "half_splits": args.half_splits,
                     "command": " ".join([Path(sys.executable).name] + sys.argv)}}
    if args.frozen:
        out["frozen_default"] = frozen_rows(d, args.cache)
        if args.json:
            Path(args.json).parent.mkdir(parents=True, exist_ok=True)
            Path(args.json).write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    for seed in args.seeds:
        start, load0 = time.perf_counter(), os.getloadavg()
        model = train_end_model(d.texts, d.probs, d.covered, "minilm_finetune", seed=seed,
                                dev_texts=d.fit_text, y_dev=d.fit_y, dev_weight=DEV_WEIGHT,
                                progress=False, **({"epochs": 1} if args.smoke else {}))
        fit_s = time.perf_counter() - start
        proba = predict_proba_full(model, list(d.held_text), d.k)
        r = bias_study(proba, d.held_y, d.pos, args.half_splits)
        r.update(fit_s=round(fit_s, 1), history=model.history_,
                 load_average=[round(x, 2) for x in load0 + os.getloadavg()])
        out[f"seed{seed}"] = r
        a, c = r["argmax"], r["cross_fitted_split0"]
        print(f"seed {seed} ({r['held_rows']} held rows, {r['held_positives']} positive; fit "
              f"{fit_s:.0f} s): argmax F1 {a['f1']:.4f} (P {a['precision']:.3f} R "
              f"{a['recall']:.3f}, tp/fp/fn {a['tp_fp_fn']}); cross-fitted bias, split 0: F1 "
              f"{c['f1']:.4f} (P {c['precision']:.3f} R {c['recall']:.3f}, tp/fp/fn "
              f"{c['tp_fp_fn']}), bias per half {r['bias_split0_halves']}; mean gain over "
              f"{args.half_splits} splits {r['mean_gain']:+.4f} (>0 in {r['splits_gain_gt0']}, "
              f"<0 in {r['splits_gain_lt0']}); in-sample bias on all held rows "
              f"{r['bias_all_held_in_sample']}; missed positives' p {r['p_pos_of_missed']}, "
              f"false alarms' p {r['p_pos_of_false_alarms']}; one-row floor "
              f"{r['one_row_floor']}; rule {r['rule']}", flush=True)
        if args.json:
            Path(args.json).parent.mkdir(parents=True, exist_ok=True)
            Path(args.json).write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    if not args.seeds:
        return 0
    seeds = [out[f"seed{s}"]["rule"] for s in args.seeds]
    verdict = "supported" if all(x == "pass" for x in seeds) else "not supported"
    print(f"rule ({args.dataset}, seeds {args.seeds}): {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
