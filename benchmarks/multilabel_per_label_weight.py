"""Dev-only check (#15): the weak rows' weight chosen per label (the end model's default)
against one weight for all labels (``weak_weight_per_label = false``), nested on a
GoEmotions task's dev rows: outer folds hold rows out; on the rest the end model as built
(its 3-fold CV over the candidates) is fit both ways and scored on the held rows, each
label at its threshold. Test is not read.

    python benchmarks/multilabel_per_label_weight.py [--config data/goemotions/labeling.toml]
        [--weights 0 0.3 1 per_row] [--json PATH]

Needs a run of the task first (`labeling run CONFIG`: its label-model probabilities and
cached MiniLM vectors). The weak rows' targets are the run's (the label model fit on all
dev, as in the first version of this experiment; the pipeline refits it per CV fold): a
leak both arms share.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.model_selection import KFold

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from sklearn.metrics import f1_score  # noqa: E402

from labeling.multilabel_steps.common import EMBEDDING_CACHE_DIR, gold, read_probs  # noqa: E402
from labeling.pipeline import load_task  # noqa: E402
from labeling.train.multilabel import (DEFAULT_WEAK_WEIGHTS, FEATURES,  # noqa: E402
                                       OneVsRestEndModel, featurise, fit_featurisers,
                                       weight_key)


def _rows(features: dict, rows: np.ndarray, split: str = "dev") -> dict:
    """``features`` with its ``split`` cut to ``rows`` (the other splits as they are)."""
    return {kind: {**by_split, split: by_split[split][rows]} for kind, by_split in features.items()}


def _held_f1(model, features, Y, held) -> np.ndarray:
    predicted = model.predict(_rows(features, held), "dev")
    return np.array([f1_score(Y[held, c], predicted[:, c], zero_division=0)
                     for c in range(Y.shape[1])])


def _weight(text: str):
    return None if text == "per_row" else float(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="data/goemotions/labeling.toml")
    parser.add_argument("--outer", type=int, default=3)
    parser.add_argument("--weights", nargs="+", type=_weight,
                        default=list(DEFAULT_WEAK_WEIGHTS))
    parser.add_argument("--json")
    args = parser.parse_args()
    start = time.perf_counter()
    task = load_task(args.config)
    name, seed = "tfidf_minilm_avg", task.config.seed
    texts = {s: df["text"].tolist() for s, df in task.splits.items()
             if df is not None and s != "test"}
    features = featurise(texts, FEATURES[name], task.run_dir / EMBEDDING_CACHE_DIR,
                         fit_featurisers(texts, FEATURES[name]))
    P_weak, Y_dev = read_probs(task, "train"), gold(task)["dev"]
    outer = KFold(args.outer, shuffle=True, random_state=1).split(np.arange(len(Y_dev)))
    folds = []
    for rest, held in outer:
        per = OneVsRestEndModel(name, seed=seed, weak_weights=args.weights).fit(
            _rows(features, rest), P_weak, Y_dev[rest])
        # the legacy model (one weight for all) is this one candidate on the same folds:
        # same out-of-fold cuts, same final fit, without refitting every candidate
        one = OneVsRestEndModel(name, seed=seed, weak_weights=[per.shared_weight_]).fit(
            _rows(features, rest), P_weak, Y_dev[rest])
        fold = {"shared_weight": weight_key(per.shared_weight_),
                "per_label_weights": [weight_key(w) for w in per.weak_weight_],
                "one_weight": float(_held_f1(one, features, Y_dev, held).mean()),
                "per_label": float(_held_f1(per, features, Y_dev, held).mean()),
                "inner_cv_one_weight": per.cv_macro_[weight_key(per.shared_weight_)],
                "inner_cv_per_label": round(float(per.dev_cv_f1_.mean()), 4)}
        folds.append(fold)
        print(f"outer fold: one weight {fold['shared_weight']} -> {fold['one_weight']:.4f}; "
              f"per label {fold['per_label_weights']} -> {fold['per_label']:.4f}", flush=True)
    result = {"config": args.config, "weights": [weight_key(w) for w in args.weights],
              "one_weight": float(np.mean([f["one_weight"] for f in folds])),
              "per_label": float(np.mean([f["per_label"] for f in folds])), "folds": folds,
              "seconds": round(time.perf_counter() - start)}
    print(f"held-out macro-F1: one weight {result['one_weight']:.4f}, per label "
          f"{result['per_label']:.4f} ({result['per_label'] - result['one_weight']:+.4f}; "
          f"ratio {result['per_label'] / result['one_weight']:.3f})")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
