"""How good is the end model's dev-CV choice of the weak rows' weight at small gold
budgets? Scored on the dev rows OUTSIDE each budget; the test split is never loaded
(its gold is not read; the bundled task's LFs still run over all its splits' texts).

For each dataset, budget and seed (the learning curve's nested subsamples,
benchmarks/learning_curve.py), the label model (`auto`) is fit with the budget's dev
gold, then these end models are fit on train + the budget and scored on the rest of dev:

- ``default``: the pipeline's end model (`auto`: the weak weight chosen by dev CV, the
  label model refit per CV fold);
- ``one_se``: the same CV, the weight chosen by ``weight_rule = "one_se"`` (the lightest
  within one standard error of the best). Its candidate's refit is the fixed-weight
  model of that weight (same folds, same bias), so its score is read from that column,
  not refit; the check: ``default`` must equal the column of its own choice (printed
  as a MISMATCH if not);
- ``gold_only``: the same end model on the budget's gold alone;
- ``w0.1``, ``w0.3``, ``w1``, ``per_row``: each weak weight fixed (no choice; the decision
  bias of F1 tasks still fit by CV);
- ``weak_only``: weak rows alone, every one at weight 1;
- ``label_model``: the label model's own decisions.

It prints the mean over seeds and each model's difference to gold-only (the baseline of
the same run), and the weights CV chose. docs/gold_budget.md reads it.

    python benchmarks/weak_weight_rest_of_dev.py [--datasets bundled youtube sms trec]
        [--budgets 50 100] [--seeds 5] [--json PATH]

JSON: ``{dataset: {budget: {model: {"mean": .., "scores": [..]}, "choices": [..],
"one_se_choices": [..], "weight_rule_cv": [per seed: the CV's paired gains/SEs]}}}``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from learning_curve import load_dataset  # noqa: E402
from labeling import models  # noqa: E402
from labeling.metrics import score_predictions  # noqa: E402
from labeling.train.auto import choose_end_model, lightest_within_se  # noqa: E402
from labeling.train.cross_validation import GOLD_ONLY, parse_key  # noqa: E402
from labeling.train.end_model import predict_proba_full  # noqa: E402
from labeling.train.fold_label_model import FoldLabelModel  # noqa: E402
from labeling.train.gold_only import gold_only_baseline  # noqa: E402
from labeling.train.learning_curve import nested_subsamples  # noqa: E402

SIZES = (50, 100, 200)  # the learning curve's subsample sizes (same nested draws)
FIXED = {"w0.1": 0.1, "w0.3": 0.3, "w1": 1.0, "per_row": None}
MODELS = ("default", "one_se", "gold_only", *FIXED, "weak_only", "label_model")


def column(key: str) -> str:
    """The benchmark column whose model is candidate ``key``'s refit."""
    _, mode, weight = parse_key(key)
    return ("gold_only" if mode == GOLD_ONLY else "per_row" if weight is None
            else f"w{weight:g}")


@dataclass
class Budget:
    """One subsample's dev gold, the label model fit with it, and the scorer on the dev
    rows outside it (the rest of dev)."""

    data: dict
    idx: np.ndarray
    k: int
    metric: str
    pos: int | None

    def __post_init__(self):
        train, dev = self.data["train"], self.data["valid"]
        self.texts = np.asarray(dev["text"], dtype=object)
        self.rest = np.setdiff1d(np.arange(len(dev["y"])), self.idx)
        self.y_dev, self.L_dev = dev["y"][self.idx], dev["L"][self.idx]
        self.dev_texts = self.texts[self.idx].tolist()
        self.label_model = models.make_for_task(
            "auto", self.k, {}, f1_pos_label=self.pos if self.metric == "f1" else None)
        self.label_model.fit(train["L"], y_dev=self.y_dev, L_dev=self.L_dev)
        self.probs = self.label_model.predict_proba(train["L"])
        self.covered = (train["L"] != -1).any(axis=1)
        self.refit = FoldLabelModel(self.label_model, train["L"], self.L_dev, self.y_dev)

    def rest_score(self, model) -> float:
        pred = predict_proba_full(model, self.texts[self.rest].tolist(), self.k).argmax(axis=1)
        return score_predictions(self.data["valid"]["y"][self.rest], pred, self.metric,
                                 self.pos)

    def label_model_score(self) -> float:
        dev = self.data["valid"]
        pred = self.label_model.decide(self.label_model.predict_proba(dev["L"][self.rest]))
        return score_predictions(dev["y"][self.rest], pred, self.metric, self.pos)


def score_subsample(data, idx, k, metric, pos, cache_dir) -> tuple[dict, str, str]:
    """Every model's score on the dev rows outside ``idx``, and the weight CV chose by
    the default rule and by the one-SE rule."""
    b = Budget(data, idx, k, metric, pos)
    train, y_dev, dev_texts, rest_score = data["train"], b.y_dev, b.dev_texts, b.rest_score
    probs, covered = b.probs, b.covered
    common = dict(metric=metric, pos_label=pos, cache_dir=cache_dir, fold_label_model=b.refit)

    def end_model(**options):
        return choose_end_model(train["text"], probs, covered, dev_texts, y_dev,
                                **common, **options)

    default, report = end_model()
    scores = {"default": rest_score(default)}
    scores["gold_only"] = rest_score(gold_only_baseline(dev_texts, y_dev, k, metric=metric,
                                                        pos_label=pos,
                                                        cache_dir=cache_dir)[0])
    for name, weight in FIXED.items():
        scores[name] = rest_score(end_model(weak_weights=(weight,))[0])
    scores["weak_only"] = rest_score(end_model(dev_weight=0.0, weak_weights=(None,))[0])
    scores["label_model"] = b.label_model_score()
    choice = column(candidate_key_of(report))
    if abs(scores["default"] - scores[choice]) > 1e-9:
        print(f"MISMATCH: default {scores['default']:.4f} != its choice {choice} "
              f"{scores[choice]:.4f}", flush=True)
    cv = report["weight_rule_cv"]
    one_se = column(lightest_within_se(cv["paired"], report["cv_scores"], cv["best"]))
    scores["one_se"] = scores[one_se]
    return scores, choice, one_se, cv


def candidate_key_of(report) -> str:
    """The chosen candidate's key, as ``report["cv_scores"]`` names it."""
    return next(key for key in report["cv_scores"]
                if parse_key(key) == (report["name"], report["label_mode"],
                                      report["weak_weight"]))


def run(datasets, budgets, n_seeds, cache: Path, json_path=None) -> dict:
    results = {}
    for ds in datasets:
        data, (k, metric, pos) = load_dataset(ds, cache, wanted=("train", "valid"))
        subsamples = nested_subsamples(data["valid"]["y"], list(SIZES), n_seeds, seed=0)
        results[ds] = {}
        for budget in budgets:
            start, cell, choices = time.perf_counter(), {m: [] for m in MODELS}, []
            se_choices, rule_cv = [], []
            for seed in range(n_seeds):
                idx = subsamples[seed][SIZES.index(budget)]
                scores, choice, se_choice, cv = score_subsample(data, idx, k, metric, pos,
                                                                cache)
                rule_cv.append(cv)
                for m in MODELS:
                    cell[m].append(round(float(scores[m]), 4))
                choices.append(choice)
                se_choices.append(se_choice)
                print(f"{ds} {budget}:{seed} CV chose {choice}, one_se {se_choice}: "
                      + " ".join(f"{m} {scores[m]:.3f}" for m in MODELS), flush=True)
            results[ds][str(budget)] = summarise_cell(
                cell, "gold_only", ds, budget, data, start,
                {"choices": choices, "one_se_choices": se_choices, "weight_rule_cv": rule_cv,
                 "metric": metric})
            if json_path:
                Path(json_path).write_text(json.dumps(results, indent=1))
    return results


def summarise_cell(cell: dict, base: str, ds: str, budget: int, data, start: float,
                   extra: dict) -> dict:
    """One (dataset, budget) cell of the JSON: each model's scores and mean, ``extra`` and
    the rows scored; prints the means against model ``base``."""
    out = {m: {"mean": round(float(np.mean(v)), 4), "scores": v} for m, v in cell.items()}
    n_rest = int(len(data["valid"]["y"]) - budget)
    print(f"== {ds} {budget} ({extra['metric']} on the {n_rest} dev rows outside the budget; "
          f"mean, minus {base.replace('_', '-')}):")
    for m, v in out.items():
        print(f"   {m:<14} {v['mean']:.4f}  {v['mean'] - out[base]['mean']:+.4f}")
    return out | extra | {"n_rest": n_rest, "seconds": round(time.perf_counter() - start)}


def main(benchmark=run, datasets=("bundled", "youtube", "sms", "trec"), doc=__doc__) -> None:
    """The command line of this benchmark and of those built on its :class:`Budget`."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=list(datasets))
    parser.add_argument("--budgets", nargs="+", type=int, default=[50, 100], choices=SIZES)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/labeling-bench"))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    benchmark(args.datasets, args.budgets, args.seeds, args.cache, args.json)


if __name__ == "__main__":
    main()
