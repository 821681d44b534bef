"""The fine-tune's own gold-only baseline on a WRENCH task: `minilm_finetune` trained on
the dev gold alone (no weak row), with the same settings as a weak-supervised fine-tune,
scored on test. docs/finetune.md compares it with the weak rows + gold stage figure.
The fit is the library's (labeling.train.gold_only.fit_once_gold_only), the twin that
`labeling train` fits for a minilm_finetune end model.

    python benchmarks/finetune_gold_only.py [--dataset trec]
        [--finetune-params '{"gold_epochs": 4, "gold_lr": 2e-5}'] [--json PATH]

The gold rows are the dev split's (weight 3 each, as the pipeline's end models take
them); test labels only score. Prints the test metric and the fit time.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from end_models import DATASETS, load_split  # noqa: E402
from labeling.metrics import score_predictions  # noqa: E402
from labeling.train.end_model import predict_proba_full  # noqa: E402
from labeling.train.gold_only import fit_once_gold_only  # noqa: E402

DEV_WEIGHT = 3.0  # the pipeline's default copies per dev gold row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="trec", choices=list(DATASETS))
    parser.add_argument("--finetune-params", default="{}", type=json.loads)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    k, metric, pos = DATASETS[args.dataset]
    dev, test = load_split(args.dataset, "valid"), load_split(args.dataset, "test")
    start = time.perf_counter()
    model, report = fit_once_gold_only("minilm_finetune", dev["text"], dev["y"], k,
                                       args.finetune_params, DEV_WEIGHT, progress=False)
    seconds = time.perf_counter() - start
    pred = predict_proba_full(model, test["text"], k).argmax(axis=1)
    score = score_predictions(test["y"], pred, metric, pos)
    out = {"dataset": args.dataset, "params": args.finetune_params, "metric": metric,
           "test": round(float(score), 4), "fit_s": round(seconds, 1), "n_dev": len(dev["y"]),
           "history": model.history_, "twin": report, "load_average": [round(x, 2) for x in os.getloadavg()]}
    print(f"{args.dataset} gold-only minilm_finetune {args.finetune_params}: test {metric} "
          f"{score:.4f} (dev gold rows {len(dev['y'])}, fit {seconds:.0f} s)")
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
