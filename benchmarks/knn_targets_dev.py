"""Do kNN-smoothed weak targets in MiniLM space beat the default end model? Dev only:
scored on the dev rows OUTSIDE each budget (the protocol of
benchmarks/weak_weight_rest_of_dev.py: its datasets, nested subsamples and label model);
the test split is never loaded.

Each train row's weak target is rebuilt from its ``K`` = 10 nearest neighbours (cosine,
MiniLM embeddings) among the covered train rows (their label-model probabilities) and
the dev gold rows the fit may see (one-hot); a row is never its own neighbour.

- ``knn``: covered rows ``ALPHA`` (0.5) x own probabilities + (1 - ALPHA) x the
  neighbours' mean; uncovered rows (every LF abstained; dropped by the default) the
  neighbours' mean; every train row is a weak row;
- ``knn_uncovered``: covered rows keep their own probabilities; only the uncovered rows
  are added, with the neighbours' mean.

Both go through the library's own CV (``choose_end_model``, same candidates as the
default: the weak weight chosen by dev CV) with the smoothed targets as the weak rows'
targets: ``probs`` = the targets built with the label model and gold of the whole
budget (the final fit), and as ``fold_label_model`` an object whose ``probs(dev rows)``
rebuilds them from the label model refit on those dev rows (``FoldLabelModel``) with
only those rows as gold neighbours, so a held-out fold's gold never reaches the targets
its predictions are fit on. Parameters fixed before the run (docs/gold_budget.md).

Columns: ``default``, ``gold_only``, ``knn``, ``knn_uncovered``, ``label_model``; the
mean over seeds and the difference to ``default``.
Results and the decision (tried, not kept: level with the default over 4 datasets x
50/100 labels, trec 50 -0.022): docs/gold_budget.md, "kNN-smoothed weak targets".

    python benchmarks/knn_targets_dev.py [--datasets trec youtube] [--budgets 50 100]
        [--seeds 5] [--cache DIR] [--json PATH]

JSON: ``{dataset: {budget: {model: {"mean", "scores"}, "choices": {model: [..]},
"n_rest", "metric", "seconds"}}}``.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from learning_curve import load_dataset  # noqa: E402
from weak_weight_rest_of_dev import SIZES, Budget, candidate_key_of, column, summarise_cell  # noqa: E402,E501
from weak_weight_rest_of_dev import main as budget_main  # noqa: E402
from labeling.train.auto import choose_end_model  # noqa: E402
from labeling.train.embeddings import MiniLMEmbedder  # noqa: E402
from labeling.train.gold_only import gold_only_baseline  # noqa: E402
from labeling.train.learning_curve import nested_subsamples  # noqa: E402

K, ALPHA = 10, 0.5  # fixed before measuring (docs/gold_budget.md), not tuned
VARIANTS = ("knn", "knn_uncovered")
MODELS = ("default", "gold_only", *VARIANTS, "label_model")


class KnnTargets:
    """Smoothed weak targets of every train row. ``X_train``/``X_dev``: unit-length
    embeddings (dev rows in the CV's order); ``label_probs(dev rows)``: the train rows'
    label-model probabilities fit with those dev rows' gold; ``uncovered_only``: the
    ``knn_uncovered`` variant. ``probs(dev rows)``: targets using only those dev rows
    (as label-model gold and as neighbours); :attr:`full` uses all of them."""

    def __init__(self, X_train, X_dev, covered, y_dev, k_classes, label_probs,
                 uncovered_only=False, n_neighbors=K, alpha=ALPHA, chunk=1024):
        self.covered = np.asarray(covered, dtype=bool)
        self.y_dev = np.asarray(y_dev, dtype=int)
        self.k, self.label_probs = k_classes, label_probs
        self.uncovered_only, self.n, self.alpha = uncovered_only, n_neighbors, alpha
        X_train, X_dev = np.asarray(X_train, np.float32), np.asarray(X_dev, np.float32)
        pool = np.flatnonzero(self.covered)
        self.pool = pool
        # each train row's n nearest covered train rows, self excluded (ties: lower index)
        m = min(n_neighbors, len(pool) - 1) if len(pool) > 1 else 0
        self.train_nb = np.zeros((len(X_train), m), dtype=int)
        self.train_sim = np.zeros((len(X_train), m), dtype=np.float32)
        for start in range(0, len(X_train), chunk):
            rows = np.arange(start, min(start + chunk, len(X_train)))
            sim = X_train[rows] @ X_train[pool].T
            sim[pool[None, :] == rows[:, None]] = -np.inf  # never its own neighbour
            top = np.argsort(-sim, axis=1, kind="stable")[:, :m]
            self.train_nb[rows] = top
            self.train_sim[rows] = np.take_along_axis(sim, top, axis=1)
        self.dev_sim = X_train @ X_dev.T  # n_train x n_dev
        self._memo: dict[bytes, np.ndarray] = {}

    @property
    def full(self) -> np.ndarray:
        return self.probs(np.arange(len(self.y_dev)))

    def probs(self, dev_rows) -> np.ndarray:
        dev_rows = np.sort(np.asarray(dev_rows, dtype=int))
        key = dev_rows.tobytes()
        if key not in self._memo:
            self._memo[key] = self._targets(dev_rows)
        return self._memo[key]

    def _targets(self, dev_rows) -> np.ndarray:
        own = np.asarray(self.label_probs(dev_rows), dtype=float)
        values = np.vstack([own[self.pool], np.eye(self.k)[self.y_dev[dev_rows]]])
        dev_cols = len(self.pool) + np.arange(len(dev_rows))  # rows of ``values``
        cand = np.hstack([self.train_nb, np.broadcast_to(dev_cols, (len(own), len(dev_cols)))])
        sim = np.hstack([self.train_sim, self.dev_sim[:, dev_rows]])
        top = np.argsort(-sim, axis=1, kind="stable")[:, :self.n]
        neighbours = values[np.take_along_axis(cand, top, axis=1)].mean(axis=1)
        mix = self.alpha * own + (1 - self.alpha) * neighbours
        if self.uncovered_only:
            mix = own
        return np.where(self.covered[:, None], mix, neighbours)


def score_subsample(data, idx, k, metric, pos, cache_dir, X_train, X_dev_all):
    b = Budget(data, idx, k, metric, pos)
    train, y_dev, dev_texts, rest_score = data["train"], b.y_dev, b.dev_texts, b.rest_score
    probs, covered, refit = b.probs, b.covered, b.refit
    common = dict(metric=metric, pos_label=pos, cache_dir=cache_dir)
    scores, choices = {}, {}

    def fit(name, probs, covered, fold):
        model, report = choose_end_model(train["text"], probs, covered, dev_texts, y_dev,
                                         fold_label_model=fold, **common)
        scores[name], choices[name] = rest_score(model), column(candidate_key_of(report))

    fit("default", probs, covered, refit)
    scores["gold_only"] = rest_score(gold_only_baseline(dev_texts, y_dev, k, metric=metric,
                                                        pos_label=pos,
                                                        cache_dir=cache_dir)[0])

    def label_probs(rows):  # the budget's own fit for all rows, the refit for a fold's
        return probs if len(rows) == len(y_dev) else refit.probs(rows)

    for name in VARIANTS:
        smooth = KnnTargets(X_train, X_dev_all[idx], covered, y_dev, k, label_probs,
                            uncovered_only=name == "knn_uncovered")
        fit(name, smooth.full, np.ones(len(covered), dtype=bool), smooth)
    scores["label_model"] = b.label_model_score()
    return scores, choices


def embed(texts, cache) -> np.ndarray:
    return MiniLMEmbedder(cache_dir=str(cache)).transform(list(texts))


def run(datasets, budgets, n_seeds, cache: Path, json_path=None) -> dict:
    results = json.loads(Path(json_path).read_text()) if json_path and Path(json_path).exists() \
        else {}
    for ds in datasets:
        data, (k, metric, pos) = load_dataset(ds, cache, wanted=("train", "valid"))
        X_train, X_dev = embed(data["train"]["text"], cache), embed(data["valid"]["text"], cache)
        subsamples = nested_subsamples(data["valid"]["y"], list(SIZES), n_seeds, seed=0)
        results[ds] = {}
        for budget in budgets:
            start, cell = time.perf_counter(), {m: [] for m in MODELS}
            chosen = {m: [] for m in ("default", *VARIANTS)}
            for seed in range(n_seeds):
                t0 = time.perf_counter()
                idx = subsamples[seed][SIZES.index(budget)]
                scores, choices = score_subsample(data, idx, k, metric, pos, cache,
                                                  X_train, X_dev)
                for m in MODELS:
                    cell[m].append(round(float(scores[m]), 4))
                for m in chosen:
                    chosen[m].append(choices[m])
                print(f"{ds} {budget}:{seed} ({time.perf_counter() - t0:.0f} s) "
                      + " ".join(f"{m} {scores[m]:.3f}" for m in MODELS)
                      + " | chose " + " ".join(f"{m}={c}" for m, c in choices.items()),
                      flush=True)
            results[ds][str(budget)] = summarise_cell(
                cell, "default", ds, budget, data, start, {"choices": chosen, "metric": metric})
            if json_path:
                Path(json_path).write_text(json.dumps(results, indent=1))
    return results


if __name__ == "__main__":
    budget_main(run, ("trec", "youtube", "sms", "bundled"), __doc__)
