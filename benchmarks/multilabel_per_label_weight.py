"""Dev-only check (#15): the weak rows' weight chosen per label (the end model's default)
against one weight for all labels (``weak_weight_per_label = false``), and the end model's
dev CV on one K-fold split against several (``n_repeats``), nested on a GoEmotions task's
dev rows: outer folds hold rows out; on the rest the end model as built (its 3-fold CV
over the candidates, ``n_repeats`` splits pooled) is fit and scored on the held rows,
each label at its threshold. Test is never loaded: the task is loaded with its test
split removed from the config, into a dev-only run folder.

    python benchmarks/multilabel_per_label_weight.py [--config data/goemotions/labeling.toml]
        [--weights 0 0.3 1 per_row] [--n-repeats 1 3] [--no-one-weight] [--seed N]
        [--refit-label-model] [--json PATH]

The weak rows' targets are the label model's of ``labeling apply`` + ``labeling fit``
(fit on all dev, as in the first version of this experiment; the pipeline refits it per
CV fold): a leak every arm shares; ``--refit-label-model`` removes it (the label model
refit per outer fold on its rest rows and per inner CV fold, as the pipeline does). They
are made here, dev only, in ``--work`` (default ``runs/<task name>_dev_only``; reused
when it holds them); MiniLM vectors are copied from the task's run folder when it has
them, else embedded once.

``--n-repeats 1 3``: each value's per-label model on the same outer splits, with its
``fit`` seconds (wall and CPU). Decision rule for the default ``n_repeats``, written
before the first run: with ``d`` the per-outer-fold held-out macro-F1 of 3 repeats minus
that of 1 (paired, same outer rows), 3 becomes the default only if ``mean(d) > 2 * se``,
``se = sd(d, ddof=1) / sqrt(outer folds)`` (the spread across the outer splits); else 1
stays.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path
from unittest import mock

import numpy as np
from sklearn.model_selection import KFold

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from sklearn.metrics import f1_score  # noqa: E402

from labeling import multilabel_steps, pipeline  # noqa: E402
from labeling.config import load_config  # noqa: E402
from labeling.models.multilabel import PerLabelModel  # noqa: E402
from labeling.multilabel_steps.common import (EMBEDDING_CACHE_DIR, gold,  # noqa: E402
                                              label_matrices, lf_targets, read_probs)
from labeling.pipeline import load_task  # noqa: E402
from labeling.train.fold_label_model import multilabel_fold_model_for  # noqa: E402
from labeling.train.multilabel import (DEFAULT_N_REPEATS, DEFAULT_WEAK_WEIGHTS,  # noqa: E402
                                       FEATURES, OneVsRestEndModel, featurise,
                                       fit_featurisers, weight_key)


def _rows(features: dict, rows: np.ndarray, split: str = "dev") -> dict:
    """``features`` with its ``split`` cut to ``rows`` (the other splits as they are)."""
    return {kind: {**by_split, split: by_split[split][rows]} for kind, by_split in features.items()}


def _held_f1(model, features, Y, held) -> np.ndarray:
    predicted = model.predict(_rows(features, held), "dev")
    return np.array([f1_score(Y[held, c], predicted[:, c], zero_division=0)
                     for c in range(Y.shape[1])])


def _weight(text: str):
    return None if text == "per_row" else float(text)


def _repeats(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"n_repeats must be an integer >= 1, got {text}")
    return value


def dev_only_task(config_path: str, work: str | None):
    """The task with no test split (dropped from the config before any file is read),
    its run folder ``work`` (default: ``runs/<name>_dev_only`` next to the task's run
    folder), the label model's train probabilities made there if missing (apply + fit)."""
    config = load_config(config_path)
    run_dir = config.run_dir
    config.data.test = None
    config.output_dir = Path(work) if work else run_dir.parent / f"{run_dir.name}_dev_only"
    with mock.patch.object(pipeline, "load_config", lambda _path: config):
        task = load_task(config_path)
    assert task.splits.get("test") is None
    cache = task.run_dir / EMBEDDING_CACHE_DIR
    if not cache.exists() and (run_dir / EMBEDDING_CACHE_DIR).is_dir():
        shutil.copytree(run_dir / EMBEDDING_CACHE_DIR, cache)  # never written to
    if not (task.run_dir / "probs.parquet").is_file():
        print(f"apply + fit (dev only) in {task.run_dir}", flush=True)
        multilabel_steps.step_apply(task)
        multilabel_steps.step_fit(task)
    return task


def outer_label_model(task, rest: np.ndarray):
    """``(P_weak, fold_probs)`` with no outer-held gold: the task's label model refit on the
    dev rows ``rest`` (as the train step's ``_fold_label_model`` builds it on all dev), and
    its per-fold refits for the end model's CV (the pipeline's weak targets per fold)."""
    cfg, L, Y = task.config, label_matrices(task), gold(task)["dev"]
    model = PerLabelModel(len(cfg.labels), lf_targets(task.lfs, cfg.labels),
                          name=cfg.label_model.name, seed=cfg.seed,
                          params=cfg.label_model.params.get("per_model", {}))
    model.fit(L["train"], Y[rest], L["dev"][rest])
    P_weak = model.predict_proba(L["train"])
    return P_weak, multilabel_fold_model_for(model, L["train"], L["dev"][rest], Y[rest], P_weak)


def _fit(model, *args):
    """``(fitted model, wall seconds, CPU seconds)``."""
    wall, cpu = time.perf_counter(), time.process_time()
    model.fit(*args)
    return model, round(time.perf_counter() - wall, 1), round(time.process_time() - cpu, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="data/goemotions/labeling.toml")
    parser.add_argument("--outer", type=int, default=3)
    parser.add_argument("--weights", nargs="+", type=_weight,
                        default=list(DEFAULT_WEAK_WEIGHTS))
    parser.add_argument("--n-repeats", nargs="+", type=_repeats, default=[DEFAULT_N_REPEATS],
                        help="the end model's dev CV splits; one nested run per value")
    parser.add_argument("--no-one-weight", action="store_true",
                        help="skip the one-weight-for-all arm")
    parser.add_argument("--seed", type=int, help="the end model's seed (its CV's first fold "
                        "seed; default: the task's); the outer splits stay the same")
    parser.add_argument("--refit-label-model", action="store_true",
                        help="no leak: the label model refit per outer fold on its rest rows, "
                        "and per inner CV fold, as the pipeline does")
    parser.add_argument("--work", help="the dev-only run folder (module doc)")
    parser.add_argument("--json")
    args = parser.parse_args()
    start = time.perf_counter()
    task = dev_only_task(args.config, args.work)
    name = "tfidf_minilm_avg"
    seed = task.config.seed if args.seed is None else args.seed
    texts = {s: df["text"].tolist() for s, df in task.splits.items() if df is not None}
    assert set(texts) == {"train", "dev"}, set(texts)
    features = featurise(texts, FEATURES[name], task.run_dir / EMBEDDING_CACHE_DIR,
                         fit_featurisers(texts, FEATURES[name]))
    P_weak, Y_dev = read_probs(task, "train"), gold(task)["dev"]
    outer = list(KFold(args.outer, shuffle=True, random_state=1).split(np.arange(len(Y_dev))))
    runs = {}
    for n_repeats in args.n_repeats:
        folds = []
        for rest, held in outer:
            P_rest, fold_probs = (outer_label_model(task, rest) if args.refit_label_model
                                  else (P_weak, None))
            per, wall, cpu = _fit(OneVsRestEndModel(name, seed=seed, weak_weights=args.weights,
                                                    n_repeats=n_repeats),
                                  _rows(features, rest), P_rest, Y_dev[rest], fold_probs)
            fold = {"shared_weight": weight_key(per.shared_weight_),
                    "per_label_weights": [weight_key(w) for w in per.weak_weight_],
                    "per_label": float(_held_f1(per, features, Y_dev, held).mean()),
                    "inner_cv_one_weight": per.cv_macro_[weight_key(per.shared_weight_)],
                    "inner_cv_per_label": round(float(per.dev_cv_f1_.mean()), 4),
                    "fit_seconds": wall, "fit_cpu_seconds": cpu}
            if not args.no_one_weight:
                # the legacy model (one weight for all) is this one candidate on the same
                # folds: same out-of-fold cuts, same final fit, without refitting every
                # candidate
                one = OneVsRestEndModel(name, seed=seed, weak_weights=[per.shared_weight_],
                                        n_repeats=n_repeats).fit(
                    _rows(features, rest), P_rest, Y_dev[rest], fold_probs)
                fold["one_weight"] = float(_held_f1(one, features, Y_dev, held).mean())
            folds.append(fold)
            one_text = f" -> {fold['one_weight']:.4f}" if "one_weight" in fold else ""
            print(f"n_repeats {n_repeats}, outer fold: one weight {fold['shared_weight']}"
                  f"{one_text}; per label {fold['per_label_weights']} -> "
                  f"{fold['per_label']:.4f} (fit {wall} s, CPU {cpu} s)", flush=True)
        run = {"per_label": float(np.mean([f["per_label"] for f in folds])), "folds": folds,
               "fit_seconds": round(sum(f["fit_seconds"] for f in folds), 1),
               "fit_cpu_seconds": round(sum(f["fit_cpu_seconds"] for f in folds), 1)}
        line = f"n_repeats {n_repeats}: held-out macro-F1 per label {run['per_label']:.4f}"
        if not args.no_one_weight:
            run["one_weight"] = float(np.mean([f["one_weight"] for f in folds]))
            line += (f", one weight {run['one_weight']:.4f} "
                     f"({run['per_label'] - run['one_weight']:+.4f})")
        print(f"{line}; per-label fits {run['fit_seconds']} s (CPU {run['fit_cpu_seconds']} s)",
              flush=True)
        runs[n_repeats] = run
    result = {"config": args.config, "weights": [weight_key(w) for w in args.weights],
              "seed": seed, "refit_label_model": args.refit_label_model,
              "n_repeats": {str(r): run for r, run in runs.items()}}
    if len(runs) == 1:  # the layout before --n-repeats
        result |= {k: v for k, v in next(iter(runs.values())).items()}
    base = args.n_repeats[0]
    for r in args.n_repeats[1:]:  # the decision rule (module doc), against the first value
        d = np.array([a["per_label"] - b["per_label"]
                      for a, b in zip(runs[r]["folds"], runs[base]["folds"])])
        se = float(np.std(d, ddof=1) / np.sqrt(len(d)))
        result[f"paired_{r}_vs_{base}"] = {"d": np.round(d, 4).tolist(),
                                           "mean": round(float(d.mean()), 4),
                                           "se": round(se, 4), "beats": bool(d.mean() > 2 * se)}
        print(f"n_repeats {r} vs {base}: per-fold d {np.round(d, 4).tolist()}, mean "
              f"{d.mean():+.4f}, se {se:.4f}: {'beats' if d.mean() > 2 * se else 'does not beat'}"
              f" {base} (rule: mean > 2 se)")
    result["seconds"] = round(time.perf_counter() - start)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
