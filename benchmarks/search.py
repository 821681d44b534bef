"""End-model search cost (#14 item 7): the default search against the exhaustive one.

On WRENCH trec (6 classes, ~5k train rows, 500 dev, 500 test, precomputed weak labels)
and the bundled YouTube task (labeling.toml, its LFs applied here with the local
backend), the label model (``auto``) is fit once, then the end-model choice
(:func:`labeling.train.auto.choose_end_model`) is run **cold** (an empty embedding cache
in a new temporary folder, the MiniLM network already loaded) with:

- ``default``: the pipeline's defaults (the TF-IDF + MiniLM average, soft labels, weak
  weight by dev CV, successive halving above ``halving_keep`` candidates);
- ``wide``: every candidate of ``AUTO_CANDIDATES`` x soft/hard x every weak weight, with
  the default successive halving;
- ``exhaustive``: the same widest space, every candidate on every CV repeat
  (``halving_keep = 0``).

For each: seconds (and the ratio to the exhaustive search, measured in the same run),
classifier fits, feature fits and texts embedded, the chosen key and its dev CV score.
All searches cross-validate on the same folds, so a key's CV score is the same number in
every table it appears in: ``|CV difference|`` is the exhaustive CV of the default's
choice minus that of the exhaustive choice (target <= 0.005). Dev CV alone chooses; the
test scores are only printed at the end.

On trec it also times what a cold ``labeling run`` spends after ``apply`` (whose weak labels
WRENCH ships), step by step, calling what ``labeling.pipeline.step_fit``/``step_train``
call: the label model, the end-model choice (the ``default`` search above), the
gold-only baseline, the learning curve (its default time budget) and the predictions on
every split, plus loading the MiniLM network once; against the 2-minute target.

The machine is shared (2 cores, other jobs running): seconds are upper bounds; compare
the ratios and the fit counts, which do not depend on the load.

    python benchmarks/search.py [--json PATH] [--datasets trec bundled]
        [--searches default wide exhaustive] [--profile PATH.pstats]
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from sklearn.pipeline import FeatureUnion

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))
sys.path.insert(0, str(ROOT))

from learning_curve import load_dataset  # noqa: E402
from labeling import models  # noqa: E402
from labeling.llm.minilm import load_model  # noqa: E402
from labeling.metrics import score_predictions  # noqa: E402
from labeling.models.fit_cache import fit_cached  # noqa: E402
from labeling.train.auto import AUTO_CANDIDATES, choose_end_model  # noqa: E402
from labeling.train.soft_logreg import SoftLogisticRegression  # noqa: E402
from labeling.train.embeddings import MiniLMEmbedder  # noqa: E402
from labeling.train.end_model import embedding_cache, predict_proba_full  # noqa: E402
from labeling.train.gold_budget import curve_section, gold_only_section  # noqa: E402

DATASETS = ("trec", "bundled")
SEARCHES = {
    "default": {},
    "wide": {"candidates": AUTO_CANDIDATES, "label_mode": "auto"},
    "exhaustive": {"candidates": AUTO_CANDIDATES, "label_mode": "auto", "halving_keep": 0},
}
RUN_TARGET_S = 120.0
CV_TARGET = 0.005


class Counter:
    """Counts the work done inside :meth:`counting`: classifier fits (and their seconds),
    TF-IDF feature fits, texts put through MiniLM."""

    def __init__(self):
        self.reset()

    def reset(self):
        self.fits, self.fit_s, self.feature_fits, self.embedded = 0, 0.0, 0, 0

    def snapshot(self) -> dict:
        return {"fits": self.fits, "fit_s": round(self.fit_s, 1),
                "feature_fits": self.feature_fits, "texts_embedded": self.embedded}

    @contextlib.contextmanager
    def counting(self):
        counter = self
        fit, union_fit, union_fit_transform = (SoftLogisticRegression.fit, FeatureUnion.fit,
                                               FeatureUnion.fit_transform)
        encode = MiniLMEmbedder._encode

        def counted_fit(self, *args, **kwargs):
            start = time.perf_counter()
            try:
                return fit(self, *args, **kwargs)
            finally:
                counter.fits += 1
                counter.fit_s += time.perf_counter() - start

        def counted_union_fit(self, *args, **kwargs):
            counter.feature_fits += 1
            return union_fit(self, *args, **kwargs)

        def counted_union_fit_transform(self, *args, **kwargs):
            counter.feature_fits += 1
            return union_fit_transform(self, *args, **kwargs)

        def counted_encode(self, texts):
            counter.embedded += len(texts)
            return encode(self, texts)

        SoftLogisticRegression.fit, MiniLMEmbedder._encode = counted_fit, counted_encode
        FeatureUnion.fit, FeatureUnion.fit_transform = (counted_union_fit,
                                                        counted_union_fit_transform)
        try:
            yield self
        finally:
            SoftLogisticRegression.fit, MiniLMEmbedder._encode = fit, encode
            FeatureUnion.fit, FeatureUnion.fit_transform = union_fit, union_fit_transform


def key_of(report: dict) -> str:
    """The chosen candidate as ``choose_end_model``'s ``cv_scores`` names it."""
    name, mode, w = report["name"], report["label_mode"], report["weak_weight"]
    if mode == "gold_only":
        return f"{name}/gold_only"
    return f"{name}/{mode}" if w is None else f"{name}/{mode}/w{w:g}"


def fit_label_model(data, k, metric, pos):
    """As ``step_fit`` fits it: ``auto``, through the (here empty) fit cache."""
    train, dev = data["train"], data["valid"]
    label_model = models.make_for_task("auto", k, {},
                                       f1_pos_label=pos if metric == "f1" else None)
    with tempfile.TemporaryDirectory(prefix="search-lm-") as tmp:
        label_model = fit_cached(label_model, train["L"], dev["y"], dev["L"], tmp)
    return label_model.predict_proba(train["L"]), (train["L"] != -1).any(axis=1)


def search(data, probs, covered, metric, pos, options, counter, cache_dir, profile=None):
    """One cold end-model choice: ``(model, row of figures)``."""
    dev = data["valid"]
    counter.reset()
    start, cpu = time.perf_counter(), time.process_time()
    with counter.counting(), (profile or contextlib.nullcontext()):
        model, report = choose_end_model(data["train"]["text"], probs, covered, dev["text"],
                                         dev["y"], metric=metric, pos_label=pos,
                                         cache_dir=cache_dir, **options)
    row = {"seconds": round(time.perf_counter() - start, 1),
           "cpu_s": round(time.process_time() - cpu, 1), **counter.snapshot(),
           "candidates": len(report["candidates"]), "chosen": key_of(report),
           "cv": report.get("cv"), "cv_scores": report.get("cv_scores", {}),
           "cv_scores_first_repeat_only": report.get("cv_scores_first_repeat_only", {})}
    return model, report, row


def test_score(model, data, k, metric, pos, cache_dir) -> float:
    test = data["test"]
    with embedding_cache(model, cache_dir):
        pred = predict_proba_full(model, test["text"], k).argmax(axis=1)
    return round(score_predictions(test["y"], pred, metric, pos), 4)


def run_dataset(name, searches, cache: Path, profile_path=None) -> dict:
    data, (k, metric, pos) = load_dataset(name, cache)
    counter, out, models_ = Counter(), {"metric": metric, "searches": {}}, {}
    steps = {}
    start = time.perf_counter()
    load_model()  # the MiniLM network, once per process (as in one `labeling run`)
    steps["load_minilm"] = round(time.perf_counter() - start, 1)
    start = time.perf_counter()
    probs, covered = fit_label_model(data, k, metric, pos)
    steps["label_model"] = round(time.perf_counter() - start, 1)
    dev = data["valid"]
    for which in searches:
        with tempfile.TemporaryDirectory(prefix=f"search-{which}-") as tmp:
            profile = cProfile.Profile() if profile_path and which == "default" else None
            model, report, row = search(data, probs, covered, metric, pos, SEARCHES[which],
                                        counter, tmp, profile)
            if profile is not None:
                profile.dump_stats(f"{profile_path}.{name}")
            print(f"{name} {which}: {row['seconds']} s ({row['cpu_s']} s CPU), {row['fits']} fits "
                  f"({row['fit_s']} s in them), {row['texts_embedded']} texts embedded, "
                  f"chose {row['chosen']} cv={row['cv']}", flush=True)
            if which == "default" and name == "trec":  # the rest of a cold `labeling run`
                steps["end_model"] = row["seconds"]
                steps.update(rest_of_run(data, probs, covered, k, metric, pos, model, report,
                                         tmp, counter))
            models_[which] = (model, report)
            out["searches"][which] = row
            row["test"] = test_score(model, data, k, metric, pos, tmp)  # printed at the end
    if "exhaustive" in out["searches"]:
        full = out["searches"]["exhaustive"]["cv_scores"]
        best_key = out["searches"]["exhaustive"]["chosen"]
        for which, row in out["searches"].items():
            own = full.get(row["chosen"])
            row["cv_exhaustive_folds"] = own
            row["cv_diff"] = None if own is None else round(abs(own - full[best_key]), 4)
            row["seconds_ratio"] = round(row["seconds"]
                                         / max(out["searches"]["exhaustive"]["seconds"], 1e-9),
                                         3)
            row["fits_ratio"] = round(row["fits"] / max(out["searches"]["exhaustive"]["fits"],
                                                        1), 3)
        out["best_cv_any_candidate"] = max(full.values())
    if "end_model" in steps:
        steps["total"] = round(sum(steps.values()), 1)
        out["run_steps_s"] = steps
    out["n"] = {split: len(data[split]["text"]) for split in ("train", "valid", "test")}
    return out


def rest_of_run(data, probs, covered, k, metric, pos, model, report, cache_dir, counter):
    """The train step after the end-model choice, as ``step_train`` runs it."""
    dev, steps = data["valid"], {}
    options = {"name": "auto", "params": {}, "label_mode": "soft"}
    start = time.perf_counter()
    gold_model, gold = gold_only_section(dev["text"], dev["y"], k, options, report, metric,
                                         pos, 0, cache_dir)
    steps["gold_only"] = round(time.perf_counter() - start, 1)
    start = time.perf_counter()
    curve = curve_section(data["train"]["text"], probs, covered, dev["text"], dev["y"],
                          report, gold, metric, pos, 0, {"seeds": 3, "budget_s": 60.0},
                          cache_dir, {})
    steps["learning_curve"] = round(time.perf_counter() - start, 1)
    steps["learning_curve_seeds"] = curve.get("seeds_done", 0)
    start = time.perf_counter()
    with embedding_cache(model, cache_dir), embedding_cache(gold_model, cache_dir):
        for split in ("train", "valid", "test"):
            predict_proba_full(model, data[split]["text"], k)
        predict_proba_full(gold_model, data["test"]["text"], k)
    steps["predict"] = round(time.perf_counter() - start, 1)
    return steps


def print_results(results: dict) -> None:
    for name, out in results.items():
        print(f"\n{name} ({out['metric']}; train/dev/test {out['n']['train']}/"
              f"{out['n']['valid']}/{out['n']['test']})")
        print(f"{'search':<11}{'cands':>6}{'s':>8}{'x exh':>7}{'fits':>6}{'x exh':>7}"
              f"{'embedded':>9}  {'chosen':<28}{'cv':>7}{'|dCV|':>7}")
        for which, row in out["searches"].items():
            ratio = row.get("seconds_ratio")
            print(f"{which:<11}{row['candidates']:>6}{row['seconds']:>8.1f}"
                  f"{'' if ratio is None else f'{ratio:.2f}':>7}{row['fits']:>6}"
                  f"{row.get('fits_ratio', ''):>7}{row['texts_embedded']:>9}  "
                  f"{row['chosen']:<28}{row['cv']:>7}"
                  f"{'' if row.get('cv_diff') is None else row['cv_diff']:>7}")
        if "best_cv_any_candidate" in out:
            verdicts = [f"{w}: {'met' if r['cv_diff'] <= CV_TARGET else 'MISSED'}"
                        for w, r in out["searches"].items() if r.get("cv_diff") is not None]
            print(f"|dCV| target <= {CV_TARGET}: " + ", ".join(verdicts)
                  + f" (best CV of any candidate {out['best_cv_any_candidate']})")
        if "run_steps_s" in out:
            steps = out["run_steps_s"]
            print("cold `labeling run` after apply, per step (s): "
                  + ", ".join(f"{s} {v}" for s, v in steps.items())
                  + f"  -> {'met' if steps['total'] <= RUN_TARGET_S else 'MISSED'} "
                  f"(target <= {RUN_TARGET_S:.0f} s)")
    print("\ntest scores of the chosen models (never used to choose):")
    for name, out in results.items():
        print(f"  {name}: " + ", ".join(f"{w} {r['test']}" for w, r in out["searches"].items()))
    print("\nseconds are upper bounds: the 2-core machine is shared; compare ratios and fits.")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", metavar="PATH", help="write results as JSON here")
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS)
    parser.add_argument("--searches", nargs="+", default=list(SEARCHES), choices=SEARCHES)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/labeling-search-bench"),
                        help="the bundled task's run folder (its LF cache); embedding "
                             "caches are always new temporary folders")
    parser.add_argument("--profile", metavar="PATH",
                        help="cProfile the default search; stats to PATH.<dataset>")
    args = parser.parse_args(argv)
    results = {}
    for name in args.datasets:
        results[name] = run_dataset(name, args.searches, args.cache, args.profile)
        if args.json:  # after each dataset: a late failure loses nothing already done
            Path(args.json).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print_results(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
