"""Does a joint multi-label label model beat the per-label ones? (issue 15: "a joint
model only if it beats per-label on these data"). Dev only; test is never read.

    python benchmarks/multilabel_joint.py [--config data/goemotions/labeling.toml] [--json PATH]

The joint model tried: per label, a logistic regression over every label's per-label
probability (logit) and every LF's vote indicators, so "neutral" can see the emotion
LFs and each emotion the others. It is trained on probabilities the per-label models
give rows they were not fit on (inner 5-fold), and both are scored on an outer 5-fold
of dev: out-of-fold macro-F1, each label's threshold at its best F1 on those
out-of-fold probabilities (the same optimism for both). JSON: ``{"per_label":
{"macro_f1", "per_label_f1"}, "joint": {...}}``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold

from labeling.models.multilabel import PerLabelModel, best_threshold
from labeling.multilabel_steps import apply_all, gold, lf_targets
from labeling.pipeline import load_task

ROOT = Path(__file__).resolve().parents[1]


def features(P: np.ndarray, L: np.ndarray) -> np.ndarray:
    P = np.clip(P, 1e-4, 1 - 1e-4)
    return np.hstack([np.log(P / (1 - P)), L == 1, L == 0]).astype(float)


def out_of_fold(k, targets, L_train, L_dev, Y, seed) -> np.ndarray:
    oof = np.zeros(Y.shape)
    for fit, held in KFold(5, shuffle=True, random_state=seed).split(L_dev):
        model = PerLabelModel(k, targets, name="auto").fit(L_train, Y[fit], L_dev[fit])
        oof[held] = model.predict_proba(L_dev[held])
    return oof


def scores(P: np.ndarray, Y: np.ndarray, labels) -> dict:
    f1 = [best_threshold(Y[:, c], P[:, c])[1] for c in range(len(labels))]
    return {"macro_f1": round(float(np.mean(f1)), 4),
            "per_label_f1": {n: round(f, 3) for n, f in zip(labels, f1)}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, default=ROOT / "data/goemotions/labeling.toml")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    task = load_task(args.config)
    task.splits.pop("test", None)
    labels = task.config.labels
    k = len(labels)
    L = apply_all(task, cache=False)
    Y, targets, L_dev = gold(task)["dev"], lf_targets(task.lfs, labels), L["dev"]
    per_label, joint = np.zeros(Y.shape), np.zeros(Y.shape)
    for fit, held in KFold(5, shuffle=True, random_state=1).split(L_dev):
        model = PerLabelModel(k, targets, name="auto").fit(L["train"], Y[fit], L_dev[fit])
        per_label[held] = model.predict_proba(L_dev[held])
        inner = out_of_fold(k, targets, L["train"], L_dev[fit], Y[fit], seed=2)
        X_fit = features(inner, L_dev[fit])
        X_held = features(per_label[held], L_dev[held])
        for c in range(k):
            head = LogisticRegression(max_iter=2000).fit(X_fit, Y[fit][:, c])
            joint[held, c] = head.predict_proba(X_held)[:, 1]
    result = {"per_label": scores(per_label, Y, labels), "joint": scores(joint, Y, labels)}
    print(f"{task.config.name}, dev out-of-fold (5 folds), macro-F1: per-label "
          f"{result['per_label']['macro_f1']:.4f}, joint {result['joint']['macro_f1']:.4f} "
          f"({result['joint']['macro_f1'] - result['per_label']['macro_f1']:+.4f})")
    for n in labels:
        print(f"  {n:10s} {result['per_label']['per_label_f1'][n]:.3f}  "
              f"{result['joint']['per_label_f1'][n]:.3f}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
