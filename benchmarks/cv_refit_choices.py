"""Which weak weight end-model ``auto`` chooses with and without the per-fold label-model refit.

Dev only (#13 follow-up, docs/gold_budget.md): for WRENCH youtube, sms, trec and the
bundled task, at the gold budgets of ``benchmarks/learning_curve.py`` (50, 100, 200 and
all dev rows; the same seeded nested subsamples), the label model is fit as there
(``auto`` by the task's metric, on train + the budget's dev gold), then
:func:`labeling.train.auto.choose_end_model` runs twice on the same folds:

- ``before``: every CV fold's weak rows get the all-dev label model's probabilities
  (the held-out fold's gold has shaped them);
- ``after``: each fold's weak rows get the label model refit on that fold's training
  dev rows only (:class:`labeling.train.fold_label_model.FoldLabelModel`).

Printed per subsample: the label model chosen, each run's choice (label mode / weak
weight) and CV score, and the seconds of each run; at the end, the ratio of the two
runs' total time (the refits' cost, measured in the same run). No test split is loaded
for WRENCH; the bundled task's loader applies the LFs to every split (as
``labeling apply`` does) and its test rows are dropped unread.

    python benchmarks/cv_refit_choices.py [--json PATH] [--datasets ...] [--budgets ...]
        [--seeds 5] [--cache /tmp/labeling-bench]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))
sys.path.insert(0, str(ROOT))

from end_models import DATASETS as WRENCH, load_split  # noqa: E402
from learning_curve import BUDGETS, DATASETS, load_dataset  # noqa: E402
from labeling import models  # noqa: E402
from labeling.train.auto import choose_end_model  # noqa: E402
from labeling.train.fold_label_model import FoldLabelModel  # noqa: E402
from labeling.train.learning_curve import nested_subsamples  # noqa: E402


def load_dev_only(name: str, cache: Path):
    """``({"train", "valid"}, (k, metric, pos))``: no test split kept."""
    if name in WRENCH:
        return {s: load_split(name, s) for s in ("train", "valid")}, WRENCH[name]
    data, spec = load_dataset(name, cache)
    data.pop("test")  # applied with the other splits; never read here
    return data, spec


def choice_of(report: dict) -> str:
    mode, w = report["label_mode"], report["weak_weight"]
    return "gold_only" if mode == "gold_only" else f"{mode}/w{'1/row' if w is None else w}"


def compare(data, idx, k, metric, pos, cache_dir) -> dict:
    train, dev = data["train"], data["valid"]
    dev_text = np.asarray(dev["text"], dtype=object)[idx].tolist()
    y_dev, L_dev = dev["y"][idx], dev["L"][idx]
    label_model = models.make_for_task("auto", k, {},
                                       f1_pos_label=pos if metric == "f1" else None)
    label_model.fit(train["L"], y_dev=y_dev, L_dev=L_dev)
    probs = label_model.predict_proba(train["L"])
    covered = (train["L"] != -1).any(axis=1)
    common = dict(metric=metric, pos_label=pos, cache_dir=cache_dir)
    out = {"label_model": label_model.chosen_}
    for which in ("before", "after"):
        refit = (FoldLabelModel(label_model, train["L"], L_dev, y_dev)
                 if which == "after" else None)
        start = time.perf_counter()
        _, report = choose_end_model(train["text"], probs, covered, dev_text, y_dev,
                                     fold_label_model=refit, **common)
        out[which] = {"choice": choice_of(report), "cv": report["cv"],
                      "cv_scores": report["cv_scores"],
                      "seconds": round(time.perf_counter() - start, 1),
                      **({"refits": len(refit.refits_)} if refit is not None else {})}
    out["changed"] = out["before"]["choice"] != out["after"]["choice"]
    return out


def run(datasets, budgets, n_seeds, cache: Path, json_path=None) -> dict:
    results = {}
    for ds in datasets:
        data, (k, metric, pos) = load_dev_only(ds, cache)
        y_dev = data["valid"]["y"]
        sizes = [int(b) for b in BUDGETS if b != "all"]
        subsamples = nested_subsamples(y_dev, sizes, n_seeds, seed=0)
        results[ds] = {}
        for budget in budgets:
            full = budget == "all" or int(budget) >= len(y_dev)
            if full and "all" in results[ds]:
                continue
            runs = ([np.arange(len(y_dev))] if full else
                    [s[sizes.index(int(budget))] for s in subsamples])
            key = "all" if full else budget
            results[ds][key] = []
            for seed, idx in enumerate(runs):
                row = compare(data, idx, k, metric, pos, cache / "emb")
                row.update(seed=seed, n=int(len(idx)))
                results[ds][key].append(row)
                b, a = row["before"], row["after"]
                print(f"{ds} {key} seed {seed} (n={len(idx)}) lm={row['label_model']}: "
                      f"before {b['choice']} cv={b['cv']:.4f} ({b['seconds']:.0f}s) | "
                      f"after {a['choice']} cv={a['cv']:.4f} ({a['seconds']:.0f}s)"
                      f"{'  CHANGED' if row['changed'] else ''}", flush=True)
            if json_path:
                Path(json_path).write_text(json.dumps(results, indent=2) + "\n",
                                           encoding="utf-8")
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", metavar="PATH", help="write results as JSON here")
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS)
    parser.add_argument("--budgets", nargs="+", default=list(BUDGETS), choices=BUDGETS)
    parser.add_argument("--seeds", type=int, default=5, help="subsamples per budget")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/labeling-bench"),
                        help="embedding cache and the bundled task's run folder")
    args = parser.parse_args(argv)
    results = run(args.datasets, args.budgets, args.seeds, args.cache, args.json)
    rows = [r for cells in results.values() for cell in cells.values() for r in cell]
    before = sum(r["before"]["seconds"] for r in rows)
    after = sum(r["after"]["seconds"] for r in rows)
    changed = [r for r in rows if r["changed"]]
    print(f"\n{len(changed)} of {len(rows)} choices changed; CV time after/before: "
          f"{after / max(before, 1e-9):.2f}x ({after:.0f} s vs {before:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
