"""The gold-only baseline and the learning curve in every run (#13 items 1, 2, 5): metrics,
`labeling run` output, `labeling report`, the model card and the app's overview; a loud
verdict when the pipeline loses to the dev gold alone; honest card words and hashes."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent))
from conftest import DEFAULT_LFS  # noqa: E402

from labeling import distill, pipeline  # noqa: E402
from labeling.cli import app  # noqa: E402
from labeling.review import overview  # noqa: E402

# The tiny task's LFs with every vote flipped: the weak labels are all wrong. (Under
# other names: constants spelling a label must be its position, labeling.lf.loader.)
POISONED_LFS = (DEFAULT_LFS.replace("SPAM", "FLIPPED_SPAM").replace("HAM", "FLIPPED_HAM")
                .replace("FLIPPED_HAM, FLIPPED_SPAM = 0, 1", "FLIPPED_HAM, FLIPPED_SPAM = 1, 0"))
CURVE = {"learning_curve": {"seeds": 2, "budget_s": 600}}


def _run(config: Path) -> tuple[str, dict]:
    result = CliRunner().invoke(app, ["run", str(config), "--no-progress"])
    assert result.exit_code == 0, result.output
    return result.output, json.loads((config.parent / "run" / "metrics.json").read_text())


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """The tiny binary task (conftest) run once through the CLI, with a 2-seed curve."""
    from conftest import default_config, default_frames, write_task

    config = default_config() | {"end_model": {"name": "tfidf_logreg", "params": CURVE}}
    path = write_task(tmp_path_factory.mktemp("goldrun"), default_frames(), DEFAULT_LFS, config)
    output, metrics = _run(path)
    return path, output, metrics


def test_metrics_hold_the_gold_only_baseline_on_the_pipelines_folds(tiny_run):
    _, _, metrics = tiny_run
    gold, end = metrics["gold_only"], metrics["end_model"]
    assert gold["name"] == "tfidf_logreg" and gold["n_dev"] == 8
    # Same folds, same model family: the baseline's CV is the pipeline's gold-only candidate.
    assert gold["cv"] == end["cv_scores"]["tfidf_logreg/gold_only"]
    assert gold["pipeline_cv"] == end["cv"]
    assert set(gold["test"]) >= {"n", "accuracy", "f1", "macro_f1"}
    assert "dev" not in gold  # trained on all dev: its dev scores would be in-sample
    assert gold["verdict"] in ("pipeline_ahead", "tie", "gold_only_chosen")
    assert end["dev"]["in_sample"] is True  # dev rows trained the end model


def test_learning_curve_is_in_metrics_with_its_cost(tiny_run):
    _, _, metrics = tiny_run
    section = metrics["learning_curve"]
    if "skipped" in section:  # auto chose the gold-only model: nothing to measure
        assert metrics["end_model"]["label_mode"] == "gold_only"
        return
    curve = section["curve"]
    assert section["seeds_done"] == 2 and len(curve["pipeline"]) == 2
    assert len(curve["gold_only"][0]) == len(curve["sizes"])
    assert isinstance(section["seconds"], (int, float))  # recorded for the user; no speed check
    assert "hand labels" in section["worth"]["text"]


def test_run_prints_the_baseline_and_what_the_lfs_are_worth(tiny_run):
    _, output, metrics = tiny_run
    assert "gold-only baseline (tfidf_logreg)" in output
    assert f"gold-only baseline {metrics['gold_only']['cv']:.3f}" in output
    assert metrics["gold_only"]["text"] in " ".join(output.split())  # rich wraps lines
    assert "* in-sample" in output


def test_card_says_what_trained_the_model_and_hashes_its_files(tiny_run):
    path, _, metrics = tiny_run
    card = json.loads((path.parent / "run" / "model" / "model_card.json").read_text())
    md = (path.parent / "run" / "model" / "MODEL_CARD.md").read_text()
    assert "no hand labels were used" not in md
    training = card["training"]
    assert training["dev_gold_rows"] == 8 and training["dev_weight"] == 3.0
    assert "8 dev gold (hand-labeled) rows, each weighted 3" in md
    for split in ("train", "dev"):
        f = card["training_files"][split]
        assert f["sha256"] == hashlib.sha256((path.parent / f"{split}.csv").read_bytes()).hexdigest()
        assert f["sha256"] in md
    assert card["in_sample"] == ["end_model.dev"] and "| dev (in-sample) |" in md
    assert md.count("(in-sample)") == 1  # snorkel's label model is not fit on dev gold
    calibration = md.split("## Calibration")[1].split("##")[0]  # dev: trained on, no verdict
    (dev_line,) = [line for line in calibration.splitlines() if line.startswith("- dev ")]
    assert "in-sample: the model was trained on these rows" in dev_line
    assert card["cv"]["gold_only"] == metrics["gold_only"]["cv"]
    assert card["metrics"]["gold_only"]["test"] == metrics["gold_only"]["test"]
    assert "Against the dev gold alone" in md


def test_report_has_a_gold_only_row_and_the_curve(tiny_run):
    path, _, metrics = tiny_run
    task = pipeline.load_task(path)
    report = distill.build_report(task, n_single=2)
    row = next(r for r in report["rows"] if r["kind"] == "gold_only")
    assert row["accuracy"] == metrics["gold_only"]["test"]["accuracy"]
    md = distill.format_markdown(report)
    assert "gold-only baseline" in md and f"{metrics['gold_only']['cv']:.3f}" in md
    if "curve" in metrics["learning_curve"]:
        assert "| dev labels | pipeline | gold-only |" in md


def test_overview_shows_the_baseline_and_the_curve(tiny_run):
    _, _, metrics = tiny_run
    table = overview.score_table(metrics)
    assert "gold-only baseline" in set(table["model"])
    assert list(table[table["model"] == "gold-only baseline"]["split"]) == ["test"]
    assert any("(in-sample)" in m for m in table["model"])
    budget = overview.gold_budget(metrics)
    assert budget["gold_only_cv"] == metrics["gold_only"]["cv"]
    if "curve" in metrics["learning_curve"]:
        curve = budget["curve"]
        assert set(curve["model"]) == {"pipeline", "gold_only"}
        assert (curve["min"] <= curve["mean"]).all() and (curve["mean"] <= curve["max"]).all()


def test_losing_to_gold_only_is_loud_everywhere(make_task):
    # Weak labels all wrong and no gold-only candidate: the pipeline must lose.
    config = make_task(lf_source=POISONED_LFS,
                       config={"end_model": {"params": {"weak_weights": [1.0],
                                                        "learning_curve": False}}})
    output, metrics = _run(config)
    gold = metrics["gold_only"]
    assert metrics["end_model"]["cv"] < gold["cv"]
    assert gold["verdict"] == "gold_only_ahead" and gold["loud"] is True
    assert "WARNING" in output and "LOSES to the gold-only baseline" in output
    md = (config.parent / "run" / "model" / "MODEL_CARD.md").read_text()
    assert "**WARNING: The pipeline LOSES" in md
    assert metrics["learning_curve"] == {"skipped": "params.learning_curve = false"}


def test_auto_choosing_the_gold_only_model_is_loud(make_task):
    config = make_task(lf_source=POISONED_LFS,
                       config={"end_model": {"params": {"weak_weights": [0.0, 1.0],
                                                        "learning_curve": False}}})
    output, metrics = _run(config)
    assert metrics["end_model"]["label_mode"] == "gold_only"
    assert metrics["gold_only"]["verdict"] == "gold_only_chosen"
    assert "WARNING" in output and "IS the gold-only model" in output
    card = json.loads((config.parent / "run" / "model" / "model_card.json").read_text())
    assert card["training"]["weak_rows"] == 0


def test_a_bad_learning_curve_option_is_one_line(make_task):
    config = make_task(config={"end_model": {"params": {"learning_curve": "yes"}}})
    result = CliRunner().invoke(app, ["run", str(config), "--no-progress"])
    assert result.exit_code == 2
    assert "end_model: params.learning_curve must be false or a table" in result.output


def test_app_overview_shows_the_verdict_and_the_curve(tiny_run, monkeypatch, tmp_path):
    from streamlit.testing.v1 import AppTest

    path, _, metrics = tiny_run
    monkeypatch.setenv("LABELING_PROJECT", str(path.parent))
    monkeypatch.delenv("LABELING_RUN_DIR", raising=False)
    monkeypatch.setenv("LABELING_ANNOTATIONS", str(tmp_path / "annotations.sqlite"))
    at = AppTest.from_file(str(Path(__file__).parents[1] / "app" / "streamlit_app.py"),
                           default_timeout=60)
    at.run()
    at.switch_page("views/overview.py").run()
    assert not at.exception, at.exception
    headings = [h.value for h in [*at.header, *at.subheader]]  # h2 since h101
    assert headings.count("Against the dev gold alone") == 1
    shown = [m.value for m in at.info] + [m.value for m in at.warning]
    from labeling.review.literal import literal

    assert literal(metrics["gold_only"]["text"]) in shown
    assert any("hand labels" in m.value for m in at.markdown)


def test_card_hashes_the_annotations_file_that_reached_training(make_task):
    from labeling.gold import AnnotationStore

    config = make_task(config={"end_model": {"params": {"learning_curve": False}}})
    store = AnnotationStore(config.parent / "annotations.sqlite")
    store.set("tiny", "tr0", 1, split="train", label_name="spam")  # moved into dev
    store.set("tiny", "dv1", 1, split="dev", label_name="spam")
    _run(config)
    card = json.loads((config.parent / "run" / "model" / "model_card.json").read_text())
    f = card["training_files"]["annotations"]
    assert f["sha256"] == hashlib.sha256(
        (config.parent / "annotations.sqlite").read_bytes()).hexdigest()
    assert card["training"]["annotations"] == {"train": 1, "dev": 1}
    assert card["training"]["dev_gold_rows"] == 9  # 8 dev rows + the moved train row
    md = (config.parent / "run" / "model" / "MODEL_CARD.md").read_text()
    assert "1 from app annotations (train)" in md and f["sha256"] in md


def test_a_label_model_fit_on_dev_has_its_dev_scores_starred(make_task):
    """weighted_vote learns its weights on the dev gold: the card marked its dev score
    in-sample, the run's table and metrics.json did not (one rule for both now)."""
    config = make_task(config={"label_model": {"name": "weighted_vote",
                                               "params": make_task.DELETE}})
    output, metrics = _run(config)
    assert metrics["label_model"]["dev"]["in_sample"] is True
    (row,) = [line for line in output.splitlines() if "label model (weighted_vote)" in line]
    assert row.count("*") == 2  # dev accuracy and F1
    assert "a label model that learns from dev" in " ".join(output.split())
    card = json.loads((config.parent / "run" / "model" / "model_card.json").read_text())
    assert "label_model.dev" in card["in_sample"]


@pytest.mark.parametrize(("se", "rule", "suffix"), [
    (0.0118, "best", " (paired SE 0.012: inside one SE, not a clear win)"),
    (0.004, "best", " (paired SE 0.004)"),
    (0.0118, "one_se", ""),  # the lead stated is not the rule's choice's: no SE given
])
def test_a_lead_over_gold_only_says_its_paired_se(se, rule, suffix):
    """'beats the gold-only baseline on dev CV by +0.010' read as a win at a paired SE of
    0.012 (the bundled task): the verdict now says when the lead is inside its noise."""
    from labeling.train.gold_budget import verdict

    pipeline = {"cv": 0.952, "label_mode": "soft", "metric": "f1", "weight_rule": rule,
                "weight_rule_cv": {"best": "m/soft/w0.1", "paired": {
                    "m/gold_only": {"gain": 0.010, "se": se}, "m/soft/w0.1": {"gain": 0.0, "se": 0.0}}}}
    text = verdict(pipeline, 0.942, 264)["text"]
    assert text == "the pipeline beats the gold-only baseline on dev CV by +0.010 f1" + suffix
