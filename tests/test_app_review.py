"""The review app's logic (labeling.review) against a small real run in tmp.

The run is the bundled YouTube task cut to a few hundred rows
(:func:`labeling.review.sample.ensure_sample_run`), built once per test session and
shared with tests/test_app_pages.py and tests/test_browser.py.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from labeling.analysis import pairwise_counts, slices
from labeling.review import conflicts, detail, end_model, examples, lf_table, overview
from labeling.review import slices as review_slices
from labeling.gold import AnnotationStore
from labeling.review.launch import app_environment, streamlit_command
from labeling.review.project import NoRunError, load_run, project_settings
from labeling.review.sample import ensure_sample_run

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def sample_project(tmp_path_factory) -> Path:
    return ensure_sample_run(REPO_ROOT / "labeling.toml",
                             tmp_path_factory.getbasetemp() / "app_sample")


@pytest.fixture(scope="session")
def run(sample_project):
    return load_run(sample_project)


def test_load_run_matches_artifacts(run):
    assert run.splits == ["train", "dev", "test"]
    assert run.L["train"].shape == (240, len(run.lf_names))
    assert run.proba("dev").shape == (100, 2)
    assert np.allclose(run.proba("test").sum(axis=1), 1.0)


def test_missing_run_and_broken_config(tmp_path, sample_project):
    with pytest.raises(NoRunError):
        load_run(sample_project, run_dir=tmp_path / "nothing")
    (tmp_path / "labeling.toml").write_text("name = [", encoding="utf-8")
    with pytest.raises(Exception, match="not valid TOML"):
        load_run(tmp_path)


def test_project_settings_from_args_then_env():
    env = {"LABELING_PROJECT": "/p", "LABELING_RUN_DIR": "/r"}
    assert project_settings(["--project", "/a"], env)["project"] == Path("/a")
    got = project_settings([], env)
    assert got["project"] == Path("/p") and got["run_dir"] == Path("/r")
    assert project_settings([], {})["project"] == Path(".")


def test_overview_numbers_equal_metrics(run):
    scores = overview.score_table(run.metrics).set_index(["split"]).query("model.str.startswith('end')")
    assert scores.loc["test", "accuracy"] == round(run.metrics["end_model"]["test"]["accuracy"], 3)
    sizes = overview.dataset_sizes(run).set_index("split")
    assert sizes.loc["train", "coverage"] == round(run.metrics["data"]["train"]["coverage"], 3)
    dist = overview.label_distribution(run)
    gold = dist.query("split == 'dev' and source == 'gold'")
    assert gold["count"].sum() == 100
    hist = overview.confidence_histogram(run)
    assert hist[["covered", "uncovered"]].to_numpy().sum() == 240


def test_lf_table_reuses_the_run_summary(run):
    table, total, general = lf_table.lf_table(run)
    assert list(table["lf"]) == run.lf_names and general == []
    row = table.set_index("lf").loc["kw_subscribe"]
    assert row["coverage"] == round(run.summary.loc["kw_subscribe", "coverage"], 3)
    assert row["kind"] == "rule"
    assert table.set_index("lf").loc["llm_promotion", "kind"] == "prompt"
    assert table.set_index("lf").loc["llm_promotion", "llm_cost"] == 0.0
    assert total.iloc[0]["coverage"] == round(run.metrics["data"]["train"]["coverage"], 3)
    assert total.iloc[0]["dev_correct"] == run.summary["dev_correct"].sum()
    assert set(lf_table.COLUMN_HELP) >= set(table.columns)


def test_warnings_are_attached_to_their_lf():
    per_lf, general = lf_table.split_warnings(
        ["LF 'a' votes on no training example (zero coverage)", "every LF votes class 1"],
        ["a", "b"])
    assert list(per_lf) == ["a"] and general == ["every LF votes class 1"]


def test_conflict_pairs_and_disagreements(run):
    _, counts = pairwise_counts(run.L["train"])
    pairs = conflicts.conflict_pairs(run, "train")
    top = pairs.iloc[0]
    i, j = run.lf_names.index(top.lf_a), run.lf_names.index(top.lf_b)
    assert top.conflicts == counts[i, j] == counts.max()
    table = conflicts.disagreements(run, top.lf_a, top.lf_b, "train")
    assert len(table) == top.conflicts
    assert (table[top.lf_a] != table[top.lf_b]).all()
    assert examples.ABSTAIN_MARK not in set(table[top.lf_a])
    word = table["text"].iloc[0].split()[0]
    assert 0 < len(conflicts.disagreements(run, top.lf_a, top.lf_b, "train", word)) <= len(table)
    label = conflicts.pair_label(top.lf_a, top.lf_b, top.conflicts)
    assert conflicts.parse_pair_label(label) == (top.lf_a, top.lf_b)


def test_slices_equal_the_analysis_masks(run):
    masks = slices(run.L["dev"], run.proba("dev"), run.gold("dev"), unsure_margin=0.2)
    counts = review_slices.slice_counts(run).set_index(["split", "slice"])
    for name, mask in masks.items():
        assert counts.loc[("dev", name), "count"] == mask.sum()
        assert len(review_slices.slice_table(run, "dev", name)) == mask.sum()
    assert review_slices.slice_table(run, "train", "label_model_wrong") is None
    assert pd.isna(counts.loc[("train", "label_model_wrong"), "count"])


def test_end_model_confusion_matches_the_run_score(run, sample_project):
    model = end_model.load_end_model(run.run_dir)
    pred = end_model.predict(model, run, "test").argmax(axis=1)
    matrix = end_model.confusion(run.gold("test"), pred, run.labels)
    accuracy = np.trace(matrix.to_numpy()) / matrix.to_numpy().sum()
    assert accuracy == pytest.approx(run.metrics["end_model"]["test"]["accuracy"])
    cell = end_model.cell_mask(run.gold("test"), pred, run.labels, "spam", "ham")
    assert cell.sum() == matrix.loc["spam", "ham"]
    errors = end_model.errors_table(examples.example_table(run, "test", pred))
    assert len(errors) == matrix.to_numpy().sum() - np.trace(matrix.to_numpy())


def test_detail_local_backend_says_there_is_no_reply(run):
    from labeling.lf.loader import load_lfs

    lfs = load_lfs(run.config.lfs, run.config.base_dir)
    split, row = detail.find_example(run, run.frames["dev"]["id"].iloc[3])
    items = detail.prompt_details(run, lfs, split, row)
    assert [i["lf"] for i in items] == ["llm_asks_to_visit", "llm_promotion", "llm_spam_or_ham"]
    assert all(i["backend"] == "local" and "reply" not in i and "local" in i["note"]
               for i in items)
    text = run.frames["dev"]["text"].iloc[3]
    assert text in detail.render_messages(items[0]["messages"])
    votes = detail.votes_table(run, split, row, {"llm_promotion"})
    assert len(votes) == len(run.lf_names)


def test_detail_endpoint_backend_reads_the_raw_reply_from_the_cache(run, tmp_path):
    """The reply is found under the key the run would have used (same request builder)."""
    from labeling.lf.loader import load_lfs
    from labeling.llm.cache import Entry, ResponseCache
    from labeling.llm.requests import build_requests

    cache_path = tmp_path / "responses.sqlite"
    config = run.config.model_copy(update={"llm": run.config.llm.model_copy(
        update={"cache_path": cache_path})})
    endpoint_run = type(run)(**{**run.__dict__, "config": config,
                                "metrics": {"llm": {"backend": "openai", "lfs": {}}}})
    lfs = [lf for lf in load_lfs(run.config.lfs, run.config.base_dir)
           if lf.name == "llm_promotion"]
    frame = run.frames["dev"].iloc[[5]].reset_index(drop=True)
    request = build_requests(lfs[0], frame, config.llm, config.labels)[0]
    cache = ResponseCache(cache_path)
    cache.put(Entry(request.key, "llm_promotion", request.model,
                    json.dumps(request.messages), '{"answer": "no"}', "no", None, 120, 5, 0.00002))
    cache.close()
    (item,) = detail.prompt_details(endpoint_run, lfs, "dev", 5)
    assert item["reply"] == '{"answer": "no"}' and item["answer"] == "no"
    assert item["tokens_in"] == 120 and "note" not in item
    (missing,) = detail.prompt_details(endpoint_run, lfs, "dev", 6)
    assert "reply" not in missing and "No cached reply" in missing["note"]


def test_annotation_store_upserts_and_survives_concurrent_writers(tmp_path):
    path = tmp_path / "ann.sqlite"
    store = AnnotationStore(path)
    store.set("t", "a", 1, label_name="spam", split="train")
    store.set("t", "a", 0, label_name="ham", split="train")  # same key: updated
    store.set("other", "a", 1, split="train")
    assert store.gold_for("t", "train", ["a", "zzz"], ["ham", "spam"]) == {"a": 0}
    assert store.table("t").iloc[0]["split"] == "train"

    def writer(prefix):  # two "tabs" writing different examples at once
        tab = AnnotationStore(path)
        for i in range(50):
            tab.set("t", f"{prefix}{i}", i % 2, split="train")

    threads = [threading.Thread(target=writer, args=(p,)) for p in "xy"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(store.table("t")) == 101
    assert store.counts("t", ["ham", "spam"])["count"].tolist() == [51, 50]
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_launch_command_binds_localhost(tmp_path):
    argv = streamlit_command(8765)
    assert argv[argv.index("--server.address") + 1] == "127.0.0.1"
    assert argv[argv.index("--server.port") + 1] == "8765"
    assert argv[argv.index("--server.headless") + 1] == "true"  # never a first-run prompt
    assert Path(argv[argv.index("run") + 1]).name == "streamlit_app.py"
    env = app_environment(tmp_path, env={})
    assert env["LABELING_PROJECT"] == str(tmp_path.resolve())


def test_annotations_merge_as_dev_gold(run, tmp_path):
    from labeling.gold import merge_as_dev_gold

    store = AnnotationStore(tmp_path / "a.sqlite")
    train_id, dev_id = run.frames["train"]["id"].iloc[0], run.frames["dev"]["id"].iloc[0]
    test_id = run.frames["test"]["id"].iloc[0]
    flipped = 1 - int(run.frames["dev"]["label"].iloc[0])
    store.set("youtube", train_id, 1, label_name="spam", split="train")
    store.set("youtube", dev_id, flipped, label_name=run.labels[flipped], split="dev")
    store.set("youtube", test_id, 0, label_name="ham", split="test")
    store.set("youtube", run.frames["train"]["id"].iloc[1], 0, label_name="renamed",
              split="train")
    merged, report = merge_as_dev_gold(dict(run.frames), "youtube", run.labels, store)
    assert report == {"dev_overridden": 1, "moved_from_train": 1, "renamed_on_move": 0,
                      "ignored": 1, "text_changed": 0, "test_not_used": 1}
    assert len(merged["train"]) == 239 and train_id not in set(merged["train"]["id"])
    dev = merged["dev"].set_index("id")
    assert len(dev) == 101 and dev.at[train_id, "label"] == 1 and dev.at[dev_id, "label"] == flipped
    assert merged["test"] is run.frames["test"]
