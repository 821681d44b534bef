"""``minilm_finetune``'s ``[end_model] params``: every bad name or value is one line naming
the param, before anything is fit (docs/finetune.md). Found by a user walkthrough: an
unknown name was Python's ``__init__() got an unexpected keyword argument``; ``seed``
(which the docs showed in params) clashed with the task's seed in a TypeError;
``epochs = 2.5`` trained 2 epochs and ``epochs = true`` one; ``patience = 0`` stopped
after the first epoch; ``max_seq_len`` above the encoder's 512 positions crashed
mid-training on the first long text; ``progress = "no"`` showed the bar."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from labeling.cli import app
from labeling.train import finetune_net
from labeling.train.finetune import MiniLMFineTuned, make_minilm_finetune


@pytest.mark.parametrize("params, message", [
    ({"epochs": 2.5}, "epochs must be an integer >= 1, got 2.5"),
    ({"epochs": True}, "epochs must be an integer >= 1, got True"),
    ({"epochs": -1}, "epochs must be an integer >= 1, got -1"),
    ({"epochs": "3"}, "epochs must be an integer >= 1, got '3'"),
    ({"batch_size": 0}, "batch_size must be an integer >= 1, got 0"),
    ({"patience": 0}, "patience must be an integer >= 1, got 0"),
    ({"max_seq_len": 4}, "max_seq_len must be an integer >= 8, got 4"),
    ({"max_seq_len": 10000}, "max_seq_len must be <= 512 (the encoder's positions), got 10000"),
    ({"lr": -1e-5}, "lr must be a number > 0, got -1e-05"),
    ({"head_lr": 0}, "head_lr must be a number > 0, got 0"),
    ({"warmup": 2}, "warmup must be in [0, 1]"),
    ({"dropout": 1.0}, "dropout must be in [0, 1), got 1.0"),
    ({"val_fraction": 0.6}, "val_fraction must be in [0, 0.5), got 0.6"),
    ({"max_time": 0}, "max_time must be > 0 seconds"),
    ({"max_time": "1h"}, "max_time must be > 0 seconds (or left out: no limit), got '1h'"),
    ({"progress": "no"}, "progress must be true or false, got 'no'"),
    ({"epoch": 3}, "unknown param 'epoch'"),
    ({"model_path": "/nonexistent/minilm"},  # was a FileNotFoundError traceback
     "model_path '/nonexistent/minilm': no config.json there"),
])
def test_bad_param_is_named_before_any_fit(monkeypatch, params, message):
    def no_fit(*args, **kwargs):
        raise AssertionError("the network was trained")

    monkeypatch.setattr(finetune_net, "fit_network", no_fit)
    with pytest.raises(ValueError) as raised:
        make_minilm_finetune(seed=0, **params)
    assert str(raised.value).startswith("minilm_finetune: ") and message in str(raised.value)
    if "unknown" not in message:  # fit checks the same (sklearn's clone bypasses the factory)
        with pytest.raises(ValueError, match="minilm_finetune: "):
            MiniLMFineTuned(**params).fit(["a b", "c d", "e f", "g h"], [0, 1, 0, 1])


def test_good_params_pass():
    model = make_minilm_finetune(seed=3, epochs=2, max_seq_len=512, max_time=60.5, lr=1e-4,
                                 progress=False, val_fraction=0, warmup=0)
    assert model.seed == 3 and model.epochs == 2


@pytest.mark.parametrize("params, message", [
    ({"seed": 0}, "seed is not an [end_model] param: the task's top-level `seed`"),
    ({"foo": 1}, "minilm_finetune: unknown param 'foo'"),
    ({"epochs": 0}, "minilm_finetune: epochs must be an integer >= 1, got 0"),
])
def test_cli_bad_params_one_line(make_task, params, message):
    config = make_task(config={"end_model": {"name": "minilm_finetune", "params": params}})
    result = CliRunner().invoke(app, ["run", str(config), "--no-progress"])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.strip().splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and message in " ".join(result.output.split()), result.output
    assert "Traceback" not in result.output


# --- max_time: a cut schedule is said, not silent -----------------------------------------

TEXTS = ["check out my channel", "subscribe to me", "free money here", "visit my page",
         "i love this song", "great video", "beautiful voice", "best song ever"] * 3
LABELS = [1, 1, 1, 1, 0, 0, 0, 0] * 3
TINY = dict(max_seq_len=16, batch_size=4, progress=False, val_fraction=0)


def test_max_time_cut_is_recorded():
    from labeling.train.finetune import schedule_record

    cut = MiniLMFineTuned(epochs=3, max_time=1e-6, **TINY).fit(TEXTS, LABELS)
    assert len(cut.history_) == 1 and cut.history_[-1]["stopped"] == "max_time"
    record = schedule_record(cut)
    assert record["stopped"] == "max_time" and record["best_epoch"] == 1
    assert record["stopped_text"].startswith(
        "minilm_finetune: max_time (1e-06 s) cut training in epoch 1 of 3")
    full = MiniLMFineTuned(epochs=1, **TINY).fit(TEXTS, LABELS)
    assert "stopped" not in full.history_[-1] and "stopped" not in schedule_record(full)


def test_cli_says_max_time_cut_the_end_model_and_its_twin(make_task):
    import json

    params = {"epochs": 2, "max_time": 1e-6, "max_seq_len": 16, "batch_size": 8}
    config = make_task(config={"end_model": {"name": "minilm_finetune", "params": params}})
    result = CliRunner().invoke(app, ["run", str(config), "--no-progress"])
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())
    assert "minilm_finetune: max_time (1e-06 s) cut training in epoch 1 of 2" in flat
    assert "its gold-only twin: max_time (1e-06 s) cut training in epoch 1 of 2" in flat
    metrics = json.loads((config.parent / "run" / "metrics.json").read_text())
    assert metrics["end_model"]["stopped"] == "max_time"
    assert metrics["gold_only"]["stopped"] == "max_time"
    assert len(metrics["end_model"]["history"]) == 1


def test_saving_keeps_the_live_models_network():
    """Before: ``__getstate__`` popped the network from the live ``__dict__`` (object's
    ``__getstate__`` returns it, not a copy), so every save (export, pickle) dropped the
    fitted model's torch module, rebuilt on its next predict."""
    model = MiniLMFineTuned()
    model._net, model._tokenizer = object(), object()
    state = model.__getstate__()
    assert "_net" not in state and "_tokenizer" not in state
    assert hasattr(model, "_net") and hasattr(model, "_tokenizer")
