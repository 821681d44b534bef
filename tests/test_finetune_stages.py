"""``minilm_finetune``'s optional second stage on the dev gold rows alone (``gold_epochs``,
``gold_lr``; labeling/train/finetune_gold.py, docs/finetune.md)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from labeling.cli import app
from labeling.train import finetune_gold, finetune_net
from labeling.train.end_model import train_end_model
from labeling.train.finetune import MiniLMFineTuned

sys.path.insert(0, str(Path(__file__).parent))
from conftest import HAM_TEXTS, SPAM_TEXTS  # noqa: E402

TINY = dict(epochs=1, max_seq_len=16, batch_size=8, progress=False)
TEXTS = SPAM_TEXTS + HAM_TEXTS + [t.upper() for t in SPAM_TEXTS + HAM_TEXTS]
LABELS = np.array(([1] * len(SPAM_TEXTS) + [0] * len(HAM_TEXTS)) * 2)
GOLD = np.arange(len(TEXTS)) % 4 == 0


@pytest.fixture
def train_calls(monkeypatch):
    """The texts of every call of the training loop (both stages go through it)."""
    calls, real = [], finetune_net.train

    def spy(net, tokenizer, texts, *args, **kwargs):
        calls.append([str(t) for t in texts])
        return real(net, tokenizer, texts, *args, **kwargs)

    monkeypatch.setattr(finetune_net, "train", spy)
    return calls


def test_second_stage_trains_on_the_gold_rows_alone(train_calls):
    model = MiniLMFineTuned(seed=0, gold_epochs=2, gold_lr=1e-4, **TINY)
    assert model.fit(TEXTS, LABELS, gold=GOLD) is model
    assert len(train_calls) == 2  # stage 1 on every row, stage 2 on the gold rows only
    assert sorted(train_calls[0]) == sorted(TEXTS)
    assert sorted(train_calls[1]) == sorted(np.asarray(TEXTS, dtype=object)[GOLD])
    assert [h.get("stage") for h in model.history_] == [None, "gold", "gold"]
    plain = MiniLMFineTuned(seed=0, **TINY).fit(TEXTS, LABELS, gold=GOLD)
    assert plain.history_ == model.history_[:1]  # the same first stage ...
    assert any(not np.array_equal(plain.state_[k], model.state_[k]) for k in plain.state_)
    again = MiniLMFineTuned(seed=0, gold_epochs=2, gold_lr=1e-4, **TINY).fit(TEXTS, LABELS,
                                                                             gold=GOLD)
    assert all(np.array_equal(again.state_[k], model.state_[k]) for k in model.state_)
    proba = model.predict_proba(TEXTS[:4])  # ... and a fitted model that predicts
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)


def test_default_is_one_stage(train_calls):
    MiniLMFineTuned(seed=0, **TINY).fit(TEXTS, LABELS)
    assert len(train_calls) == 1


def test_train_end_model_marks_the_dev_rows_as_gold(monkeypatch):
    seen = {}

    def fake(est, texts, targets, weights):
        seen.update(texts=sorted(texts), targets=targets, weights=weights)
        return est.state_, [{"stage": "gold", "epoch": 1}]

    monkeypatch.setattr(finetune_gold, "train_on_gold", fake)
    weak, dev = TEXTS[:24], TEXTS[24:]
    probs = np.tile([0.3, 0.7], (len(weak), 1))
    train_end_model(weak, probs, np.ones(len(weak), bool), "minilm_finetune",
                    dev_texts=dev, y_dev=LABELS[24:], dev_weight=3.0, gold_epochs=1, **TINY)
    assert seen["texts"] == sorted(dev) and np.all(seen["weights"] == 3.0)
    np.testing.assert_array_equal(seen["targets"][np.argsort(dev)],
                                  np.eye(2)[LABELS[24:][np.argsort(dev)]])


@pytest.mark.parametrize("params, match", [
    ({"gold_epochs": -1}, "gold_epochs must be an integer >= 0"),
    ({"gold_epochs": 1.5}, "gold_epochs must be an integer >= 0"),
    ({"gold_epochs": True}, "gold_epochs must be an integer >= 0"),
    ({"gold_epochs": "2"}, "gold_epochs must be an integer >= 0"),
    ({"gold_epochs": 1, "gold_lr": 0}, "gold_lr must be a number > 0"),
    ({"gold_epochs": 1, "gold_lr": float("nan")}, "gold_lr must be a number > 0"),
])
def test_bad_values_are_one_line_errors(params, match, train_calls):
    with pytest.raises(ValueError, match=match) as err:
        MiniLMFineTuned(**TINY, **params).fit(TEXTS, LABELS, gold=GOLD)
    assert "\n" not in str(err.value) and train_calls == []  # refused before training


def test_second_stage_without_gold_rows_is_an_error(train_calls):
    with pytest.raises(ValueError, match="needs dev gold rows"):
        MiniLMFineTuned(gold_epochs=1, **TINY).fit(TEXTS, LABELS)
    assert train_calls == []


def test_bad_value_in_the_config_is_a_one_line_cli_error(make_task):
    config = make_task(config={"end_model": {"name": "minilm_finetune",
                                             "params": {"gold_epochs": -2}}})
    result = CliRunner().invoke(app, ["run", str(config), "--no-progress"])
    assert result.exit_code == 2
    assert "end_model: minilm_finetune: gold_epochs must be an integer >= 0" in result.output
