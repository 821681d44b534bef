"""Is a test-split gap between the pipeline and gold-only larger than the test split's noise?

For one dataset with all of its dev rows as the gold budget (as
``benchmarks/learning_curve.py``'s "all" cell: the same label model, end model ``auto``
and gold-only baseline), prints what dev said (the end model's CV scores, the nested
lead over gold-only and its paired SE: ``end_model.cv_nested``), then the two models'
test scores, where their test predictions differ, and a paired bootstrap of the test
difference (2,000 resamples of the test rows, both models' predictions resampled
together). Test labels are read only for those final lines; nothing is chosen on them.

    python benchmarks/gold_only_gap.py sms [--cache /tmp/labeling-bench] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))
sys.path.insert(0, str(ROOT))

from learning_curve import DATASETS, load_dataset  # noqa: E402
from labeling import models  # noqa: E402
from labeling.metrics import score_predictions  # noqa: E402
from labeling.train.auto import choose_end_model  # noqa: E402
from labeling.train.end_model import predict_proba_full  # noqa: E402
from labeling.train.fold_label_model import FoldLabelModel  # noqa: E402
from labeling.train.gold_only import gold_only_baseline  # noqa: E402


def paired_bootstrap(y, a, b, metric, pos, n=2000, seed=0) -> np.ndarray:
    """score(a) - score(b) on ``n`` resamples of the rows (with replacement)."""
    rng = np.random.default_rng(seed)
    diffs = np.empty(n)
    for r in range(n):
        i = rng.integers(0, len(y), len(y))
        diffs[r] = (score_predictions(y[i], a[i], metric, pos)
                    - score_predictions(y[i], b[i], metric, pos))
    return diffs


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", choices=DATASETS)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/labeling-bench"))
    parser.add_argument("--json", metavar="PATH", help="write the figures as JSON here")
    args = parser.parse_args(argv)
    data, (k, metric, pos) = load_dataset(args.dataset, args.cache)
    train, dev, test = data["train"], data["valid"], data["test"]
    y_dev, L_dev, dev_text = dev["y"], dev["L"], list(dev["text"])
    label_model = models.make_for_task("auto", k, {},
                                       f1_pos_label=pos if metric == "f1" else None)
    label_model.fit(train["L"], y_dev=y_dev, L_dev=L_dev)
    probs = label_model.predict_proba(train["L"])
    covered = (train["L"] != -1).any(axis=1)
    common = dict(metric=metric, pos_label=pos, cache_dir=args.cache / "emb")
    refit = FoldLabelModel(label_model, train["L"], L_dev, y_dev)
    default, report = choose_end_model(train["text"], probs, covered, dev_text, y_dev,
                                       fold_label_model=refit, **common)
    gold, _ = gold_only_baseline(dev_text, y_dev, k, **common)
    nested = report.get("cv_nested") or {}
    dev_side = {"label_model": label_model.chosen_, "n_dev": int(len(y_dev)),
                "choice": f"{report['name']}/{report['label_mode']}/w{report['weak_weight']}",
                "cv_scores": report["cv_scores"],
                "nested_gain": nested.get("gain"), "nested_se": nested.get("se")}
    print(f"{args.dataset}, all {len(y_dev)} dev rows; label model {dev_side['label_model']}; "
          f"end model chose {dev_side['choice']}")
    print("dev CV (" + metric + "): " + ", ".join(f"{key.split('/', 1)[1]} {v:.3f}"
                                                  for key, v in report["cv_scores"].items()))
    if nested:
        print(f"dev CV, nested: pipeline {nested['end_model']:.3f} vs gold-only "
              f"{nested['gold_only']:.3f}: {nested['gain']:+.3f} (paired SE {nested['se']:.3f})")

    y = test["y"]
    pred_default = predict_proba_full(default, test["text"], k).argmax(axis=1)
    pred_gold = predict_proba_full(gold, test["text"], k).argmax(axis=1)
    s_default = score_predictions(y, pred_default, metric, pos)
    s_gold = score_predictions(y, pred_gold, metric, pos)
    differ = pred_default != pred_gold
    right = {"default": int((pred_default[differ] == y[differ]).sum()),
             "gold_only": int((pred_gold[differ] == y[differ]).sum())}
    diffs = paired_bootstrap(y, pred_default, pred_gold, metric, pos)
    low, high = np.quantile(diffs, [0.025, 0.975])
    test_side = {"n_test": int(len(y)), "default": round(s_default, 4),
                 "gold_only": round(s_gold, 4), "difference": round(s_default - s_gold, 4),
                 "rows_predicted_differently": int(differ.sum()), "right_on_those": right,
                 "bootstrap_se": round(float(diffs.std()), 4),
                 "bootstrap_95": [round(float(low), 4), round(float(high), 4)],
                 "bootstrap_share_below_zero": round(float(np.mean(diffs < 0)), 3)}
    print(f"test ({len(y)} rows): pipeline {s_default:.4f}, gold-only {s_gold:.4f}, "
          f"difference {s_default - s_gold:+.4f}")
    print(f"the two disagree on {int(differ.sum())} test rows: the pipeline is right on "
          f"{right['default']}, gold-only on {right['gold_only']}")
    print(f"paired bootstrap of the difference: SE {diffs.std():.4f}, 95% interval "
          f"[{low:+.4f}, {high:+.4f}], below zero in {np.mean(diffs < 0):.0%} of resamples")
    if args.json:
        Path(args.json).write_text(json.dumps({args.dataset: {"dev": dev_side, "test": test_side}},
                                              indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
