"""Regression tests for pipeline defects (issue 12): each failed before its fix."""

import sys
from pathlib import Path

import pytest

from labeling import files, pipeline

sys.path.insert(0, str(Path(__file__).parent))
from conftest import rerun  # noqa: E402
from labeling.train import auto as train_auto


def test_end_model_choice_tunes_f1_of_the_positive_label_when_it_is_label_0(make_task, monkeypatch):
    # labels = ["spam", "ham"]: the positive label is class 0, which `positive_index or 1`
    # turned into class 1 (ham) for the end-model choice and the decision bias.
    frames = make_task.frames()
    config_path = make_task(train=frames["train"], dev=frames["dev"], test=frames["test"],
                            config={"labels": ["spam", "ham"], "positive_label": "spam",
                                    "label_model": {"name": "mv", "params": make_task.DELETE},
                                    "end_model": {"name": "tfidf_logreg"}},
                            lf_source="from labeling import keyword_lf\n"
                                      "SPAM, HAM = 0, 1\n"
                                      "a = keyword_lf(['subscribe', 'channel', 'free'], label=SPAM, name='kw_spam')\n"
                                      "b = keyword_lf(['song', 'love'], label=HAM, name='kw_ham')\n")
    seen = {}
    real = train_auto.choose_end_model

    def spy(*args, **kwargs):
        seen.update(metric=kwargs["metric"], pos_label=kwargs["pos_label"])
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline, "choose_end_model", spy)
    task = pipeline.load_task(config_path)
    pipeline.step_apply(task, progress=False)
    pipeline.step_fit(task)
    pipeline.step_train(task)
    assert seen == {"metric": "f1", "pos_label": 0}


def test_end_model_defaults_to_auto_as_the_readme_says(make_task):
    config_path = make_task(config={"end_model": make_task.DELETE})
    task = pipeline.load_task(config_path)
    assert task.config.end_model.name == "auto"


def test_bundled_config_comment_names_every_auto_candidate(repo_root):
    comment = "\n".join(line for line in (repo_root / "labeling.toml").read_text().splitlines()
                        if line.startswith("#"))
    missing = [name for name in train_auto.AUTO_CANDIDATES if name not in comment]
    assert not missing, f"labeling.toml's end_model comment does not name {missing}"


def _cli(*args):
    from typer.testing import CliRunner

    from labeling.cli import app

    return CliRunner().invoke(app, [str(a) for a in args])


def _one_line_error(result, *fragments):
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


def test_an_unwritable_output_folder_fails_before_any_lf_runs(make_task):
    # output_dir under a regular file: it can never be created (root ignores chmod,
    # so a read-only folder would not test this on CI).
    config_path = make_task(config={"output_dir": "blocker/run"},
                            files={"blocker": "a file, not a folder"},
                            lf_source="from labeling import labeling_function\n"
                                      "@labeling_function()\n"
                                      "def boom(x):\n"
                                      "    raise RuntimeError('the LF ran before the check')\n")
    # said "not writable" until h135/f138: now the file in the way, for every command
    _one_line_error(_cli("apply", config_path), "output_dir blocker/run", "blocker is a file")


def test_a_full_disk_while_saving_the_model_is_one_line_and_leaves_no_tmp(make_task,
                                                                          monkeypatch):
    config_path = make_task()
    assert _cli("apply", config_path).exit_code == 0
    assert _cli("fit", config_path).exit_code == 0
    run_dir = config_path.parent / "run"
    tmp = run_dir / "end_model.skops.tmp"
    tmp.symlink_to("/dev/full")  # every write to it fails with ENOSPC, as on a full disk
    monkeypatch.setattr(files, "temporary_sibling",
                        lambda path: tmp if path.name == "end_model.skops" else
                        path.with_name(path.name + ".other.tmp"))
    _one_line_error(_cli("train", config_path), "end_model.skops")
    assert not tmp.exists() and not tmp.is_symlink()
    assert not (run_dir / "end_model.skops").exists()


def test_run_warns_of_ids_and_texts_shared_between_train_and_test(make_task):
    frames = make_task.frames()
    test = frames["test"].copy()
    test["text"] = test["text"] + " (seen in test only)"  # the fixture's test texts are in train
    test.loc[0, "id"] = frames["train"]["id"][3]          # the same id in train and test
    test.loc[1, "text"] = "  " + frames["train"]["text"][5]  # the same text (up to spacing)
    config_path = make_task(train=frames["train"], dev=frames["dev"], test=test,
                            config={"label_model": {"name": "mv", "params": make_task.DELETE}})
    result = _cli("apply", config_path, "--no-progress")
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.output.splitlines() if "leakage" in line]
    assert any("test ids" in w and frames["train"]["id"][3] in w for w in warnings), warnings
    assert any("have a text also in train" in w for w in warnings), warnings
    import json
    metrics = json.loads((config_path.parent / "run" / "metrics.json").read_text())
    pair = metrics["leakage"]["pairs"]["train/test"]
    assert pair["shared_ids"] == 1 and pair["shared_texts"] == 1


def test_a_fit_marks_the_end_model_stale_until_the_next_train(make_task):
    from labeling.review.overview import score_table

    config_path = make_task(config={"label_model": {"name": "mv", "params": make_task.DELETE}})
    task = pipeline.load_task(config_path)
    pipeline.step_apply(task, progress=False)
    pipeline.step_fit(task)
    pipeline.step_train(task)
    assert "stale" not in pipeline.read_metrics(task.run_dir)["end_model"]
    assert "stale" not in pipeline.step_fit(task)["end_model"]  # the same probabilities
    rerun(task.run_dir / "L.parquet")  # as after an apply that changed a vote
    metrics = pipeline.step_fit(task)
    assert metrics["end_model"]["stale"] == pipeline.STALE_END_MODEL
    models = set(score_table(metrics)["model"])  # the app's overview table
    assert "end model (stale)" in models and "end model" not in models
    pipeline.step_train(task)
    assert "stale" not in pipeline.read_metrics(task.run_dir)["end_model"]
