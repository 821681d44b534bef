"""The multi-label ``minilm_finetune``'s gold-only twin (docs/finetune.md, "The gold-only
twin in every run"): the same fine-tune, params and seed on the dev gold rows alone,
holding out exactly the end model's held-out dev rows (passed, not re-drawn), so both are
compared on dev there; metrics.json ``gold_only`` names it, its test scores are its own
(before: the frozen ``tfidf_minilm_avg`` on the dev gold was the baseline); the frozen
family stays as ``gold_only_frozen``; ``params = {gold_only = false}`` skips both.

Kept tiny as tests/test_finetune_multilabel.py: a few dozen rows, one epoch, 16 tokens.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_finetune_multilabel import (DEV, LABELS, P_WEAK, TINY, TINY_TOML, WEAK,  # noqa: E402
                                      _cli, _gold, _with_end_model)
from test_multilabel import _rows  # noqa: E402
from test_multilabel_export import _project  # noqa: E402

from labeling.export import load_model  # noqa: E402
from labeling.export.multilabel_card import gold_only_summary  # noqa: E402
from labeling.multilabel_steps.common import score_splits  # noqa: E402
from labeling.train import finetune_multilabel as ftml  # noqa: E402
from labeling.train import finetune_net  # noqa: E402
from labeling.train.finetune_multilabel import (MiniLMFineTunedMultiLabel,  # noqa: E402
                                                fit_task, task_rows)

TEST = _rows(30, 3)


class _LoopSpy:
    """Stands in for the training loop: records the estimator, the texts and the
    held-out mask of every fit, then trains as the loop does."""

    def __init__(self):
        self.calls, self.loop = [], finetune_net.fit_network

    def __call__(self, est, texts, targets, weights, held, *args, **kwargs):
        self.calls.append({"est": est, "texts": list(texts), "held": np.asarray(held).copy()})
        return self.loop(est, texts, targets, weights, held, *args, **kwargs)


def _fit_task(params: dict):
    spy = _LoopSpy()
    texts = {"train": WEAK["text"].tolist(), "dev": DEV["text"].tolist(),
             "test": TEST["text"].tolist()}
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(finetune_net, "fit_network", spy)
        model, baselines, fields = fit_task(texts, P_WEAK, _gold(DEV), params, LABELS)
    return spy, texts, model, baselines, fields


@pytest.fixture(scope="module")
def fitted():
    return _fit_task(dict(TINY))


def test_the_twin_saw_only_dev_texts_and_held_out_the_end_models_rows(fitted):
    spy, texts, model, _, fields = fitted
    end_call, twin_call = spy.calls  # the end model, then its twin: two fits, no more
    assert end_call["est"] is model and twin_call["est"] is not model
    assert twin_call["texts"] == texts["dev"]  # every dev row, in order; no weak row
    held_dev = np.zeros(len(DEV), bool)
    held_dev[model.held_out_rows_ - len(P_WEAK)] = True
    assert held_dev.sum() == round(0.3 * len(DEV))
    np.testing.assert_array_equal(twin_call["held"], held_dev)  # the same rows, not a redraw
    np.testing.assert_array_equal(end_call["held"][len(P_WEAK):], held_dev)
    twin = twin_call["est"]
    # what the loop fed to the network: every dev row not held out, nothing else
    np.testing.assert_array_equal(twin.trained_rows_, np.flatnonzero(~held_dev))
    np.testing.assert_array_equal(twin.held_out_rows_, np.flatnonzero(held_dev))
    assert fields["gold_only"]["trained_rows"] == len(DEV) - held_dev.sum()
    assert fields["gold_only"]["held_out_rows"] == held_dev.sum()
    assert fields["gold_only"]["weak_rows"] == 0
    assert twin.get_params() == model.get_params()  # same params and seed


def test_metrics_gold_only_is_the_twin_with_per_label_dev_f1_on_the_same_rows(fitted):
    spy, _, model, _, fields = fitted
    twin, gold, frozen = spy.calls[1]["est"], fields["gold_only"], fields["gold_only_frozen"]
    assert gold["name"] == "minilm_finetune" and frozen["name"] == "tfidf_minilm_avg"
    assert gold["dev_cv_f1"] == dict(zip(LABELS, np.round(twin.dev_heldout_f1_, 4).tolist()))
    assert gold["dev_cv_macro_f1"] == round(float(np.mean(twin.dev_heldout_f1_)), 4)
    assert gold["end_model_dev_cv_macro_f1"] == fields["end_model"]["dev_cv_macro_f1"]
    assert set(frozen["dev_cv_f1"]) == set(LABELS) and "dev_3fold_cv_f1" in frozen
    assert isinstance(gold["fit_seconds"], float)  # recorded (its size is machine-dependent)
    assert gold["thresholds"] == dict(
        zip(LABELS, np.round(twin.thresholds_, 4).tolist()))
    end, mine = fields["end_model"]["dev_cv_macro_f1"], gold["dev_cv_macro_f1"]
    assert gold["verdict"] == ("pipeline_ahead" if end > mine else "tie" if end == mine
                               else "gold_only_ahead")
    assert gold["loud"] == (mine >= end)
    n_held = len(model.held_out_rows_)
    assert f"on the same {n_held} dev rows" in gold["text"]
    assert f"end model {end:.3f}" in gold["text"] and f"{mine:.3f}" in gold["text"]


def test_the_twins_test_predictions_are_its_own(fitted):
    spy, texts, _, baselines, _ = fitted
    twin = spy.calls[1]["est"]
    expected = (twin.predict_proba(texts["test"]) >= twin.thresholds_).astype(np.int8)
    np.testing.assert_array_equal(baselines["gold_only"]("test"), expected)
    assert set(baselines) == {"gold_only", "gold_only_frozen"}


def test_gold_only_false_fits_no_twin():
    spy, _, _, baselines, fields = _fit_task(dict(TINY, gold_only=False))
    assert len(spy.calls) == 1 and baselines == {}
    assert fields["gold_only"]["skipped"] == "params.gold_only = false"
    assert fields["gold_only"]["text"].startswith("no gold-only baseline")
    assert "gold_only_frozen" not in fields


def test_a_given_held_out_mask_must_mark_gold_rows():
    texts, Y, w, gold = task_rows(WEAK["text"], P_WEAK, DEV["text"], _gold(DEV))
    held = np.zeros(len(texts), bool)
    held[[0, 50, 51, 52]] = True  # row 0 is a weak row
    with pytest.raises(ValueError, match="held marks row 0, not a gold row"):
        MiniLMFineTunedMultiLabel(**TINY).fit(texts, Y, w, gold=gold, held=held)
    with pytest.raises(ValueError, match="held must be a boolean mask"):
        MiniLMFineTunedMultiLabel(**TINY).fit(texts, Y, w, gold=gold, held=held[:-1])


# --- the CLI: labeling train / evaluate, and a retrain without the twin -----------------

@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    config = _with_end_model(_project(tmp_path_factory.mktemp("ft_twin")), TINY_TOML)
    twins = []

    def spy(*args, **kwargs):
        twins.append(ftml_fit_twin(*args, **kwargs))
        return twins[-1]

    ftml_fit_twin = ftml.fit_twin
    for step in ("apply", "fit"):
        result = _cli(step, config)
        assert result.exit_code == 0, result.output
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ftml, "fit_twin", spy)
        result = _cli("train", config)
    assert result.exit_code == 0, result.output
    (twin, _), = twins
    return config, config.parent / "runs" / "ml", twin


def _section(run_dir: Path) -> dict:
    return json.loads((run_dir / "metrics.json").read_text())["multi_label"]


def test_run_metrics_name_the_twin_and_score_its_own_test_predictions(trained):
    config, run_dir, twin = trained
    section = _section(run_dir)
    gold, end = section["gold_only"], section["end_model"]
    n_dev, n_train = len(pd.read_csv(config.parent / "dev.csv")), 200
    assert gold["name"] == "minilm_finetune" and set(gold["dev_cv_f1"]) == set(LABELS)
    assert gold["trained_rows"] == n_dev - gold["held_out_rows"]
    model = load_model(run_dir / "end_model.skops")
    np.testing.assert_array_equal(twin.held_out_rows_, model.held_out_rows_ - n_train)
    assert section["gold_only_frozen"]["name"] == "tfidf_minilm_avg"
    assert end["dev_protocol"].startswith("held_out")
    test = pd.read_csv(config.parent / "test.csv")
    Y = {"test": np.array([[int(lab in s.split(";")) for lab in LABELS]
                           for s in test["labels"]])}
    mine = score_splits({"test": twin.predict(test["text"].tolist())}, Y, LABELS)["test"]
    assert section["scores"]["gold_only"]["test"] == json.loads(json.dumps(mine))
    assert set(section["scores"]) >= {"end_model", "gold_only", "gold_only_frozen"}
    result = _cli("evaluate", config)
    assert result.exit_code == 0 and "its gold-only twin" in " ".join(result.output.split())


def test_card_text_is_the_twins_and_an_old_frozen_baseline_is_named():
    section = {"end_model": {"name": "minilm_finetune", "dev_protocol": "held_out: 3",
                             "dev_cv_f1": {"a": 0.5}},
               "gold_only": {"name": "minilm_finetune", "dev_cv_f1": {"a": 0.6},
                             "text": "held-out dev macro F1 ... twin", "loud": True},
               "n_dev": 10, "scores": {}}
    summary = gold_only_summary(section)
    assert summary["text"] == "held-out dev macro F1 ... twin" and summary["loud"] is True
    section["gold_only"] = {"name": "tfidf_minilm_avg", "dev_cv_f1": {"a": 0.6}}
    text = gold_only_summary(section)["text"]  # a run from before the twin
    assert text.startswith("tfidf_minilm_avg trained on the 10 dev gold label sets")


def test_retrain_without_the_twin_drops_its_scores(trained, tmp_path):
    config, run_dir, _ = trained
    text = config.read_text(encoding="utf-8").replace("progress = false",
                                                      "progress = false, gold_only = false")
    config.write_text(text, encoding="utf-8")
    result = _cli("train", config)
    assert result.exit_code == 0, result.output
    section = _section(run_dir)
    assert section["gold_only"]["skipped"] == "params.gold_only = false"
    assert not {"gold_only", "gold_only_frozen"} & set(section["scores"])
    assert "gold_only_frozen" not in section
    result = _cli("evaluate", config)
    assert "no gold-only baseline" in " ".join(result.output.split())


def test_bad_gold_only_value_is_a_one_line_error(tmp_path):
    config = _with_end_model(_project(tmp_path), '[end_model]\nname = "minilm_finetune"\n'
                                                 'params = { gold_only = "no" }\n')
    result = _cli("run", config, "--no-progress")
    assert result.exit_code == 2, result.output
    error = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(error) == 1 and "end_model: params.gold_only must be true or false" in error[0]
    assert "Traceback" not in result.output
