"""The LF loop on a multi-label task (#15): `labeling show LF [--wrong]`, `labeling dev`,
and the record of the annotations a run used (annotations_used.json).

Tiny data (tests/test_multilabel.py) plus two LFs on joy that make mistakes: one says
joy applies on "today"/"now" (wrong on anger-only rows), one says it does not apply on
"hate" (wrong where gold has joy too, and in conflict with kw_joy there).
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rich.console import Console
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent))
from test_dev_loop import Loop, _edit  # noqa: E402
from test_multilabel import LABELS, LFS, _rows  # noqa: E402

from labeling import artifacts, dev_loop_multilabel, multilabel_steps, pipeline  # noqa: E402
from labeling.cli import app  # noqa: E402
from labeling.config import load_config  # noqa: E402
from labeling.gold import AnnotationStore  # noqa: E402
from labeling.review import ml_show  # noqa: E402
from labeling.review.ml_project import load_multilabel_run  # noqa: E402
from labeling.session import Session  # noqa: E402
from labeling.errors import LabelingError  # noqa: E402

EXTRA = '''
noisy_joy = for_label("joy", keyword_lf(["today", "now"], label=APPLIES, name="kw_joy_noisy"))
not_joy = for_label("joy", keyword_lf(["hate"], label=DOES_NOT_APPLY, name="kw_not_joy"))
'''


def write_project(root: Path, label_model: str = "mv") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "lfs.py").write_text(LFS + EXTRA, encoding="utf-8")
    _rows(200, 1).drop(columns="labels").to_csv(root / "train.csv", index=False)
    _rows(60, 2).to_csv(root / "dev.csv", index=False)
    _rows(40, 3).to_csv(root / "test.csv", index=False)
    (root / "labeling.toml").write_text(f'''name = "ml"
labels = {json.dumps(LABELS)}
multi_label = true
lfs = ["lfs.py"]

[data]
train = "train.csv"
dev = "dev.csv"
test = "test.csv"
label_column = "labels"

[label_model]
name = "{label_model}"

[end_model]
name = "tfidf_logreg"
''', encoding="utf-8")
    return root / "labeling.toml"


@pytest.fixture(scope="module")
def fitted(tmp_path_factory) -> Path:
    """The project after `labeling apply` and `labeling fit` (what `show` reads)."""
    config = write_project(tmp_path_factory.mktemp("ml_loop"))
    task = pipeline.load_task(config)
    multilabel_steps.step_apply(task)
    multilabel_steps.step_fit(task)
    return config


def _cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def _expected(config: Path, lf: str, wrong: bool) -> list[str]:
    """From the files alone: dev rows where ``lf`` votes (and, if ``wrong``, its vote is
    not whether gold holds joy)."""
    L = pd.read_parquet(config.parent / "runs/ml/L.parquet").xs("dev", level="split")
    dev = pd.read_csv(config.parent / "dev.csv", dtype=str).set_index("id")
    has_joy = dev.loc[L.index, "labels"].str.split(";").map(lambda s: "joy" in s).astype(int)
    mask = (L[lf] != -1) & ((L[lf] != has_joy) if wrong else True)
    return list(L.index[mask])


# --- labeling show ------------------------------------------------------------------

@pytest.mark.parametrize("lf", ["kw_not_joy", "kw_joy_noisy"])
def test_show_wrong_lists_the_rows_whose_vote_disagrees_with_gold(fitted, lf):
    """Before: `labeling show` on a multi-label run stopped with 'no finished run
    (missing lf_summary.csv)'."""
    expected = _expected(fitted, lf, wrong=True)
    assert expected  # the fixture's LFs do make mistakes
    result = _cli("show", lf, "--wrong", "-c", fitted, "--limit", "100")
    assert result.exit_code == 0, result.output
    assert f"{lf} (votes on joy: +joy applies, -joy does not) is wrong on " \
           f"{len(expected)} dev rows" in result.output
    for example_id in expected:
        assert f"│ {example_id} " in result.output
    table = ml_show.lf_examples(load_multilabel_run(fitted), lf, "wrong")
    assert list(table["id"]) == expected
    vote = "-joy" if lf == "kw_not_joy" else "+joy"
    assert (table["vote"] == vote).all()
    # a wrong "does not apply" has joy in gold; a wrong "applies" has none
    has_joy = table["gold"].str.contains("joy")
    assert has_joy.all() if lf == "kw_not_joy" else not has_joy.any()


def test_show_fires_lists_every_vote_with_gold_and_label_model(fitted):
    result = _cli("show", "kw_joy_noisy", "-c", fitted, "--limit", "3")
    assert result.exit_code == 0, result.output
    fires = _expected(fitted, "kw_joy_noisy", wrong=False)
    assert f"fires on {len(fires)} dev rows (first 3)" in result.output
    header = next(line for line in result.output.splitlines() if "┃ id" in line)
    assert [c.strip() for c in header.strip("┃ ").split("┃")] == [
        "id", "vote", "gold", "label_model", "p_joy", "text"]
    with pytest.raises(LabelingError, match="the test split is for the final score"):
        ml_show.lf_examples(load_multilabel_run(fitted), "kw_joy_noisy", split="test")
    train = ml_show.lf_examples(load_multilabel_run(fitted), "kw_joy_noisy", split="train")
    assert "gold" not in train and len(train)


def test_show_conflicts_only_with_lfs_on_the_same_label(fitted):
    run = load_multilabel_run(fitted)
    table = ml_show.lf_examples(run, "kw_not_joy", "conflicts", other="kw_joy")
    L = run.L["dev"]
    a, b = L[:, run.lf_names.index("kw_not_joy")], L[:, run.lf_names.index("kw_joy")]
    assert list(table["id"]) == list(run.frames["dev"]["id"][(a != -1) & (b != -1) & (a != b)])
    result = _cli("show", "kw_not_joy", "--conflicts", "kw_anger", "-c", fitted)
    assert result.exit_code == 2
    assert result.output.strip() == ("error: LF kw_anger votes on anger, LF kw_not_joy on "
                                     "joy: LFs conflict only on the same label")


@pytest.mark.parametrize("args, message", [
    (["nope"], "error: no LF named 'nope' in the last run"),
    (["kw_joy", "--wrong", "--split", "train"],
     "error: the train split has no gold label sets: choose dev for --wrong"),
    (["kw_joy", "--split", "test"], "error: the test split is for the final score"),
])
def test_show_bad_input_is_one_line(fitted, args, message):
    result = _cli("show", *args, "-c", fitted)
    assert result.exit_code == 2
    assert result.output.startswith(message) and len(result.output.strip().splitlines()) == 1


# --- annotations_used.json ----------------------------------------------------------

def test_a_run_records_the_annotations_it_used(fitted, tmp_path):
    """Before: a multi-label apply wrote no annotations_used.json, so the app and `show`
    rebuilt the run's dev split from the *current* annotations: a dev row relabeled
    after the run showed the new set as the gold the run had scored against."""
    shutil.copytree(fitted.parent, tmp_path / "p", ignore=shutil.ignore_patterns("runs"))
    config = load_config(tmp_path / "p" / "labeling.toml")
    before = pipeline.load_task(config.source)
    dev_id, train_id = before.splits["dev"]["id"].iloc[0], before.splits["train"]["id"].iloc[0]
    store = AnnotationStore(config.annotations_path)
    store.set_label_set("ml", dev_id, [0, 1], split="dev", labels=LABELS)
    store.set_label_set("ml", train_id, [2], split="train", labels=LABELS)
    task = pipeline.load_task(config.source)
    multilabel_steps.step_apply(task)
    multilabel_steps.step_fit(task)
    used = json.loads((config.run_dir / artifacts.ANNOTATIONS_USED_FILE).read_text())
    assert used == {"dev": {dev_id: [0, 1]}, "train": {train_id: [2]}}

    store.set_label_set("ml", dev_id, [2], split="dev", labels=LABELS)  # after the run
    run = load_multilabel_run(config.source)
    assert run.gold_source == "the run's record of annotations"
    dev = run.frames["dev"].set_index("id")
    assert dev.loc[dev_id, "label"] == (0, 1) and dev.loc[train_id, "label"] == (2,)


# --- labeling dev -------------------------------------------------------------------

def test_dev_loop_on_a_multilabel_task(tmp_path):
    """A real `labeling dev` process. Before: every save printed 'error: TypeError: int()
    argument must be ... not 'tuple'' (the single-label fit on label sets)."""
    config = write_project(tmp_path / "p")
    lfs = config.parent / "lfs.py"
    loop = Loop(config)
    try:
        first = loop.until_table()
        assert "error" not in first, first
        row = next(line for line in first.splitlines() if "kw_joy_noisy" in line)
        assert "joy" in row.split("│")[2]  # its label column
        assert "label model (mv) on dev: macro-F1" in first and "micro-F1" in first
        assert "majority vote (mv) on dev" in first
        assert "test" not in first.lower()

        _edit(lfs, '["happy", "glad", "great"]', '["happy"]')  # kw_joy covers less
        second = loop.until_table()
        kw_joy = next(line for line in second.splitlines() if "│ kw_joy " in line)
        assert "-0." in kw_joy  # its coverage fell, shown as a change
        assert "dev rows whose label-model label set changed:" in second
        assert "test" not in second.lower()

        joy = 'for_label("joy", keyword_lf(["happy"]'
        fear = joy.replace('"joy"', '"fear"')
        _edit(lfs, joy, fear)  # a target that is not a label
        bad = loop.until_table()
        assert "error: LF kw_joy: target label 'fear' is not one of the labels" in bad

        _edit(lfs, fear, joy)
        fixed = loop.until_table()
        assert "error" not in fixed and "kw_joy" in fixed
    finally:
        loop.proc.send_signal(signal.SIGINT)
        try:
            loop.proc.wait(timeout=120)  # a bound against a hang, not a timing
        except subprocess.TimeoutExpired:
            loop.proc.kill()
            raise
    loop.reader.join(timeout=10)
    rest = "".join(loop.lines.queue)
    assert loop.proc.returncode == 0, rest
    assert "Traceback" not in "".join(loop.seen) + rest


def test_dev_tables_show_precision_intervals_and_autos_choices(tmp_path):
    session = Session(write_project(tmp_path / "p", label_model="auto"))
    first = dev_loop_multilabel.take_snapshot(session.task)
    lfs = first.lfs
    # kw_not_joy never says "applies": no precision, no interval
    assert lfs.loc["kw_not_joy", "dev_applies"] == 0
    assert np.isnan(lfs.loc["kw_not_joy", "dev_precision"])
    noisy = lfs.loc["kw_joy_noisy"]
    assert noisy["low"] < noisy["dev_precision"] < noisy["high"]
    assert set(first.labels["chosen"]) <= {"mv", "dawid_skene", "weighted_vote"}
    assert "oof_macro_f1" in first.scores["label_model"]

    previous = dev_loop_multilabel.take_snapshot(session.task)
    previous.labels.loc["joy", "chosen"] = "some_other_model"  # as if the last save chose it
    previous.scores["label_model"]["macro_f1"] -= 0.25
    previous.lfs.loc["kw_joy", "dev_precision"] -= 0.5
    previous.dev_sets.iloc[:3] = "nothing"
    console = Console(record=True, width=200)
    dev_loop_multilabel.render(first, previous, console)
    text = console.export_text()
    assert f"{first.labels.loc['joy', 'chosen']} (was some_other_model)" in text
    assert "label model (auto: chose " in text and "[macro-F1 +0.250]" in text
    kw_joy = next(line for line in text.splitlines() if "│ kw_joy " in line)
    assert kw_joy.rstrip(" │").endswith("+0.500")
    assert "dev rows whose label-model label set changed: 3" in text
    assert "test" not in text.lower()


def _best_threshold_by_sklearn(y, p):
    """The threshold search as first written: sklearn's f1_score at every cut."""
    from sklearn.metrics import f1_score

    if np.sum(y) == 0:
        return 0.5, 0.0
    values = np.unique(p)
    cuts = np.concatenate([[values[0]], (values[1:] + values[:-1]) / 2]) \
        if len(values) > 1 else values
    best = (0.5, -1.0)
    for t in cuts[::-1]:
        f = f1_score(y, p >= t, zero_division=0)
        if f > best[1] + 1e-12:
            best = (float(t), float(f))
    return best


def test_counted_threshold_search_equals_the_sklearn_one():
    """Every save of `labeling dev` refits the per-label models and their thresholds: the
    search counts instead of calling f1_score per cut, and must pick the same cut (ties
    to the higher one) with the same F1."""
    from labeling.models.multilabel import best_threshold

    rng = np.random.default_rng(0)
    for i in range(300):
        n = int(rng.integers(1, 40))
        y = (rng.random(n) < rng.random()).astype(int)
        p = np.round(rng.random(n), int(rng.integers(1, 3))) if i % 2 else rng.random(n)
        got, want = best_threshold(y, p), _best_threshold_by_sklearn(y, p)
        assert got[0] == want[0] and got[1] == pytest.approx(want[1], abs=1e-12), (y, p)
