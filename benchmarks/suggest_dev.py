"""LF suggestions (#18) judged on dev alone: select on one half of dev, measure on the other.

benchmarks/suggest.py scores accepted suggestions on test, which may be read once, for
the final figures. This benchmark is what a change to the suggester is designed and
checked with, without test: dev gold is split in two stratified halves (one per
``--seeds`` seed); the suggester sees train and half A only (it mines, scores and
ranks on A), the top ``--n`` offline proposals are accepted, and the label model and
the end model, fit on train + A exactly as benchmarks/suggest.py fits them on train +
dev, are scored on half B before and after. Test is not loaded (for the bundled task
the pipeline applies the LFs to every split, as `labeling apply` does; no test label
is read).

    python benchmarks/suggest_dev.py [--json PATH] [--datasets bundled sms trec]
        [--seeds 3] [--n 10] [--end-model auto] [--stand-in weak|crossfit]
        [--cache /tmp/labeling-bench]

``--stand-in``: the model standing in for the end model when proposals are scored
(labeling.suggest.stand_in; docs/suggest.md has the rule that chose the default).

Per dataset and seed it prints the accepted proposals and the B scores; then per
dataset the mean change over the seeds and the ratio after/before, and how many seeds
got worse. The JSON: ``{dataset: {"label_model": {"before": mean, "after": mean},
"end_model": {...}, "seeds": [...]}}``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))
sys.path.insert(0, str(ROOT))

from end_models import DATASETS as WRENCH, load_split  # noqa: E402
from labeling import models, pipeline  # noqa: E402
from labeling.metrics import score_predictions, stratified_folds  # noqa: E402
from labeling.suggest import Context, context_for, suggest  # noqa: E402
from labeling.suggest.score import votes_of  # noqa: E402
from labeling.suggest.stand_in import DEFAULT_STAND_IN, STAND_INS  # noqa: E402
from labeling.train.auto import choose_end_model  # noqa: E402
from labeling.train.end_model import predict_proba_full  # noqa: E402
from labeling.train.fold_label_model import FoldLabelModel  # noqa: E402

DATASETS = ("bundled", "sms", "trec")


def load(name: str, cache: Path) -> tuple[Context, tuple[int, str, int]]:
    """The task's context (train + all of dev; no test) and (k, metric, positive class)."""
    if name == "bundled":
        for var in ("OPENAI_BASE_URL", "OPENAI_API_KEY"):  # prompt LFs: the offline backend
            os.environ.pop(var, None)
        task = pipeline.load_task(ROOT.parent / "labeling.toml")
        task.config = task.config.model_copy(update={"output_dir": cache / "suggest_bundled"})
        pipeline.step_apply(task, progress=False)
        pipeline.step_fit(task)
        cfg = task.config
        return context_for(task), (cfg.cardinality, "f1", cfg.positive_index)
    k, metric, pos = WRENCH[name]
    train, dev = load_split(name, "train"), load_split(name, "valid")
    ctx = Context(labels=[str(c) for c in range(k)],
                  texts={"train": train["text"], "dev": dev["text"]},
                  L={"train": train["L"], "dev": dev["L"]}, y_dev=dev["y"],
                  lf_names=[f"lf{j}" for j in range(train["L"].shape[1])], metric=metric,
                  pos_label=pos if metric == "f1" else None, embed_dir=cache / "emb")
    return ctx, (k, metric, pos)


def halves(ctx: Context, seed: int) -> tuple[Context, np.ndarray, np.ndarray]:
    """(the context with half A as its dev, A's dev rows, B's dev rows)."""
    rows = ctx.gold_rows
    side = stratified_folds(ctx.y_dev[rows], 2, 1000 + seed)
    a, b = rows[side == 0], rows[side == 1]
    sub = Context(labels=ctx.labels, L={"train": ctx.L["train"], "dev": ctx.L["dev"][a]},
                  texts={"train": ctx.texts["train"], "dev": [ctx.texts["dev"][i] for i in a]},
                  ids={"train": ctx.ids["train"], "dev": [ctx.ids["dev"][i] for i in a]},
                  y_dev=ctx.y_dev[a], lf_names=ctx.lf_names, label_model=ctx.label_model,
                  metric=ctx.metric, pos_label=ctx.pos_label, lfs=ctx.lfs,
                  embed_dir=ctx.embed_dir, use_embeddings=ctx.use_embeddings)
    return sub, a, b


def scores(ctx: Context, L: dict, a: np.ndarray, b: np.ndarray, meta, end_model: str,
           cache: Path) -> dict:
    """Label model and end model fit on train + dev half ``a``, scored on half ``b``."""
    k, metric, pos = meta
    y = ctx.y_dev
    lm = models.make_for_task("auto", k, {}, f1_pos_label=pos if metric == "f1" else None)
    lm.fit(L["train"], y_dev=y[a], L_dev=L["dev"][a])
    lm_b = score_predictions(y[b], lm.decide(lm.predict_proba(L["dev"][b])), metric, pos)
    covered = (L["train"] != -1).any(axis=1)
    # as `labeling train`: the CV's weak targets from the label model refit per fold
    refit = FoldLabelModel(lm, L["train"], L["dev"][a], y[a])
    model, _ = choose_end_model(ctx.texts["train"], lm.predict_proba(L["train"]), covered,
                                [ctx.texts["dev"][i] for i in a], y[a], name=end_model,
                                metric=metric, pos_label=pos, cache_dir=cache / "emb",
                                fold_label_model=refit)
    pred = predict_proba_full(model, [ctx.texts["dev"][i] for i in b], k).argmax(axis=1)
    return {"label_model": round(float(lm_b), 4),
            "end_model": round(float(score_predictions(y[b], pred, metric, pos)), 4)}


def run_seed(ctx: Context, meta, seed: int, n: int, end_model: str, cache: Path,
             stand_in: str = DEFAULT_STAND_IN) -> dict:
    sub, a, b = halves(ctx, seed)
    start = time.perf_counter()
    rows = suggest(sub, n=n, stand_in=stand_in).rows
    took = time.perf_counter() - start
    # the accepted LFs' votes on all of dev (B included: they are LFs, applied to texts)
    columns = [votes_of(r["proposal"], ctx) for r in rows]
    before_L = {"train": ctx.L["train"], "dev": ctx.L["dev"]}
    after_L = {s: np.column_stack([ctx.L[s], *(c[s] for c in columns)]) for s in before_L}
    before = scores(ctx, before_L, a, b, meta, end_model, cache)
    after = before if not rows else scores(ctx, after_L, a, b, meta, end_model, cache)
    out = {key: {"before": before[key], "after": after[key]} for key in before}
    out.update(seed=seed, stand_in=stand_in, suggest_seconds=round(took, 1), accepted=[
        {"what": r["proposal"].describe()[:80], "label": sub.labels[r["proposal"].label],
         "source": r["proposal"].source, "dev_a": f"{r['dev_correct']}/{r['dev_fires']}",
         "held": f"+{r['held_fixes']}/-{r['held_harms']}",
         "weak": f"+{r['weak_gains']}/-{r['weak_losses']}", "score": round(r["score"], 4)}
        for r in rows])
    return out


def summary(cells: list[dict]) -> dict:
    out = {}
    for key in ("label_model", "end_model"):
        before = float(np.mean([c[key]["before"] for c in cells]))
        after = float(np.mean([c[key]["after"] for c in cells]))
        worse = sum(c[key]["after"] < c[key]["before"] - 1e-9 for c in cells)
        out[key] = {"before": round(before, 4), "after": round(after, 4), "worse_seeds": worse}
    return out


def line(name: str, cell: dict, n_seeds: int) -> str:
    return "; ".join(
        f"{key} {cell[key]['before']:.3f} -> {cell[key]['after']:.3f} "
        f"({cell[key]['after'] - cell[key]['before']:+.3f}, "
        f"x{cell[key]['after'] / max(cell[key]['before'], 1e-9):.3f}, worse in "
        f"{cell[key]['worse_seeds']}/{n_seeds} seeds)" for key in ("label_model", "end_model"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", metavar="PATH", help="write results as JSON here")
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS)
    parser.add_argument("--seeds", type=int, default=3, help="dev splits per dataset")
    parser.add_argument("--n", type=int, default=10, help="proposals accepted")
    parser.add_argument("--end-model", default="auto", help="auto (the pipeline's) or one "
                        "candidate, e.g. tfidf_logreg (cheap)")
    parser.add_argument("--stand-in", default=DEFAULT_STAND_IN, choices=STAND_INS,
                        help="the end model's stand-in when proposals are scored")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/labeling-bench"),
                        help="MiniLM embeddings and the bundled task's run folder")
    args = parser.parse_args(argv)
    results = {}
    for name in args.datasets:
        ctx, meta = load(name, args.cache)
        cells = []
        for seed in range(args.seeds):
            cell = run_seed(ctx, meta, seed, args.n, args.end_model, args.cache,
                            args.stand_in)
            cells.append(cell)
            print(f"{name} seed {seed}: {len(cell['accepted'])} accepted "
                  f"({cell['suggest_seconds']} s); B: " + ", ".join(
                      f"{k} {cell[k]['before']:.3f} -> {cell[k]['after']:.3f}"
                      for k in ("label_model", "end_model")), flush=True)
            for acc in cell["accepted"]:
                print(f"    {acc['label']:>5} {acc['what'][:56]:56} A {acc['dev_a']:>6} "
                      f"held {acc['held']} weak {acc['weak']} score {acc['score']}",
                      flush=True)
        results[name] = {**summary(cells), "seeds": cells}
        print(f"{name}: {line(name, results[name], args.seeds)}", flush=True)
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print()
    for name, cell in results.items():
        print(f"{name:<8} {line(name, cell, args.seeds)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
