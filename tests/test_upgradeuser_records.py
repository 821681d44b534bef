"""A user who upgraded: run folders and stores written by older versions are read
correctly or refused with one line saying what to run (found by the upgrade walkthrough,
with worktrees of older commits)."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from conftest import cli, one_error_line  # noqa: E402

from labeling import pipeline  # noqa: E402


def test_show_on_a_run_whose_annotations_record_predates_splits(make_task):
    """Runs before 2026-12-02 recorded the annotations they used as {id: label}; after
    the upgrade `labeling show` printed a ValueError traceback."""
    config = make_task(config={"label_model": {"name": "mv", "params": make_task.DELETE}})
    task = pipeline.load_task(config)
    pipeline.step_apply(task, progress=False)
    pipeline.step_fit(task)
    used = task.run_dir / "annotations_used.json"
    assert used.is_file()
    used.write_text(json.dumps({"dv0": 1}), encoding="utf-8")
    one_error_line(cli("show", "--config", config, "kw_spam"), "annotations_used.json",
                   "labeling apply")


def test_evaluate_marks_an_end_model_trained_before_an_older_versions_fit(make_task):
    """Versions before 2026-12-02 did not mark the end model stale when `labeling fit` ran
    after `labeling train` (nor record what each step read); `labeling evaluate` printed
    that end model's scores, made on the previous labels and dev gold, as current."""
    from conftest import rerun

    config = make_task(config={"label_model": {"name": "mv", "params": make_task.DELETE}})
    task = pipeline.load_task(config)
    pipeline.step_apply(task, progress=False)
    pipeline.step_fit(task)
    pipeline.step_train(task)
    rerun(task.run_dir / "probs.parquet")  # the older version's fit, after the train
    metrics_path = task.run_dir / "metrics.json"
    metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
    for key in ("inputs_sha256", "gold_at_fit", "gold_at_train", "gold_at_summary"):
        metrics.pop(key, None)  # what an older version's metrics.json lacks
    metrics["end_model"].pop("stale", None)
    metrics_path.write_text(json.dumps(metrics), encoding="utf-8")
    result = cli("evaluate", config)
    assert result.exit_code == 0, result.output
    assert "end model (tfidf_logreg) (stale)" in result.output, result.output


def test_evaluate_does_not_mark_a_current_end_model_stale(make_task):
    config = make_task(config={"label_model": {"name": "mv", "params": make_task.DELETE}})
    task = pipeline.load_task(config)
    pipeline.step_apply(task, progress=False)
    pipeline.step_fit(task)
    pipeline.step_train(task)
    result = cli("evaluate", config)
    assert result.exit_code == 0 and "(stale)" not in result.output, result.output


def test_evaluate_on_a_run_older_than_the_gold_record_after_new_annotations(make_task):
    """A run from before fit and train recorded their gold digests (2026-12-06): after
    annotations given in the app, `labeling evaluate` printed the old gold's scores."""
    from labeling.gold import AnnotationStore

    config = make_task(config={"label_model": {"name": "mv", "params": make_task.DELETE}})
    task = pipeline.load_task(config)
    pipeline.step_apply(task, progress=False)
    pipeline.step_fit(task)
    pipeline.step_train(task)
    metrics_path = task.run_dir / "metrics.json"
    metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
    for key in ("gold_at_fit", "gold_at_train", "gold_at_summary"):
        metrics.pop(key, None)  # what an older version's metrics.json lacks
    metrics_path.write_text(json.dumps(metrics), encoding="utf-8")
    assert cli("evaluate", config).exit_code == 0  # nothing annotated since: scores shown
    dev = task.splits["dev"]
    wrong = 1 - ["ham", "spam"].index(dev["label"].iloc[0]) if isinstance(
        dev["label"].iloc[0], str) else 1 - int(dev["label"].iloc[0])
    AnnotationStore(task.config.annotations_path).set(
        "tiny", dev["id"].iloc[0], wrong, split="dev", label_name=["ham", "spam"][wrong])
    one_error_line(cli("evaluate", config), "annotations", "labeling fit")


def test_the_notebooks_evaluate_refuses_an_older_versions_stale_end_model(make_task):
    """Session.evaluate() showed the end model an older version trained before its last
    fit (the CLI marked it stale); both now go through artifacts.metrics_to_evaluate."""
    import pytest

    from conftest import rerun
    from labeling.errors import LabelingError
    from labeling.session import Session

    config = make_task(config={"label_model": {"name": "mv", "params": make_task.DELETE}})
    session = Session(config)
    session.apply()
    session.fit()
    session.train()
    assert "end_model" in session.evaluate().index
    run_dir = session.task.run_dir
    rerun(run_dir / "probs.parquet")  # the older version's fit, after the train
    metrics = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
    metrics.pop("inputs_sha256", None)
    (run_dir / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
    with pytest.raises(LabelingError, match=r"no end model trained on the last fit; call "
                                            r"train\(\) before evaluate\(\)"):
        session.evaluate()
