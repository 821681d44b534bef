"""Label-model benchmark on WRENCH youtube / sms / trec (vendored in benchmarks/data).

Every model is fit on the train label matrix and, where it uses them, the dev
(``valid.json``) label matrix and gold labels; test gold is only used to score.
Models differ in how they break ties, so the benchmark applies one rule to all of
them (see ``TIE_RULE``) and the comparison measures the label models, not their
tie-breaking.

    python benchmarks/label_models.py [--json results.json] [--datasets youtube sms]
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))
sys.path.insert(0, str(ROOT))

from labeling.models.auto import AutoLabelModel, fit_candidate  # noqa: E402
from labeling.models.base import ABSTAIN, vote_counts  # noqa: E402
from labeling.metrics import score_predictions  # noqa: E402
import wrench_cli  # noqa: E402

DATA = ROOT / "data" / "wrench"
# dataset -> (cardinality, metric, pos_label)
DATASETS = {"youtube": (2, "accuracy", 1), "sms": (2, "f1", 1), "trec": (6, "accuracy", None)}
MODELS = ["mv", "snorkel", "dawid_skene", "dawid_skene+dev", "stacker", "weighted_vote", "auto"]
SNORKEL = {"epochs": 500, "seed": 123}
TIE_RULE = ("Tie rule (all models): predict(tie_break='abstain'); rows that come back -1 "
            "(tied top probability) and rows where every LF abstains get the class most "
            "frequent among majority vote's untied predictions on the TRAIN matrix.")


def load_split(ds: str, split: str) -> tuple[np.ndarray, np.ndarray]:
    with open(DATA / ds / f"{split}.json", encoding="utf-8") as f:
        rows = json.load(f)
    L = np.array([r["weak_labels"] for r in rows.values()], dtype=np.int64)
    y = np.array([r["label"] for r in rows.values()], dtype=np.int64)
    return L, y


def train_majority_class(L: np.ndarray, k: int) -> int:
    """Most frequent class among rows where MV has a unique, non-empty winner."""
    votes = vote_counts(L, k)
    top = votes.max(axis=1, keepdims=True)
    clear = ((votes == top).sum(axis=1) == 1) & (top[:, 0] > 0)
    return int(np.bincount(votes[clear].argmax(axis=1), minlength=k).argmax())


def fit_model(name: str, k: int, metric: str, pos_label, L, y_dev, L_dev):
    if name == "auto":
        auto = AutoLabelModel(cardinality=k, metric=metric, pos_label=pos_label or 1,
                              seed=SNORKEL["seed"], snorkel_epochs=SNORKEL["epochs"])
        return auto.fit(L, y_dev=y_dev, L_dev=L_dev)
    return fit_candidate(name, k, L, y_dev, L_dev, seed=SNORKEL["seed"],
                         snorkel_epochs=SNORKEL["epochs"])


def run(datasets: list[str]) -> tuple[dict, dict]:
    results, chosen = {}, {}
    for ds in datasets:
        k, metric, pos_label = DATASETS[ds]
        L, _ = load_split(ds, "train")  # train gold is never read
        L_dev, y_dev = load_split(ds, "valid")
        L_test, y_test = load_split(ds, "test")
        fallback = train_majority_class(L, k)
        uncovered = (L_test == ABSTAIN).all(axis=1)
        results[ds] = {}
        for name in MODELS:
            start = time.perf_counter()
            model = fit_model(name, k, metric, pos_label, L, y_dev, L_dev)
            seconds = time.perf_counter() - start
            pred = model.predict(L_test, tie_break="abstain")
            pred[(pred == ABSTAIN) | uncovered] = fallback
            score = score_predictions(y_test, pred, metric, pos_label or 1)
            label = f"f1(pos={pos_label})" if metric == "f1" else metric
            results[ds][name] = {"metric": label, "score": round(score, 4),
                                 "fit_seconds": round(seconds, 3)}
            if name == "auto":
                chosen[ds] = (model.chosen_, model.cv_scores_)
    return results, chosen


def print_table(results: dict, chosen: dict) -> None:
    datasets = list(results)
    head = f"{'model':<17}" + "".join(
        f"{ds + ' ' + results[ds][MODELS[0]]['metric']:>26}" for ds in datasets) + f"{'mean':>8}"
    print(head)
    print("-" * len(head))
    for name in MODELS:
        cells = [results[ds][name] for ds in datasets]
        row = "".join(f"{c['score']:>17.3f} ({c['fit_seconds']:6.2f}s)" for c in cells)
        print(f"{name:<17}{row}{np.mean([c['score'] for c in cells]):>8.3f}")
    print("\nscore = test score; (Ns) = fit seconds incl. auto's cross-validation.")
    print(TIE_RULE)
    for ds, (name, cv) in chosen.items():
        cv_txt = ", ".join(f"{n}={s:.3f}" for n, s in cv.items())
        print(f"auto on {ds}: chose {name}; 3x5-fold dev CV: {cv_txt}")


def main(argv=None) -> int:
    return wrench_cli.main(__doc__, list(DATASETS), run, print_table, argv)


if __name__ == "__main__":
    sys.exit(main())
