"""``minilm_finetune`` on the bundled GoEmotions Ekman task (multi-label), dev first, test once.

Two phases, so that test is looked at only after the dev comparison is written down:

    # dev: apply + fit (test split dropped), the fine-tune as `labeling train` fits it
    # (labeling.train.finetune_multilabel.fit_task, with its gold-only twin on the same
    # held-out rows), and on its held-out dev rows the frozen gold-only model (tfidf_minilm_avg
    # on the dev gold) and the frozen default end model (tfidf_minilm_avg, weak rows
    # per_row) fit on the other dev rows, each label at its best cut (one protocol);
    # also the frozen model's own 3-fold dev CV (docs/multilabel.md's 0.523)
    python benchmarks/finetune_multilabel.py --out DIR --max-time 1800 --json dev.json
    # test, once: the saved fine-tune's test macro/micro F1 and predict speed
    python benchmarks/finetune_multilabel.py --out DIR --test --json test.json

Run it on one core (``OMP_NUM_THREADS=1 nice -n 19 taskset -c 1``); the MiniLM vectors of
runs/goemotions_ekman are copied when present (else the frozen comparator embeds the
16k texts first).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from multilabel_prompt_dev import VECTORS, config_for  # noqa: E402

from labeling import multilabel_steps  # noqa: E402
from labeling.export import load_model, save_model  # noqa: E402
from labeling.models.multilabel import multilabel_scores  # noqa: E402
from labeling.pipeline import load_task  # noqa: E402
from labeling.train.finetune_multilabel import GOLD_ONLY, fit_task  # noqa: E402
from labeling.train.multilabel import (FEATURES, OneVsRestEndModel, featurise,  # noqa: E402
                                       fit_featurisers)

MODEL = "finetune.skops"


def environment() -> dict:
    import torch

    return {"torch_threads": torch.get_num_threads(), "affinity": sorted(os.sched_getaffinity(0)),
            "load_average": [round(x, 2) for x in os.getloadavg()],
            "utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())}


def macro(values) -> float:
    return round(float(np.mean(list(values))), 4)


def dev_phase(out: Path, max_time: float | None, weak_weight=None) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    if VECTORS.is_dir() and not (out / "embedding_cache").exists():
        shutil.copytree(VECTORS, out / "embedding_cache")
    task = load_task(config_for(out, None))
    task.splits["test"] = None  # dev only: the test split never enters this phase
    env_start = environment()
    multilabel_steps.step_apply(task)
    multilabel_steps.step_fit(task)
    cfg = task.config
    P_weak, Y_dev = multilabel_steps.read_probs(task, "train"), multilabel_steps.gold(task)["dev"]
    texts = {s: task.splits[s]["text"].tolist() for s in ("train", "dev")}
    cache = out / "embedding_cache"
    params = {"max_time": max_time, "progress": False, "weak_weight": weak_weight}
    start = time.perf_counter()
    model, _, fields = fit_task(texts, P_weak, Y_dev, params, cfg.labels, cfg.seed, cache)
    end, twin, gold_frozen = fields["end_model"], fields["gold_only"], fields["gold_only_frozen"]
    fit_wall = time.perf_counter() - start
    save_model(model, out / MODEL)
    held = model.held_out_rows_ - len(P_weak)
    features = featurise(texts, FEATURES[GOLD_ONLY], cache,
                         fit_featurisers(texts, FEATURES[GOLD_ONLY]))
    frozen = OneVsRestEndModel(GOLD_ONLY, seed=cfg.seed, weak_weights=[None])
    frozen_held = frozen.heldout_f1(features, P_weak, Y_dev, held, weak_weight=None)
    frozen_cv = OneVsRestEndModel(GOLD_ONLY, seed=cfg.seed).fit(features, P_weak, Y_dev)
    return {
        "environment": {"start": env_start, "end": environment()},
        "rows": {"weak": int(len(P_weak)), "dev": int(len(Y_dev)),
                 "dev_held_out": int(len(held)), "trained_on": model.n_train_rows_},
        "finetune": {"held_out_macro_f1": macro(end["dev_cv_f1"].values()),
                     "held_out_f1": end["dev_cv_f1"],
                     "thresholds": end["thresholds"], "history": model.history_,
                     "weak_weight": end["weak_weight"],
                     "held_out_rows": model.held_out_rows_.tolist(),
                     "best_epoch": model.best_epoch_, "fit_seconds": model.fit_seconds_,
                     "fit_task_wall_seconds": round(fit_wall, 1), "params": model.get_params()},
        "gold_only_twin": {k: twin[k] for k in ("dev_cv_f1", "trained_rows", "held_out_rows",
                                                "best_epoch", "fit_seconds", "text")},
        "same_held_out_rows": {
            "gold_only_twin_minilm_finetune": twin["dev_cv_macro_f1"],
            "gold_only": macro(gold_frozen["dev_cv_f1"].values()),
            "frozen_tfidf_minilm_avg_per_row": macro(frozen_held)},
        "frozen_3fold_dev_cv": {"macro_f1": macro(frozen_cv.dev_cv_f1_),
                                "weak_weight_cv": frozen_cv.cv_scores_},
        "gold_only_3fold_dev_cv": macro(gold_frozen["dev_3fold_cv_f1"].values()),
    }


def test_phase(out: Path) -> dict:
    task = load_task(config_for(out, None))
    env_start = environment()
    model = load_model(out / MODEL)
    texts = task.splits["test"]["text"].tolist()
    start, cpu = time.perf_counter(), time.process_time()
    proba = model.predict_proba(texts)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    Y = multilabel_steps.gold(task)["test"]
    scores = multilabel_scores(Y, (proba >= model.thresholds_).astype(int), task.config.labels)
    return {"environment": {"start": env_start, "end": environment()}, "n_test": len(texts),
            "macro_f1": round(scores["macro_f1"], 4), "micro_f1": round(scores["micro_f1"], 4),
            "per_label_f1": {k: round(v["f1"], 4) for k, v in scores["per_label"].items()},
            "predict_docs_per_s": round(len(texts) / wall, 1),
            "predict_docs_per_cpu_s": round(len(texts) / cpu, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="scratch run folder")
    parser.add_argument("--max-time", type=float, default=None, help="fine-tune seconds cap")
    parser.add_argument("--weak-weight", type=float, default=None,
                        help="the weak rows' total per gold rows' total (default: per_row)")
    parser.add_argument("--test", action="store_true", help="score the saved fine-tune on test")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    result = (test_phase(args.out) if args.test
              else dev_phase(args.out, args.max_time, args.weak_weight))
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
