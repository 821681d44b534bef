"""Which of the bundled GoEmotions Ekman LFs' Ekman-level cues pay on dev? Dev only.

    python benchmarks/multilabel_lf_dev.py [--seeds 0 1 2] [--json PATH]

Each variant is the grouped 28-label cues of functions/goemotions_ekman.py plus some of
its Ekman-level cue LFs (``MORE_KEYWORDS``/``MORE_REGEXES``), or plus the fear and
sadness lists below that were tried and left out; the neutral LF is rebuilt over the
variant's emotion LFs, as the bundled module does. Per variant, in a scratch copy of
data/goemotions/labeling.toml with the test split dropped before anything runs: apply,
fit (the label model's out-of-fold dev macro-F1) and the end model's dev CV macro-F1
with the weak rows at weight 1 per row, averaged over ``--seeds`` fold seeds (the
decision figure; per-label F1 too), with its change against "before", measured in the
same run. MiniLM vectors come from runs/goemotions_ekman/embedding_cache when that run
exists. JSON: {variant: {"label_model_oof_dev_macro_f1", "end_model_dev_cv_macro_f1",
"per_label"}}.
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
sys.path.insert(0, str(ROOT / "benchmarks"))

from multilabel_prompt_dev import VECTORS, config_for  # noqa: E402

from labeling import multilabel_steps  # noqa: E402
from labeling.pipeline import load_task  # noqa: E402
from labeling.train.blas import on_one_blas_thread  # noqa: E402
from labeling.train.multilabel import FEATURES, OneVsRestEndModel, featurise  # noqa: E402

# Tried and left out (general vocabulary of fear and sadness; lowered dev CV).
REJECTED = {
    "fear": ["scare", "scares", "scaring", "frightened", "frightens", "fearful", "feared",
             "fearing", "fears", "terror", "terrifies", "horrified", "horror", "dread",
             "dreading", "panicked", "panicking", "phobia", "paranoid", "freaks me out",
             "freaking out", "creeped out", "petrified", "worries", "worrying", "uneasy",
             "alarming", "afraid of", "nervously"],
    "sadness": ["sadness", "sorrow", "missing", "miss", "alone", "hurt", "hurting",
                "heartbreak", "devastated", "devastating", "depression", "mourning",
                "miserable", "tragedy", "cried", "sobbing", "upset", "guilt", "regrets",
                "disappointment", ":(", "☹️", "😞", "😔"],
}
VARIANTS = {  # name: (bundled extra LFs kept, rejected lists added)
    "before": ([], []),
    "+ ? for surprise": (["re_surprise_more0"], []),
    "+ disgust vocabulary": (["kw_disgust_more"], []),
    "+ anger vocabulary": (["kw_anger_more"], []),
    "bundled (all three)": (["re_surprise_more0", "kw_disgust_more", "kw_anger_more"], []),
    "+ fear and sadness (left out)": (["re_surprise_more0", "kw_disgust_more",
                                       "kw_anger_more"], ["fear", "sadness"]),
}
MODULE = '''\
import importlib.util
from labeling.lf.core import APPLIES, for_label, keyword_lf
_spec = importlib.util.spec_from_file_location("ekman_bundled", {bundled!r})
_b = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_b)
EMO = _b.emotion_lfs(_b.grouped(_b.KEYWORDS), _b.grouped(_b.REGEXES))
EMO += [lf for lf in _b.more_lfs() if lf.name in {keep!r}]
EMO += [for_label(label, keyword_lf(words, label=APPLIES, name=f"kw_{{label}}_tried"))
        for label, words in {extra!r}.items()]
LFS = EMO + [_b.neutral_lf(EMO)]
'''


def variant_config(out: Path, keep: list[str], extra: list[str]) -> Path:
    out.mkdir(parents=True)
    module = out / "lfs.py"
    module.write_text(MODULE.format(bundled=str(ROOT / "functions" / "goemotions_ekman.py"),
                                    keep=keep, extra={k: REJECTED[k] for k in extra}),
                      encoding="utf-8")
    config = config_for(out, None)
    text = config.read_text(encoding="utf-8").replace(
        str(ROOT / "functions" / "goemotions_ekman.py"), str(module))
    config.write_text(text, encoding="utf-8")
    return config


def measure(config: Path, seeds, features_by_kind: dict | None) -> tuple[dict, dict]:
    task = load_task(config)
    task.splits["test"] = None  # dev only: the test split never enters this benchmark
    multilabel_steps.step_apply(task)
    section = multilabel_steps.step_fit(task)["multi_label"]
    if features_by_kind is None:  # the same texts for every variant: featurise once
        texts = {s: df["text"].tolist() for s, df in task.splits.items() if df is not None}
        cache = task.run_dir / "embedding_cache"
        if VECTORS.is_dir():  # a copy: the run's own cache is never written to
            shutil.copytree(VECTORS, cache)
        features_by_kind = featurise(texts, FEATURES["tfidf_minilm_avg"], cache)
    P = multilabel_steps.read_probs(task, "train")
    Y = multilabel_steps.gold(task)["dev"]
    per_label = np.mean([on_one_blas_thread(lambda s=seed: OneVsRestEndModel(
        weak_weights=["per_row"], seed=s).fit(features_by_kind, P, Y))().dev_cv_f1_
        for seed in seeds], axis=0)
    labels = task.config.labels
    return {"label_model_oof_dev_macro_f1": round(float(np.mean(list(
                section["label_model"]["dev_oof_f1"].values()))), 4),
            "end_model_dev_cv_macro_f1": round(float(per_label.mean()), 4),
            "per_label": dict(zip(labels, np.round(per_label, 3).tolist()))}, features_by_kind


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results, features_by_kind = {}, None
    with tempfile.TemporaryDirectory() as scratch:
        for i, (name, (keep, extra)) in enumerate(VARIANTS.items()):
            start = time.perf_counter()
            config = variant_config(Path(scratch) / f"v{i}", keep, extra)
            results[name], features_by_kind = measure(config, args.seeds, features_by_kind)
            print(f"{name}: {time.perf_counter() - start:.0f} s", flush=True)
    base = results["before"]
    print(f"\n{'LFs':<32} {'label model OOF':>15} {'end model CV':>13} {'vs before':>10}")
    for name, r in results.items():
        end = r["end_model_dev_cv_macro_f1"]
        print(f"{name:<32} {r['label_model_oof_dev_macro_f1']:>15.3f} {end:>13.3f} "
              f"{end - base['end_model_dev_cv_macro_f1']:>+10.3f}")
        moved = {k: f"{base['per_label'][k]:.3f} -> {v:.3f}" for k, v in r["per_label"].items()
                 if abs(v - base["per_label"][k]) >= 0.001}
        if moved:
            print(f"{'':<32} {moved}")
    print(f"(dev only; end model: weak rows at 1 per row, 3-fold CV over seeds {args.seeds})")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n",
                             encoding="utf-8")


if __name__ == "__main__":
    main()
