"""A ``minilm_finetune`` run's gold-only baseline is its own twin (#16 / #13's product rule):
``minilm_finetune`` with the same params on the dev gold alone, fit once (not the frozen
default family), shown next to the end model in metrics.json, `labeling train`/`evaluate`,
the distillation report, the model card and the app's overview; ``params.gold_only =
false`` skips it, said everywhere; a bad value is a one-line error."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent))
from conftest import DEFAULT_LFS, default_config, default_frames, write_task  # noqa: E402

from labeling import distill, pipeline  # noqa: E402
from labeling.cli import app  # noqa: E402
from labeling.export.card import card_markdown  # noqa: E402
from labeling.export.provenance import build_card  # noqa: E402
from labeling.review import overview  # noqa: E402
from labeling.train import finetune_net  # noqa: E402
from labeling.train.gold_only import FIT_ONCE_KIND, fit_once_gold_only  # noqa: E402

TINY = dict(epochs=1, max_seq_len=16, batch_size=8, progress=False)


def _cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def _task(tmp_path_factory, name: str, params: dict) -> Path:
    config = default_config() | {"end_model": {"name": "minilm_finetune", "params": params}}
    path = write_task(tmp_path_factory.mktemp(name), default_frames(), DEFAULT_LFS, config)
    for step in ("apply", "fit"):
        result = _cli(step, path)
        assert result.exit_code == 0, result.output
    return path


@pytest.fixture(scope="module")
def twin_run(tmp_path_factory):
    """The tiny task trained with minilm_finetune; every call of the fine-tune's training
    loop recorded (texts, targets) to see what each model trained on."""
    path = _task(tmp_path_factory, "twin", dict(TINY))
    calls, real = [], finetune_net.train

    def spy(net, tokenizer, texts, targets, weights, held, *args, **kwargs):
        calls.append({"texts": [str(t) for t in texts], "targets": np.asarray(targets).copy(),
                      "held": np.asarray(held, bool).copy()})
        return real(net, tokenizer, texts, targets, weights, held, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(finetune_net, "train", spy)
        train = _cli("train", path)
    assert train.exit_code == 0, train.output
    evaluate = _cli("evaluate", path)
    assert evaluate.exit_code == 0, evaluate.output
    metrics = json.loads((path.parent / "run" / "metrics.json").read_text())
    return path, train.output, evaluate.output, metrics, calls


def test_the_baseline_is_the_fine_tune_on_the_dev_gold_alone(twin_run):
    path, _, _, metrics, calls = twin_run
    gold, end = metrics["gold_only"], metrics["end_model"]
    dev = default_frames()["dev"]
    assert gold["name"] == end["name"] == "minilm_finetune"  # not the frozen family
    assert gold["fit"] == FIT_ONCE_KIND and "cv" not in gold
    assert gold["params"] == TINY and gold["seed"] == 0 and gold["weak_rows"] == 0
    assert gold["n_dev"] == len(dev) and gold["dev_weight"] == 3.0
    assert gold["trained_rows"] + gold["held_out_rows"] == len(dev)  # dev rows, nothing more
    assert isinstance(gold["fit_seconds"], float)  # recorded (its size is machine-dependent)
    assert gold["verdict"] == "not_compared" and not gold["loud"]
    assert set(gold["test"]) >= {"accuracy", "f1"} and "dev" not in gold  # dev: in-sample
    # what the training loop saw: the end model many rows, the twin the dev rows alone,
    # each with its one-hot gold label (a weak row's soft label would be mixed in)
    assert len(calls) == 2 and len(calls[0]["texts"]) > len(dev)
    twin = calls[1]
    assert sorted(twin["texts"]) == sorted(dev["text"])
    gold_of = dict(zip(dev["text"], dev["label"].map({"ham": 0, "spam": 1})))
    np.testing.assert_array_equal(twin["targets"].argmax(axis=1),
                                  [gold_of[t] for t in twin["texts"]])
    assert set(np.unique(twin["targets"])) <= {0.0, 1.0}
    assert metrics["learning_curve"]["skipped"].startswith(end["cv_skipped"])
    assert "no learning curve" in metrics["learning_curve"]["skipped"]


def test_the_fit_once_end_model_records_its_fit_seconds_as_its_twin_does(twin_run):
    metrics = twin_run[3]
    end, gold = metrics["end_model"], metrics["gold_only"]
    assert "cv_skipped" in end
    for section in (end, gold):  # recorded (their size is machine-dependent)
        assert isinstance(section["fit_seconds"], float)


def test_every_output_shows_the_twin(twin_run):
    path, train_out, evaluate_out, metrics, _ = twin_run
    text = metrics["gold_only"]["text"]
    assert "gold-only twin" in text and "not cross-validated" in text
    for out in (train_out, evaluate_out):
        assert "gold-only baseline (minilm_finetune)" in out and "gold-only twin" in out
    row = next(line for line in evaluate_out.splitlines() if "gold-only baseline" in line)
    assert f"{metrics['gold_only']['test']['accuracy']:.3f}" in row  # its test score
    task = pipeline.load_task(path)
    card = build_card(task.config, metrics, task.lfs, np.zeros((1, 2)), {})
    assert card["gold_only"]["name"] == "minilm_finetune"
    assert card["metrics"]["gold_only"]["test"] == metrics["gold_only"]["test"]
    md = card_markdown(card)
    assert "## Against the dev gold alone" in md and "its gold-only twin (minilm_finetune" in md
    assert f"{metrics['gold_only']['test']['accuracy']:.3f}" in md
    budget = overview.gold_budget(metrics)  # the app's overview
    assert budget["gold_only_cv"] is None and budget["text"] == text
    table = overview.score_table(metrics)
    assert list(table[table["model"] == "gold-only baseline"]["split"]) == ["test"]
    assert distill.gold_only_rows(metrics)[0]["name"].startswith(
        "gold-only baseline (minilm_finetune")
    assert distill.gold_budget(metrics)["text"] == text


def test_gold_only_false_skips_it_and_says_so(tmp_path_factory):
    path = _task(tmp_path_factory, "skip", dict(TINY, gold_only=False))
    result = _cli("train", path)
    assert result.exit_code == 0, result.output
    metrics = json.loads((path.parent / "run" / "metrics.json").read_text())
    gold = metrics["gold_only"]
    assert gold["skipped"] == "params.gold_only = false" and "test" not in gold
    assert "no gold-only baseline: params.gold_only = false" in " ".join(result.output.split())
    assert metrics["end_model"]["name"] == "minilm_finetune"  # the end model still trained
    task = pipeline.load_task(path)
    md = card_markdown(build_card(task.config, metrics, task.lfs, np.zeros((1, 2)), {}))
    assert "params.gold_only = false" in md
    assert overview.gold_budget(metrics)["text"] == gold["text"]
    assert distill.gold_budget(metrics)["text"] == gold["text"]


@pytest.mark.parametrize("value", ["no", 0, {"seeds": 1}])
def test_a_bad_gold_only_value_is_a_one_line_error(make_task, value):
    config = make_task(config={"end_model": {"name": "minilm_finetune",
                                             "params": {"gold_only": value}}})
    for step in ("apply", "fit"):
        assert _cli(step, config).exit_code == 0
    result = _cli("train", config)
    assert result.exit_code == 2, result.output
    assert "end_model: params.gold_only must be true or false" in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output


def test_the_twin_with_a_gold_stage_trains_every_dev_row_and_no_other():
    dev = default_frames()["dev"]
    y = dev["label"].map({"ham": 0, "spam": 1}).to_numpy()
    model, report = fit_once_gold_only("minilm_finetune", dev["text"], y, 2,
                                       dict(TINY, gold_epochs=1, gold_lr=1e-4), 3.0, seed=1)
    assert report["gold_stage_rows"] == report["trained_rows"] == len(dev)
    assert report["params"]["gold_epochs"] == 1 and report["weak_rows"] == 0
    assert [h.get("stage") for h in model.history_] == [None, "gold"]


def test_the_twins_common_row_weight_does_not_change_it():
    # the loss divides the weights by their mean: dev_weight 3 (the pipeline's) and 1 (what
    # the twin takes when the pipeline's dev_weight is 0) give the same fit
    dev = default_frames()["dev"]
    y = dev["label"].map({"ham": 0, "spam": 1}).to_numpy()
    three, _ = fit_once_gold_only("minilm_finetune", dev["text"], y, 2, TINY, 3.0)
    one, report = fit_once_gold_only("minilm_finetune", dev["text"], y, 2, TINY, 0.0)
    assert report["dev_weight"] == 1.0
    for key in three.state_:
        np.testing.assert_allclose(three.state_[key], one.state_[key], atol=1e-5)


def test_an_end_model_on_the_gold_alone_is_its_own_twin(tmp_path_factory):
    path = _task(tmp_path_factory, "itself", dict(TINY, weak_weights=[0.0]))
    result = _cli("train", path)
    assert result.exit_code == 0, result.output
    metrics = json.loads((path.parent / "run" / "metrics.json").read_text())
    gold = metrics["gold_only"]
    assert metrics["end_model"]["label_mode"] == "gold_only"
    assert gold["verdict"] == "gold_only_chosen" and gold["loud"] and "test" not in gold
    assert "WARNING" in result.output and "IS the gold-only model" in result.output


def test_the_frozen_family_on_the_same_gold_is_shown_too(twin_run):
    """A fine-tune on a few hundred rows alone can be a weak baseline that flatters the
    LFs; the run also reports the default frozen family on the same dev gold."""
    path, train_out, evaluate_out, metrics, calls = twin_run
    frozen = metrics["gold_only_frozen"]
    assert frozen["name"] == "tfidf_minilm_avg" and frozen["n_dev"] == len(default_frames()["dev"])
    assert 0 <= frozen["cv"] <= 1 and set(frozen["test"]) >= {"accuracy", "f1"}
    assert len(calls) == 2  # it is not a third fine-tune
    for out in (train_out, evaluate_out):
        assert "default frozen family (tfidf_minilm_avg)" in " ".join(out.split())
    row = next(line for line in evaluate_out.splitlines() if "gold-only, frozen" in line)
    assert f"{frozen['test']['accuracy']:.3f}" in row
    task = pipeline.load_task(path)
    md = card_markdown(build_card(task.config, metrics, task.lfs, np.zeros((1, 2)), {}))
    assert "and the default frozen family (tfidf_minilm_avg) on them" in md
    table = overview.score_table(metrics)
    assert list(table[table["model"] == "gold-only, frozen family"]["split"]) == ["test"]
    kinds = [row["kind"] for row in distill.gold_only_rows(metrics)]
    assert kinds == ["gold_only", "gold_only_frozen"]


def test_gold_only_false_skips_the_frozen_baseline_too(tmp_path_factory):
    path = _task(tmp_path_factory, "skip_frozen", dict(TINY, gold_only=False))
    assert _cli("train", path).exit_code == 0
    metrics = json.loads((path.parent / "run" / "metrics.json").read_text())
    assert metrics["gold_only_frozen"] is None
    assert list(overview.score_table(metrics)["model"]).count("gold-only, frozen family") == 0
