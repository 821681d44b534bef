"""Does a local-backend multi-label prompt LF help the GoEmotions Ekman task? Dev only.

    python benchmarks/multilabel_prompt_dev.py [--margins 0.05 0.1] [--json PATH]

Runs apply, fit and train of data/goemotions/labeling.toml in a scratch folder with the
bundled LFs (the baseline, measured in the same run) and with the bundled LFs plus the
multi-label prompt LF below at each margin, and prints the label model's out-of-fold dev
macro-F1 and the end model's dev CV macro-F1 (the decision metric), with the change
against the baseline. The test split is dropped before anything runs: nothing here reads
it. MiniLM vectors are copied from runs/goemotions_ekman/embedding_cache when that run
exists (else ~16k texts are embedded first: several CPU minutes).
JSON: {variant: {"label_model_oof_dev_macro_f1", "end_model_dev_cv_macro_f1",
"gold_only_dev_cv_macro_f1"}}.
"""

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from labeling import multilabel_steps  # noqa: E402
from labeling.pipeline import load_task  # noqa: E402

# Descriptions from Ekman's grouping of the 27 emotions (ekman_mapping.json) and general
# knowledge of how they are voiced; not tuned on any split.
PROMPT_LF = '''\
from labeling.llm import multilabel_prompt_lf

EKMAN = {{
    "anger": "anger, annoyance, irritation or disapproval: angry, mad, pissed off, hate this",
    "disgust": "disgust: gross, disgusting, revolting, makes me sick",
    "fear": "fear or nervousness: scared, afraid, terrified, anxious, worried",
    "joy": "joy, love, gratitude, admiration, amusement or excitement: happy, thanks, "
           "love it, awesome, lol",
    "sadness": "sadness, grief, disappointment or remorse: sad, sorry, miss them, so depressing",
    "surprise": "surprise, confusion, curiosity or realization: wow, really?, I didn't know that",
    "neutral": "a neutral factual statement or question without emotion",
}}
emotions = multilabel_prompt_lf(
    "llm_emotions", "Which emotions does this Reddit comment express?\\nComment: {{text}}",
    labels=EKMAN, local_margin={margin})
'''
CONFIG = ROOT / "data" / "goemotions" / "labeling.toml"
VECTORS = ROOT / "runs" / "goemotions_ekman" / "embedding_cache"


def config_for(out: Path, extra_lf: Path | None) -> Path:
    text = CONFIG.read_text(encoding="utf-8")
    lfs = [str(ROOT / "functions" / "goemotions_ekman.py")] + ([str(extra_lf)] if extra_lf
                                                                else [])
    text = text.replace('lfs = ["../../functions/goemotions_ekman.py"]', f"lfs = {json.dumps(lfs)}")
    text = text.replace('output_dir = "../../runs/goemotions_ekman"', f'output_dir = "{out}"')
    for name in ("train.csv", "dev.csv", "test.csv"):
        text = text.replace(f'"{name}"', json.dumps(str(ROOT / "data" / "goemotions" / name)))
    path = out / "labeling.toml"
    path.write_text(text, encoding="utf-8")
    return path


def run(out: Path, extra_lf: Path | None) -> dict:
    out.mkdir(parents=True)
    # the end model's and the local backend's vector caches (same model, same format)
    for target in (out / "embedding_cache", out / "cache" / "local_embeddings"):
        if VECTORS.is_dir():
            shutil.copytree(VECTORS, target)
    task = load_task(config_for(out, extra_lf))
    task.splits["test"] = None  # dev only: the test split never enters this benchmark
    multilabel_steps.step_apply(task)
    section = multilabel_steps.step_fit(task)["multi_label"]
    oof = section["label_model"]["dev_oof_f1"]
    multilabel_steps.step_train(task)
    section = json.loads((out / "metrics.json").read_text(encoding="utf-8"))["multi_label"]
    mean = lambda d: round(float(np.mean(list(d.values()))), 4)  # noqa: E731
    return {"label_model_oof_dev_macro_f1": mean(oof),
            "end_model_dev_cv_macro_f1": mean(section["end_model"]["dev_cv_f1"]),
            "gold_only_dev_cv_macro_f1": mean(section["gold_only"]["dev_cv_f1"]),
            "label_model_chosen": section["label_model"]["chosen_per_label"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--margins", nargs="+", type=float, default=[0.05, 0.1])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as scratch:
        for margin in [None, *args.margins]:
            name = "bundled LFs" if margin is None else f"+ prompt LF, margin {margin:g}"
            extra = None
            if margin is not None:
                extra = Path(scratch) / f"prompt_{margin:g}.py"
                extra.write_text(PROMPT_LF.format(margin=margin), encoding="utf-8")
            start = time.perf_counter()
            results[name] = run(Path(scratch) / f"run_{len(results)}", extra)
            print(f"{name}: {time.perf_counter() - start:.0f} s", flush=True)
    base = results["bundled LFs"]
    print(f"\n{'LFs':<28} {'label model OOF':>15} {'end model CV':>13} {'vs baseline':>12}")
    for name, r in results.items():
        end = r["end_model_dev_cv_macro_f1"]
        change = end - base["end_model_dev_cv_macro_f1"]
        print(f"{name:<28} {r['label_model_oof_dev_macro_f1']:>15.3f} {end:>13.3f} "
              f"{change:>+8.3f} ({end / base['end_model_dev_cv_macro_f1']:.3f}x)")
    print(f"(dev macro-F1; gold-only dev CV: {base['gold_only_dev_cv_macro_f1']:.3f})")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
