"""benchmarks/predict.py measures an open vocabulary too (issue 12, item 27).

Words drawn only from the bundled corpus flatter the fast path's per-word cache, so the
benchmark builds the same texts again with a fraction of fresh random words and reports
both cases, each against the stock baseline on the same texts. Checked here: the novel
words really are outside the corpus, and a small run reports both vocabularies with
fast output identical to stock on each (ratios are not asserted: no timing in tests).

The benchmark is taken from the tree of the ``labeling`` package imported, so running
this file against an old checkout checks that checkout's benchmark.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import labeling
from labeling.export import export_model
from labeling.train.end_model import train_end_model

sys.path.insert(0, str(Path(__file__).parent))
from conftest import load_benchmark  # noqa: E402

TREE = Path(labeling.__file__).resolve().parents[1]
BENCH = TREE / "benchmarks" / "predict.py"


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("predict")


def corpus_words() -> set[str]:
    frames = [pd.read_csv(TREE / "data" / "youtube" / f"{s}.csv") for s in ("train", "dev", "test")]
    return {w for c in pd.concat(frames)["text"].astype(str) for w in c.split()}


def test_open_vocabulary_texts_hold_the_asked_share_of_novel_words(bench):
    known = corpus_words()
    closed = [w for t in bench.make_texts(2_000, seed=3) for w in t.split()]
    opened = [w for t in bench.make_texts(2_000, seed=3, novel=0.3) for w in t.split()]
    assert all(w in known for w in closed)  # the corpus case: every word seen before
    share = np.mean([w not in known for w in opened])
    assert 0.25 < share < 0.35, share  # 30% asked; a random token can hit a corpus word


def test_benchmark_reports_corpus_and_open_vocabulary(tmp_path):
    model = train_end_model(["subscribe to my channel", "check out my channel",
                             "love this song", "great song"],
                            np.eye(2)[[1, 1, 0, 0]], np.ones(4, bool))
    model_dir = export_model(model, tmp_path / "model", {"task": "tiny",
                                                          "labels": ["ham", "spam"]})
    out = tmp_path / "predict.json"
    done = subprocess.run([sys.executable, str(BENCH), "--model", str(model_dir), "--n", "400",
                           "--onnx-n", "40", "--stream-n", "50,100", "--json", str(out)],
                          capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(out.read_text())
    vocabularies = {r.get("vocabulary") for r in report["results"]}
    assert vocabularies == {"corpus", "open (30% novel)"}, vocabularies
    opened = [r for r in report["results"] if r["vocabulary"] != "corpus"]
    assert {r["runtime"] for r in opened} == {"sklearn", "sklearn (stock predict_proba)"}
    assert all(r["docs"] == 400 and "ratio_to_stock" in r for r in opened)
    assert report["fast_equals_stock"] and report["open_fast_equals_stock"]
    assert "open_vs_corpus_fast" in report and "open vocabulary" in done.stdout
