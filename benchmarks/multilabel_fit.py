"""The label-model fit of a multi-label `labeling dev` save, with and without the per-label
fit cache (``PerLabelModel(cache_dir=...)``).

    python benchmarks/multilabel_fit.py [--config data/goemotions/labeling.toml] [--repeats 3]
                                        [--json PATH]

Applies the task's LFs once (train and dev), then times ``PerLabelModel(name="auto")``
fits as a save makes them (majority vote too, as ``step_fit`` does):

- ``cold``: an empty cache, every label fit (what every save cost before the cache);
- ``one_lf_edited``: one LF's train votes changed (a tenth of its abstentions become
  votes), so only the label it targets refits;
- ``unchanged``: a save that changed no vote (e.g. a comment edited).

Each figure is the median of ``--repeats`` and is printed with its ratio to ``cold``
measured in the same run (the machine is shared: compare ratios). Test is never read.
JSON: ``{"cold_s", "one_lf_edited_s", "unchanged_s", "one_lf_edited_ratio",
"unchanged_ratio", "labels", "lfs"}``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from labeling.models.multilabel import PerLabelModel
from labeling.multilabel_steps import apply_all, gold, lf_targets
from labeling.pipeline import load_task

ROOT = Path(__file__).resolve().parents[1]


def fit_both(k, targets, L, Y_dev, L_dev, cache_dir) -> float:
    start = time.perf_counter()
    for name in ("mv", "auto"):
        PerLabelModel(k, targets, name=name, cache_dir=cache_dir).fit(L, Y_dev, L_dev)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, default=ROOT / "data/goemotions/labeling.toml")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    task = load_task(args.config)
    task.splits.pop("test", None)  # never read here
    labels = task.config.labels
    L = apply_all(task, cache=False)  # the run folder is not touched
    Y_dev, targets = gold(task)["dev"], lf_targets(task.lfs, labels)
    k, rng = len(labels), np.random.default_rng(0)
    edited_column = int(np.argmax((L["train"] == -1).sum(axis=0)))  # an LF with room to grow
    times = {"cold": [], "one_lf_edited": [], "unchanged": []}
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory() as cache:
            times["cold"].append(fit_both(k, targets, L["train"], Y_dev, L["dev"], cache))
            edited = L["train"].copy()
            abstains = np.flatnonzero(edited[:, edited_column] == -1)
            edited[rng.choice(abstains, len(abstains) // 10, replace=False), edited_column] = 1
            times["one_lf_edited"].append(fit_both(k, targets, edited, Y_dev, L["dev"], cache))
            times["unchanged"].append(fit_both(k, targets, edited, Y_dev, L["dev"], cache))
    median = {key: statistics.median(values) for key, values in times.items()}
    result = {f"{key}_s": round(value, 3) for key, value in median.items()}
    result |= {"one_lf_edited_ratio": round(median["one_lf_edited"] / median["cold"], 3),
               "unchanged_ratio": round(median["unchanged"] / median["cold"], 3),
               "labels": k, "lfs": int(L["train"].shape[1])}
    print(f"{task.config.name}: {k} labels, {result['lfs']} LF columns, "
          f"{len(L['train'])} train rows, {len(Y_dev)} dev rows; median of {args.repeats}")
    for key in times:
        print(f"  {key:14s} {median[key]:7.2f} s   {median[key] / median['cold']:.3f} x cold")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
