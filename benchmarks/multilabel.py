"""Multi-label weak supervision on GoEmotions (issue #15): per task, macro/micro F1 on the
official test split of majority vote and the label models per label, the one-vs-rest end
model on their soft labels + 500 dev gold rows, and the same end model on the dev gold alone.

    python benchmarks/multilabel.py [--json PATH] [--tasks ekman goemotions28]

Tasks: data/goemotions/labeling.toml ("ekman", 7 labels) and labeling28.toml
("goemotions28"). Everything is chosen on dev (thresholds, label model per label); test is
only scored. JSON: {task: {model: {"macro_f1": .., "micro_f1": ..}}}.
"""

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from labeling import multilabel_steps  # noqa: E402
from labeling.pipeline import load_task  # noqa: E402

TASKS = {"ekman": "data/goemotions/labeling.toml", "goemotions28": "data/goemotions/labeling28.toml"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path)
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    args = parser.parse_args()
    out = {}
    for name in args.tasks:
        start = time.perf_counter()
        task = load_task(ROOT / TASKS[name])
        scores = multilabel_steps.run(task)["multi_label"]["scores"]
        out[name] = {}
        for model, by_split in scores.items():
            short = model.removeprefix("label_model_")
            out[name][short] = {m: round(by_split["test"][m], 4) for m in ("macro_f1", "micro_f1")}
        print(f"{name} ({time.perf_counter() - start:.0f} s, test split)")
        for model, s in out[name].items():
            print(f"  {model:<12} macro-F1 {s['macro_f1']:.3f}  micro-F1 {s['micro_f1']:.3f}")
        gain = out[name]["end_model"]["macro_f1"] - out[name]["gold_only"]["macro_f1"]
        print(f"  end model - gold-only macro-F1: {gain:+.3f}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
