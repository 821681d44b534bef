"""The review app on a multi-label run (#15): its own pages render, their per-label
numbers equal the library's (lf_analysis.csv, metrics.json, L/probs/end_probs.parquet),
examples show label sets, and a label set annotated in the app is stored as ';'-joined
names and read as dev gold by the next run (test annotations never are).

The run: a small sample of the bundled GoEmotions Ekman task (label model mv, TF-IDF end
model) plus one extra LF voting that joy does *not* apply, so labels have conflicts.
"""

from __future__ import annotations

import shutil
import sqlite3
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from labeling import multilabel_steps, pipeline
from labeling.config import load_config
from labeling.gold import (AnnotationStore, apply_gold, label_set_record, parse_label_set,
                           text_digest, valid_gold)
from labeling.models.multilabel import multilabel_scores
from labeling.review.ml_project import load_multilabel_run
from labeling.review.sample import write_sample_project

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "app"))
ENTRY = str(REPO_ROOT / "app" / "streamlit_app.py")
LABELS = ["anger", "disgust", "fear", "joy", "sadness", "surprise", "neutral"]
PAGES = ["ml_overview", "ml_labels", "ml_examples", "ml_example", "ml_annotate", "run"]
EXTRA_LFS = '''\
from labeling.lf.core import DOES_NOT_APPLY, for_label, keyword_lf

not_joy = for_label("joy", keyword_lf(["but", "not", "sorry", "sad", "hate", "worst"],
                                      label=DOES_NOT_APPLY, name="kw_not_joy"))
'''
SIZES = {"train": 160, "dev": 80, "test": 60}


def _project(out: Path) -> Path:
    """The sample project (not run): GoEmotions rows, the bundled LFs + kw_not_joy."""
    config = write_sample_project(REPO_ROOT / "data" / "goemotions" / "labeling.toml", out,
                                  sizes=SIZES, label_model="mv", end_model="tfidf_logreg")
    (out / "extra_lfs.py").write_text(EXTRA_LFS, encoding="utf-8")
    text = config.read_text(encoding="utf-8")
    bundled = load_config(config).lfs
    assert len(bundled) == 1
    config.write_text(text.replace(f"lfs = [{_quoted(bundled[0])}]",
                                   f"lfs = [{_quoted(bundled[0])}, \"extra_lfs.py\"]"),
                      encoding="utf-8")
    assert load_config(config).lfs[-1] == "extra_lfs.py"
    return config


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@pytest.fixture(scope="session")
def ml_project(tmp_path_factory) -> Path:
    config = _project(tmp_path_factory.mktemp("ml_app"))
    multilabel_steps.run(pipeline.load_task(config), export=False)
    return config


@pytest.fixture
def own_project(ml_project, tmp_path) -> Path:
    """A copy of the run project (data, config, run folder) this test may annotate."""
    shutil.copytree(ml_project.parent, tmp_path / "p")
    return tmp_path / "p" / "labeling.toml"


def _app(project: Path, monkeypatch, annotations: Path | None = None) -> AppTest:
    monkeypatch.setenv("LABELING_PROJECT", str(project))
    monkeypatch.delenv("LABELING_RUN_DIR", raising=False)
    if annotations is None:
        monkeypatch.delenv("LABELING_ANNOTATIONS", raising=False)
    else:
        monkeypatch.setenv("LABELING_ANNOTATIONS", str(annotations))
    at = AppTest.from_file(ENTRY, default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    return at


@pytest.fixture
def app(ml_project, tmp_path, monkeypatch) -> AppTest:
    return _app(ml_project, monkeypatch, tmp_path / "annotations.sqlite")


def page(at: AppTest, name: str) -> AppTest:
    at.switch_page(f"views/{name}.py").run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return at


# --- the page set -------------------------------------------------------------------

def test_a_multilabel_run_opens_on_its_own_overview(app):
    """Before: the single-label loader called the run unfinished (no lf_summary.csv) and
    offered to run the single-label pipeline, which failed on label sets."""
    assert [t.value for t in app.title] == ["Overview"]
    assert not app.error and "no_run_message" not in app.session_state
    assert any("Multi-label task" in c.value for c in app.caption)


@pytest.mark.parametrize("name", PAGES)
def test_every_page_renders(app, name):
    page(app, name)
    assert app.title


# --- per-label numbers --------------------------------------------------------------

def test_scores_equal_metrics_json(app, ml_project):
    run = load_multilabel_run(ml_project)
    scores = run.metrics["multi_label"]["scores"]
    page(app, "ml_overview")
    table = app.dataframe[1].value
    end = table[table["model"].str.startswith("end model") & (table["split"] == "test")]
    assert end["macro_f1"].iloc[0] == round(scores["end_model"]["test"]["macro_f1"], 3)
    assert end["micro_f1"].iloc[0] == round(scores["end_model"]["test"]["micro_f1"], 3)
    per_label = app.dataframe[2].value.set_index("label")
    for name in LABELS:
        assert per_label.loc[name, "majority vote (the label model)"] == round(
            scores["label_model_mv"]["test"]["per_label"][name]["f1"], 3)
        assert per_label.loc[name, "support"] == scores["end_model"]["test"]["per_label"][
            name]["support"]
    # the sets the app shows are the ones the run scored: recomputed, they give its scores
    Y = run.gold("test")
    assert multilabel_scores(Y, run.label_model_sets("test"), LABELS)["macro_f1"] == \
        pytest.approx(scores["label_model_mv"]["test"]["macro_f1"])
    assert multilabel_scores(Y, run.end_sets("test"), LABELS)["macro_f1"] == \
        pytest.approx(scores["end_model"]["test"]["macro_f1"])


def test_per_label_coverage_and_conflicts_equal_the_library(app, ml_project):
    run_dir = load_config(ml_project).run_dir
    analysis = pd.read_csv(run_dir / multilabel_steps.LF_ANALYSIS_FILE).set_index("lf")
    page(app, "ml_labels")
    stats = app.dataframe[0].value.set_index("label")
    assert list(stats.index) == LABELS
    # kw_not_joy is joy's only "does not apply" voter: a conflict on joy is one of its
    # conflicts in lf_analysis.csv, and conversely
    assert stats.loc["joy", "conflict"] == pytest.approx(analysis.loc["kw_not_joy",
                                                                      "conflicts"], abs=1e-4)
    assert stats.loc["joy", "conflict"] > 0
    for label, lfs in analysis.groupby("label"):
        if len(lfs) == 1:  # one LF: the label's coverage is that LF's, and no conflict
            assert stats.loc[label, "coverage"] == pytest.approx(lfs["coverage"].iloc[0],
                                                                 abs=1e-4)
            assert stats.loc[label, "conflict"] == 0
        assert stats.loc[label, "lfs"] == len(lfs)
    shown_lfs = app.dataframe[1].value
    assert list(shown_lfs["lf"]) == list(analysis.index)
    assert np.allclose(shown_lfs["coverage"], analysis["coverage"])


def test_conflicting_pair_lists_the_rows_they_disagree_on(app, ml_project):
    run_dir = load_config(ml_project).run_dir
    L = pd.read_parquet(run_dir / "L.parquet").xs("train", level="split")
    page(app, "ml_labels")
    pairs = app.dataframe[2].value
    picked = pairs.iloc[app.selectbox(key="ml_lab_pair").value]
    assert picked["label"] == "joy" and "kw_not_joy" in (picked["lf_a"], picked["lf_b"])
    a, b = picked["lf_a"], picked["lf_b"]
    assert picked["rows"] == ((L[a] >= 0) & (L[b] >= 0) & (L[a] != L[b])).sum()
    disagree = (L[a] >= 0) & (L[b] >= 0) & (L[a] != L[b])
    shown = app.dataframe[3].value
    assert sorted(shown["id"]) == sorted(L.index[disagree])
    assert (shown["lf_votes"].str.contains(r"\+joy") & shown["lf_votes"].str.contains("-joy")).all()


def test_examples_show_gold_and_model_label_sets(app, ml_project):
    config = load_config(ml_project)
    run = load_multilabel_run(ml_project)
    page(app, "ml_examples")  # dev by default
    table = app.dataframe[0].value.set_index("id")
    dev = pd.read_csv(ml_project.parent / "data" / "dev.csv", dtype=str).set_index("id")
    for example_id in dev.index[:20]:
        names = sorted(dev.loc[example_id, "ekman"].split(";"), key=LABELS.index)
        assert table.loc[example_id, "gold"] == "; ".join(names)
    probs = pd.read_parquet(config.run_dir / "probs.parquet").xs("dev", level="split")
    end = pd.read_parquet(config.run_dir / "end_probs.parquet").xs("dev", level="split")
    thresholds = run.metrics["multi_label"]["end_model"]["thresholds"]
    for example_id in dev.index[:20]:
        lm = [n for n in LABELS if probs.loc[example_id, f"pred_{n}"] == 1]
        em = [n for n in LABELS if end.loc[example_id, f"p_{n}"] >= thresholds[n]]
        assert table.loc[example_id, "label_model"] == ("; ".join(lm) or "∅")
        assert table.loc[example_id, "end_model"] == ("; ".join(em) or "∅")
    app.selectbox(key="ml_ex_slice").select("label_model_wrong").run()
    wrong = app.dataframe[0].value
    assert len(wrong) and (wrong["gold"] != wrong["label_model"]).all()
    app.selectbox(key="ml_ex_label").select("anger").run()
    assert all("anger" in " ".join(r) for r in wrong_rows(app.dataframe[0].value))


def wrong_rows(table: pd.DataFrame):
    return table[["gold", "lf_votes", "label_model", "majority_vote", "end_model"]].to_numpy()


def test_example_detail_per_label_table(app, ml_project):
    run = load_multilabel_run(ml_project)
    page(app, "ml_example")
    example_id = run.frames["test"]["id"].iloc[3]
    app.selectbox(key="ml_detail_select").select(("test", example_id)).run()
    assert not app.exception and not app.error
    assert app.text_area[0].value == run.frames["test"]["text"].iloc[3]
    labels = app.dataframe[0].value.set_index("label")
    assert list(labels["gold"]) == list(run.gold("test")[3])
    assert np.allclose(labels["label_model_p"], run.label_model_proba("test")[3].round(3))
    assert len(app.dataframe[1].value) == len(run.lf_names)
    assert any("never used as dev gold" in w.value for w in app.warning)


# --- annotating label sets ----------------------------------------------------------

def test_label_sets_are_stored_as_names_and_read_back():
    assert label_set_record([5, 3], LABELS) == (2 ** 3 + 2 ** 5, "joy;surprise")
    assert parse_label_set("joy;surprise", LABELS) == (3, 5)
    assert parse_label_set("joy;happy", LABELS) is None and parse_label_set("", LABELS) is None
    with pytest.raises(Exception, match="at least one label"):
        label_set_record([], LABELS)


def test_valid_gold_reads_sets_only_for_multilabel_tasks(tmp_path):
    store = AnnotationStore(tmp_path / "a.sqlite")
    store.set_label_set("t", "d1", [3, 5], split="dev", labels=LABELS)
    store.set_label_set("t", "r1", [0], split="train", labels=LABELS)
    store.set_label_set("t", "x1", [6], split="test", labels=LABELS)
    store.set("t", "d2", 0, split="dev", label_name="happy")  # a label the task lost
    gold, skipped = valid_gold(store, "t", LABELS, multi_label=True)
    assert gold == {"train": {"r1": (0,)}, "dev": {"d1": (3, 5)}}
    assert skipped == {"ignored": 1, "text_changed": 0, "test_not_used": 1}
    # a single-label task reads annotations by name: a set of one label is that label,
    # a larger set is ignored (its mask is no class index and is never read as one)
    single, skipped = valid_gold(store, "t", LABELS)
    assert single == {"train": {"r1": 0}, "dev": {}} and skipped["ignored"] == 2


def test_apply_gold_moves_train_rows_with_their_label_sets():
    dev = pd.DataFrame({"id": ["d1"], "text": ["x"], "label": pd.Series([(6,)], dtype=object)})
    train = pd.DataFrame({"id": ["r1", "r2"], "text": ["a", "b"]})
    out, report = apply_gold({"train": train, "dev": dev},
                             {"dev": {"d1": (3, 5)}, "train": {"r1": (0, 2)}})
    assert out["dev"]["label"].tolist() == [(3, 5), (0, 2)]  # fails before: int64 cast
    assert report["moved_from_train"] == 1 and list(out["train"]["id"]) == ["r2"]


def _tick(at: AppTest, wanted: set[str]) -> None:
    for box in at.checkbox:
        box.set_value(box.label in wanted)


def test_annotating_a_label_set_reaches_the_next_runs_gold(own_project, monkeypatch):
    config = load_config(own_project)
    before = pipeline.load_task(own_project)
    dev_id = before.splits["dev"]["id"].iloc[0]
    train_id = before.splits["train"]["id"].iloc[0]
    test_id, test_gold = before.splits["test"]["id"].iloc[0], before.splits["test"]["label"].iloc[0]
    at = _app(own_project, monkeypatch)  # the config's own annotations.sqlite

    page(at, "ml_example")
    for split, example_id, wanted in (("dev", dev_id, {"joy", "surprise"}),
                                      ("train", train_id, {"anger", "fear"}),
                                      ("test", test_id, {"disgust"})):
        at.selectbox(key="ml_detail_select").select((split, example_id)).run()
        _tick(at, wanted)
        at.button(key=f"ml_detail_ann-{split}-{example_id}-save").click().run()
        assert not at.exception and not at.error
    store = AnnotationStore(config.annotations_path)
    rows = store.table(config.name).set_index("example_id")
    assert rows.loc[dev_id, "label_name"] == "joy;surprise"
    assert rows.loc[dev_id, "label"] == 2 ** 3 + 2 ** 5
    dev_text = before.splits["dev"].set_index("id").loc[dev_id, "text"]  # recorded as a digest
    assert sqlite3.connect(config.annotations_path).execute(
        "SELECT text_sha FROM annotations WHERE example_id = ?", (dev_id,)
    ).fetchone()[0] == text_digest(dev_text)

    task = pipeline.load_task(own_project)  # what the next run starts from
    dev = task.splits["dev"].set_index("id")
    assert dev.loc[dev_id, "label"] == (3, 5)
    assert dev.loc[train_id, "label"] == (0, 2)  # moved from train into dev gold
    assert train_id not in set(task.splits["train"]["id"])
    assert test_id not in set(dev.index) | set(task.splits["train"]["id"])
    assert task.splits["test"].set_index("id").loc[test_id, "label"] == test_gold
    assert task.annotation_report["test_not_used"] == 1

    multilabel_steps.step_apply(task)  # the next run: its gold has one dev row more
    section = multilabel_steps.step_fit(task)["multi_label"]
    assert section["scores"]["label_model_mv"]["dev"]["n"] == len(before.splits["dev"]) + 1
    after = load_multilabel_run(own_project)  # and the app shows that run
    assert after.frames["dev"].set_index("id").loc[train_id, "label"] == (0, 2)
    assert after.end_proba is None  # the end model predates the new dev row: not shown
    at = _app(own_project, monkeypatch)
    for name in ("ml_overview", "ml_examples", "ml_annotate"):
        page(at, name)


def test_annotate_page_ticks_labels_and_an_empty_set_is_refused(app, ml_project,
                                                                      tmp_path):
    run = load_multilabel_run(ml_project)
    page(app, "ml_annotate")
    example_id = app.text_area[0].key.removeprefix("ml_ann_text_")
    split = app.selectbox(key="ml_ann_split").value
    _tick(app, set())
    app.button(key=f"ml_ann-{split}-{example_id}-save").click().run()
    assert any("at least one label" in w.value for w in app.warning)
    store = AnnotationStore(tmp_path / "annotations.sqlite")
    assert store.table(run.config.name).empty
    app.checkbox(key=f"ml_ann-{split}-{example_id}-3").check().run()  # what key 4 does: joy
    app.checkbox(key=f"ml_ann-{split}-{example_id}-6").check().run()  # key 7's: neutral
    app.button(key=f"ml_ann-{split}-{example_id}-save").click().run()
    assert not app.exception and not app.error
    assert store.label_sets_for(run.config.name, split, [example_id], LABELS) == {
        example_id: (3, 6)}
    assert app.text_area[0].key != f"ml_ann_text_{example_id}"  # on to the next example
    counts = app.dataframe[1].value  # after the example's label table
    assert counts.loc["joy", split] == 1 and counts.loc["sets", split] == 1


def test_annotate_skip_and_back_move_through_the_queue_without_writing(app, ml_project,
                                                                      tmp_path):
    page(app, "ml_annotate")
    first = app.text_area[0].key
    app.button(key="ml_ann_skip").click().run()
    assert app.text_area[0].key != first
    app.button(key="ml_ann_back").click().run()
    assert app.text_area[0].key == first
    run = load_multilabel_run(ml_project)
    assert AnnotationStore(tmp_path / "annotations.sqlite").table(run.config.name).empty


def test_no_run_offers_the_multilabel_pipeline(tmp_path, monkeypatch):
    """Before: the run page ran the single-label steps, which failed on label sets and
    left single-label artifacts in the run folder."""
    config = _project(tmp_path / "p")
    at = _app(config, monkeypatch, tmp_path / "a.sqlite")
    assert any("no finished multi-label run" in i.value for i in at.info)
    at.button(key="run_pipeline").click().run(timeout=900)
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("macro-F1" in s.value for s in at.success)
    at = _app(config, monkeypatch, tmp_path / "a.sqlite")
    assert [t.value for t in at.title] == ["Overview"]


def test_annotate_an_empty_slice_draws_an_empty_progress_bar(app):
    """Before: ``1.0`` for an empty slice, a full bar over "0 of 0 ... labeled"."""
    page(app, "ml_annotate")
    app.selectbox(key="ml_ann_split").select("train").run()
    app.selectbox(key="ml_ann_slice").select("label_model_wrong").run()  # train: no gold
    bar = app.get("progress")[0]
    assert "0 of 0" in bar.proto.text
    assert bar.value == 0
