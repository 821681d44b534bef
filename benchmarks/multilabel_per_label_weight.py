"""Dev-only experiment (#15): would choosing the weak rows' weight per label beat one
weight for all labels? Nested CV on the GoEmotions Ekman task's dev rows: outer folds
hold rows out; on the rest, the usual 3-fold CV scores each weight per label; then the
global choice (best mean) and the per-label choice (best per label) are fit on the rest
and scored on the held rows, each label at its inner-CV threshold. Test is not read.

    python benchmarks/multilabel_per_label_weight.py [--config data/goemotions/labeling.toml] [--json PATH]

Needs a run of the task first (`labeling run CONFIG`: its label-model probabilities).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from sklearn.model_selection import KFold

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from sklearn.metrics import f1_score  # noqa: E402

from labeling.multilabel_steps import EMBEDDING_CACHE_DIR, gold, read_probs  # noqa: E402
from labeling.pipeline import load_task  # noqa: E402
from labeling.train.multilabel import (FEATURES, OneVsRestEndModel, featurise,  # noqa: E402
                                       fit_featurisers)

WEIGHTS = [0.3, 1.0, None]  # gold-only (0) never wins on this task's dev CV


def _rows(features: dict, rows: np.ndarray, split: str = "dev") -> dict:
    """``features`` with its ``split`` cut to ``rows`` (the other splits as they are)."""
    return {kind: {**by_split, split: by_split[split][rows]} for kind, by_split in features.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="data/goemotions/labeling.toml")
    parser.add_argument("--outer", type=int, default=3)
    parser.add_argument("--json")
    args = parser.parse_args()
    task = load_task(args.config)
    name = "tfidf_minilm_avg"
    texts = {s: df["text"].tolist() for s, df in task.splits.items()
             if df is not None and s != "test"}
    features = featurise(texts, FEATURES[name], task.run_dir / EMBEDDING_CACHE_DIR,
                         fit_featurisers(texts, FEATURES[name]))
    P_weak, Y_dev = read_probs(task, "train"), gold(task)["dev"]
    k = Y_dev.shape[1]
    outer = KFold(args.outer, shuffle=True, random_state=1).split(np.arange(len(Y_dev)))
    globally, per_label = [], []
    for rest, held in outer:
        inner_f1, held_f1 = {}, {}
        for w in WEIGHTS:
            model = OneVsRestEndModel(name, weak_weights=[w]).fit(
                _rows(features, rest), P_weak, Y_dev[rest])
            inner_f1[w] = model.dev_cv_f1_
            proba = model.predict_proba(_rows(features, held), "dev")
            held_f1[w] = np.array([f1_score(Y_dev[held, c], proba[:, c] >= model.thresholds_[c],
                                            zero_division=0) for c in range(k)])
        best = max(WEIGHTS, key=lambda w: inner_f1[w].mean())
        globally.append(held_f1[best].mean())
        choice = [max(WEIGHTS, key=lambda w: inner_f1[w][c]) for c in range(k)]
        per_label.append(np.mean([held_f1[w][c] for c, w in enumerate(choice)]))
        print(f"outer fold: global {best} -> {globally[-1]:.4f}; per label "
              f"{choice} -> {per_label[-1]:.4f}", flush=True)
    result = {"global": float(np.mean(globally)), "per_label": float(np.mean(per_label))}
    print(f"held-out macro-F1: one weight {result['global']:.4f}, per label "
          f"{result['per_label']:.4f} ({result['per_label'] - result['global']:+.4f})")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
