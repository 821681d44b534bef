"""LF suggestions (#18): accept the top 10 offline proposals, score before and after.

For the bundled YouTube task (its LFs applied here as `labeling apply` does, prompt LFs
on the offline MiniLM backend) and WRENCH sms and trec (their LF votes as shipped,
benchmarks/data/wrench): the suggester (:mod:`labeling.suggest`) sees train and dev
only, proposes LFs offline (mined n-grams and regexes, MiniLM clusters of uncovered
rows as prompt LFs) and ranks them by its own dev-based score; the top ``--n`` (10) are
accepted as they are. Then, before and after:

- the label model: ``auto`` (the pipeline's, chosen by dev CV) fit on train + dev, its
  test score;
- the end model: ``choose_end_model`` with the pipeline's defaults (``auto``: TF-IDF and
  MiniLM logistic regressions averaged, weak rows' weight chosen by dev CV with the label
  model refit per CV fold, as ``labeling train`` does) on the label model's soft labels +
  dev gold, its test score. ``--end-model tfidf_logreg`` is the
  cheap option.

Test is read only here, at the end: the accepted LFs are applied to the test texts and
both models scored (F1 of spam for the bundled task and sms, accuracy for trec). The
goal (#18): label model +0.02 and end model +0.01 on each dataset.

    python benchmarks/suggest.py [--json PATH] [--datasets bundled sms trec] [--n 10]
        [--end-model auto] [--cache /tmp/labeling-bench]
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
from labeling.lf.core import PatternLF, TextColumn  # noqa: E402
from labeling.metrics import score_predictions  # noqa: E402
from labeling.suggest import Context, context_for, suggest  # noqa: E402
from labeling.train.auto import choose_end_model  # noqa: E402
from labeling.train.end_model import predict_proba_full  # noqa: E402
from labeling.train.fold_label_model import FoldLabelModel  # noqa: E402

DATASETS = ("bundled", "sms", "trec")
GOALS = {"label_model": 0.02, "end_model": 0.01}


def load(name: str, cache: Path):
    """(context (train + dev), test {"L", "y", "text"}, (k, metric, pos))."""
    if name == "bundled":
        for var in ("OPENAI_BASE_URL", "OPENAI_API_KEY"):  # prompt LFs: the offline backend
            os.environ.pop(var, None)
        task = pipeline.load_task(ROOT.parent / "labeling.toml")
        task.config = task.config.model_copy(update={"output_dir": cache / "suggest_bundled"})
        pipeline.step_apply(task, progress=False)
        pipeline.step_fit(task)
        ctx = context_for(task)
        table = pipeline.read_label_matrices(task)
        test = {"L": table["test"], "y": task.gold("test"),
                "text": task.splits["test"]["text"].tolist()}
        cfg = task.config
        return ctx, test, (cfg.cardinality, "f1", cfg.positive_index)
    k, metric, pos = WRENCH[name]
    train, dev, test = (load_split(name, s) for s in ("train", "valid", "test"))
    ctx = Context(labels=[str(c) for c in range(k)],
                  texts={"train": train["text"], "dev": dev["text"]},
                  L={"train": train["L"], "dev": dev["L"]}, y_dev=dev["y"],
                  lf_names=[f"lf{j}" for j in range(train["L"].shape[1])], metric=metric,
                  pos_label=pos if metric == "f1" else None, embed_dir=cache / "emb")
    return ctx, test, (k, metric, pos)


def test_votes(rows: list[dict], ctx: Context, texts: list[str]) -> np.ndarray:
    """The accepted LFs' votes on the test texts (the only use of test before scoring)."""
    import pandas as pd

    column, out = TextColumn(texts), []
    for row in rows:
        lf = row["proposal"].to_lf()
        if isinstance(lf, PatternLF):
            out.append(lf.apply_column(column))
        else:  # prompt LF: the offline MiniLM backend, as it was scored
            out.append(ctx.backend.answer(lf, pd.DataFrame({"text": texts}), ctx.labels)[1])
    return np.column_stack(out) if out else np.zeros((len(texts), 0), dtype=np.int16)


def scores(ctx: Context, L: dict, test: dict, k: int, metric: str, pos: int,
           end_model: str, cache: Path) -> dict:
    """Label model and end model test scores on label matrices ``L`` (train, dev, test)."""
    f1 = pos if metric == "f1" else None
    lm = models.make_for_task("auto", k, {}, f1_pos_label=f1)
    lm.fit(L["train"], y_dev=ctx.y_dev, L_dev=L["dev"])
    lm_test = score_predictions(test["y"], lm.decide(lm.predict_proba(L["test"])), metric, pos)
    probs = lm.predict_proba(L["train"])
    covered = (L["train"] != -1).any(axis=1)
    # as `labeling train`: the CV's weak targets from the label model refit per fold
    refit = FoldLabelModel(lm, L["train"], L["dev"], ctx.y_dev)
    model, report = choose_end_model(ctx.texts["train"], probs, covered, ctx.texts["dev"],
                                     ctx.y_dev, name=end_model, metric=metric, pos_label=pos,
                                     cache_dir=cache / "emb", fold_label_model=refit)
    pred = predict_proba_full(model, test["text"], k).argmax(axis=1)
    return {"label_model": round(float(lm_test), 4),
            "end_model": round(float(score_predictions(test["y"], pred, metric, pos)), 4),
            "choice": f"lm={lm.chosen_} end={report['name']}/w{report.get('weak_weight')}",
            "covered_train": round(float(covered.mean()), 4)}


def run_dataset(name: str, n: int, end_model: str, cache: Path) -> dict:
    start = time.perf_counter()
    ctx, test, (k, metric, pos) = load(name, cache)
    loaded = time.perf_counter()
    result = suggest(ctx, n=n)
    suggested = time.perf_counter()
    rows = result.rows
    for r in rows:
        p = r["proposal"]
        print(f"  {p.id} {ctx.labels[p.label]:>5} {p.describe()[:58]:58} dev {r['dev_correct']}"
              f"/{r['dev_fires']} [{r['dev_precision_low']:.2f}-{r['dev_precision_high']:.2f}]"
              f" train cov {r['train_coverage']:.3f} score {r['score']:.4f}  {p.source}",
              flush=True)
    before_L = {"train": ctx.L["train"], "dev": ctx.L["dev"], "test": test["L"]}
    after_L = {s: np.column_stack([ctx.L[s]] + [r["votes"][s] for r in rows])
               for s in ("train", "dev")}
    after_L["test"] = np.column_stack([test["L"], test_votes(rows, ctx, test["text"])])
    before = scores(ctx, before_L, test, k, metric, pos, end_model, cache)
    after = scores(ctx, after_L, test, k, metric, pos, end_model, cache)
    out = {key: {"before": before[key], "after": after[key]}
           for key in ("label_model", "end_model")}
    out["details"] = {
        "metric": metric, "n_accepted": len(rows), "end_model": end_model,
        "choice": {"before": before["choice"], "after": after["choice"]},
        "covered_train": {"before": before["covered_train"], "after": after["covered_train"]},
        "lm_dev_before": round(result.lm_dev_before, 4),
        "accepted": [{"id": r["proposal"].id, "what": r["proposal"].describe(),
                      "label": ctx.labels[r["proposal"].label], "source": r["proposal"].source,
                      "dev_precision": round(r["dev_precision"], 3),
                      "dev_fires": r["dev_fires"], "score": round(r["score"], 4)} for r in rows],
        "seconds": {"load": round(loaded - start, 1), "suggest": round(suggested - loaded, 1),
                    "score": round(time.perf_counter() - suggested, 1)}}
    return out


def verdict(cell: dict) -> str:
    parts = []
    for key, need in GOALS.items():
        gain = cell[key]["after"] - cell[key]["before"]
        parts.append(f"{key} {cell[key]['before']:.3f} -> {cell[key]['after']:.3f} "
                     f"({gain:+.3f}, x{cell[key]['after'] / max(cell[key]['before'], 1e-9):.3f};"
                     f" goal +{need}: {'met' if gain >= need - 1e-9 else 'MISSED'})")
    return "; ".join(parts)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", metavar="PATH", help="write results as JSON here")
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS)
    parser.add_argument("--n", type=int, default=10, help="proposals accepted")
    parser.add_argument("--end-model", default="auto",
                        help="end model: auto (the pipeline's default) or one candidate, "
                             "e.g. tfidf_logreg (cheap)")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/labeling-bench"),
                        help="MiniLM embeddings and the bundled task's run folder")
    args = parser.parse_args(argv)
    results = {}
    for name in args.datasets:
        print(f"{name}: suggesting (train + dev only)", flush=True)
        results[name] = run_dataset(name, args.n, args.end_model, args.cache)
        print(f"{name}: {verdict(results[name])}  {results[name]['details']['seconds']}",
              flush=True)
        if args.json:  # after each dataset: a late failure loses nothing already done
            Path(args.json).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print()
    for name, cell in results.items():
        print(f"{name:<8} {verdict(cell)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
