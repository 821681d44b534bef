"""End-model benchmark on WRENCH youtube / sms / trec (vendored in benchmarks/data).

For each dataset the project's label model (``labeling.models.make("auto")``, fit on the
train label matrix + dev label matrix and gold, as in benchmarks/label_models.py) gives
soft labels for train; each end model is then fit on train texts + those labels and,
except the ``weak_only`` anchor, on the dev gold rows too. Test gold is only used to
score. Columns: test score, train seconds (incl. auto's CV; excl. the label model and
embedding, which is cached), model size (skops bytes, deflated), inference docs/s (predict_proba
on the test texts, uncached, one process).

Rows: ``tfidf_logreg_weak_only`` (the old default: soft labels only, no dev rows, no
decision bias), ``tfidf_logreg``, ``minilm_logreg`` and ``tfidf_minilm_avg`` (their
probabilities averaged) (dev rows, label mode chosen by dev CV, and for sms' F1 a
decision bias fit on dev out-of-fold predictions), and ``default`` (``auto`` with its
default options: the TF-IDF + MiniLM average on soft labels, the weak rows' weight
against the gold rows (gold-only included) chosen by 3-fold dev CV repeated with 3 fold
seeds). The gold-budget benchmark (benchmarks/learning_curve.py) compares it with the
gold-only baseline at 50/100/200/all dev rows.

Measured and left out (no gain on sms/trec test vs dropping uncovered rows): training
uncovered rows on the class prior (sms F1 0.86 -> 0.75), self-training on confident
predictions over uncovered rows (+-0.01), TF-IDF + MiniLM features concatenated (trec
0.78 -> 0.65; youtube/sms within 0.01 of the better single model, 10x slower; averaging
their probabilities instead is the ``tfidf_minilm_avg`` candidate). A C grid (tfidf
3/10/30, MiniLM 0.3/1/3/10) moved dev CV scores within the noise of 120-500 dev rows and
is not searched by ``auto``.

    python benchmarks/end_models.py [--json results.json] [--datasets youtube sms]
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))
sys.path.insert(0, str(ROOT))

import wrench_cli  # noqa: E402
from labeling.models import load as load_label_model, make  # noqa: E402
from labeling.train.auto import choose_end_model  # noqa: E402
from labeling.train.end_model import predict_proba_full  # noqa: E402
from labeling.metrics import score_predictions  # noqa: E402

DATA, CACHE = ROOT / "data" / "wrench", ROOT / ".cache"
DATASETS = {"youtube": (2, "accuracy", 1), "sms": (2, "f1", 1), "trec": (6, "accuracy", 1)}
GOALS = {"youtube": 0.95, "sms": 0.92, "trec": 0.75}
# row -> choose_end_model kwargs
END_MODELS = {
    "tfidf_logreg_weak_only": dict(name="tfidf_logreg", label_mode="soft", dev_weight=0.0,
                                   decision_bias=False),
    "tfidf_logreg": dict(name="tfidf_logreg", label_mode="auto"),
    "minilm_logreg": dict(name="minilm_logreg", label_mode="auto"),
    "tfidf_minilm_avg": dict(name="tfidf_minilm_avg", label_mode="auto"),
    "default": dict(name="auto"),  # the pipeline's defaults
}


def load_split(ds: str, split: str) -> dict:
    with open(DATA / ds / f"{split}.json", encoding="utf-8") as f:
        rows = json.load(f)
    return {"L": np.array([r["weak_labels"] for r in rows.values()], dtype=np.int64),
            "y": np.array([r["label"] for r in rows.values()], dtype=np.int64),
            "text": [r["data"]["text"] for r in rows.values()]}


def label_model_probs(ds: str, k: int, train: dict, dev: dict) -> tuple[np.ndarray, object]:
    """Train soft labels from the label model, cached on disk by data and models/ source."""
    models_dir = ROOT.parent / "labeling" / "models"
    source = b"".join(p.read_bytes() for p in sorted(models_dir.glob("*.py")))
    key = hashlib.sha1(source + train["L"].tobytes() + dev["L"].tobytes()
                       + dev["y"].tobytes()).hexdigest()[:16]
    path = CACHE / "label_models" / f"{ds}-{key}.json"
    if path.exists():
        model = load_label_model(path)
        return model.predict_proba(train["L"]), model
    model = make("auto", cardinality=k).fit(train["L"], y_dev=dev["y"], L_dev=dev["L"])
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(path)
    return model.predict_proba(train["L"]), model


def model_size_mb(model) -> float:
    import skops.io as sio

    # Deflated, as labeling.export should write it (stored, TF-IDF vocabularies take ~35x).
    return len(sio.dumps(model, compression=zipfile.ZIP_DEFLATED)) / 1e6


def run(datasets: list[str]) -> tuple[dict, dict]:
    results, notes = {}, {}
    for ds in datasets:
        k, metric, pos_label = DATASETS[ds]
        train, dev, test = (load_split(ds, s) for s in ("train", "valid", "test"))
        probs, label_model = label_model_probs(ds, k, train, dev)
        covered = (train["L"] != -1).any(axis=1)
        lm_pred = label_model.predict_proba(test["L"]).argmax(axis=1)
        label = f"f1(pos={pos_label})" if metric == "f1" else metric
        results[ds] = {"label_model": {"metric": label, "score": round(score_predictions(
            test["y"], lm_pred, metric, pos_label), 4)}}
        notes[ds] = {"label_model": getattr(label_model, "chosen_", "?"),
                     "uncovered_train": round(float(1 - covered.mean()), 3)}
        for row, kwargs in END_MODELS.items():
            start = time.perf_counter()
            model, report = choose_end_model(
                train["text"], probs, covered, dev["text"], dev["y"], metric=metric,
                pos_label=pos_label, cache_dir=CACHE / "embeddings", **kwargs)
            seconds = time.perf_counter() - start
            model.predict_proba(test["text"][:1])  # load MiniLM outside the timing
            start = time.perf_counter()
            pred = predict_proba_full(model, test["text"], k).argmax(axis=1)
            docs_per_s = len(test["text"]) / (time.perf_counter() - start)
            results[ds][row] = {"metric": label, "score": round(score_predictions(
                test["y"], pred, metric, pos_label), 4), "train_seconds": round(seconds, 2),
                "size_mb": round(model_size_mb(model), 3), "docs_per_s": round(docs_per_s)}
            bias = f" bias={report['decision_bias']}" if any(report["decision_bias"]) else ""
            notes[ds][row] = (f"{report['name']}/{report['label_mode']}{bias} "
                              f"cv={report['cv_scores']}")
            print(f"{ds} {row}: {results[ds][row]}  [{notes[ds][row]}]", flush=True)
    return results, notes


def print_table(results: dict, notes: dict) -> None:
    print(f"\n{'dataset':<9}{'end model':<24}{'metric':<13}{'test':>7}{'train s':>9}"
          f"{'MB':>8}{'docs/s':>9}")
    for ds, rows in results.items():
        for row, r in rows.items():
            extra = (f"{r['train_seconds']:>9.1f}{r['size_mb']:>8.2f}{r['docs_per_s']:>9}"
                     if "train_seconds" in r else f"   ({notes[ds]['label_model']})")
            print(f"{ds:<9}{row:<24}{r['metric']:<13}{r['score']:>7.3f}{extra}")
        goal = GOALS[ds]
        status = "met" if rows["default"]["score"] >= goal else "NOT met"
        print(f"{'':9}goal {goal} for default: {status}; uncovered train rows "
              f"{notes[ds]['uncovered_train']:.1%}; default chose {notes[ds]['default']}")


if __name__ == "__main__":
    sys.exit(wrench_cli.main(__doc__, list(DATASETS), run, print_table))
