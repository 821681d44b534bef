"""``minilm_finetune``'s optional second stage on the dev gold rows alone (``gold_epochs``,
``gold_lr``; labeling/train/finetune_gold.py, docs/finetune.md)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from labeling.cli import app
from labeling.export.provenance import training_summary
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
    """The texts of every call of the training loop (both stages go through it); the
    call's weights and learning rates in ``train_calls.args`` (the same order)."""
    calls, real = Calls(), finetune_net.train

    def spy(net, tokenizer, texts, targets, weights, held, est, *args, **kwargs):
        calls.append([str(t) for t in texts])
        calls.args.append({"weights": np.asarray(weights, float).copy(),
                           "lr": float(est.lr), "head_lr": float(est.head_lr)})
        return real(net, tokenizer, texts, targets, weights, held, est, *args, **kwargs)

    monkeypatch.setattr(finetune_net, "train", spy)
    return calls


class Calls(list):
    """A list of the training loop's calls (their texts) with ``args`` beside it."""

    def __init__(self):
        super().__init__()
        self.args = []


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


def test_second_stage_trains_at_gold_lr(train_calls):
    MiniLMFineTuned(seed=0, lr=3e-5, gold_epochs=1, gold_lr=1e-4, **TINY).fit(
        TEXTS, LABELS, gold=GOLD)
    first, second = train_calls.args
    assert (first["lr"], first["head_lr"]) == (3e-5, 1e-3)  # the first stage's rates ...
    assert (second["lr"], second["head_lr"]) == (1e-4, 1e-4)  # ... then gold_lr for both


def test_a_dev_text_given_twice_weighs_twice_in_the_gold_stage(train_calls):
    twice = TEXTS[0]  # a gold row (GOLD marks every 4th row), given once more as gold
    texts, labels = TEXTS + [twice], np.append(LABELS, LABELS[0])
    gold = np.append(GOLD, True)
    weights = np.where(gold, 3.0, 1.0)  # as train_end_model weighs dev rows
    MiniLMFineTuned(seed=0, gold_epochs=1, **TINY).fit(texts, labels, weights, gold=gold)
    gold_texts, gold_weights = train_calls[1], train_calls.args[1]["weights"]
    assert sorted(gold_texts) == sorted(set(np.asarray(TEXTS, dtype=object)[GOLD]))
    by_text = dict(zip(gold_texts, gold_weights))
    assert by_text[twice] == 6.0
    assert all(w == 3.0 for t, w in by_text.items() if t != twice)


def test_rows_held_out_of_stage_one_and_trained_in_stage_two_are_recorded(train_calls):
    # at seed 1, gold rows 0 and 28 are among stage 1's held-out rows (checked below)
    model = MiniLMFineTuned(seed=1, gold_epochs=1, **TINY).fit(TEXTS, LABELS, gold=GOLD)
    gold_rows, held = np.flatnonzero(GOLD), model.held_out_rows_
    assert len(np.intersect1d(held, gold_rows)) > 0  # else this test checks nothing
    row_of = {text: i for i, text in enumerate(TEXTS)}  # TEXTS are distinct: row = index
    stage1 = sorted(row_of[t] for t in train_calls[0])  # texts the first stage was given
    assert np.isin(gold_rows, model.trained_rows_).all()  # the held-out gold rows too
    np.testing.assert_array_equal(
        model.trained_rows_, np.union1d(np.setdiff1d(stage1, held), gold_rows))
    assert model.n_train_rows_ == len(model.trained_rows_)
    np.testing.assert_array_equal(model.gold_trained_rows_,
                                  sorted(row_of[t] for t in train_calls[1]))
    np.testing.assert_array_equal(model.gold_trained_rows_, gold_rows)
    plain = MiniLMFineTuned(seed=1, **TINY).fit(TEXTS, LABELS, gold=GOLD)
    assert len(plain.gold_trained_rows_) == 0  # one stage: trained and held out disjoint
    assert len(np.intersect1d(plain.trained_rows_, plain.held_out_rows_)) == 0


def test_default_is_one_stage(train_calls):
    MiniLMFineTuned(seed=0, **TINY).fit(TEXTS, LABELS)
    assert len(train_calls) == 1


def test_train_end_model_marks_the_dev_rows_as_gold(monkeypatch):
    seen = {}

    def fake(est, texts, targets, weights):
        seen.update(texts=sorted(texts), targets=targets, weights=weights)
        return est.state_, [{"stage": "gold", "epoch": 1}], np.ones(len(texts), bool)

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


def _card_text(name, params, dev_rows=40):
    end = {"name": name, "params": params, "label_mode": "soft", "train_rows": 100,
           "dev_rows_trained_on": dev_rows, "dev_weight": 3.0 if dev_rows else 0.0}
    return training_summary({"end_model": end}, {})


def test_the_model_card_names_the_gold_stage():
    card = _card_text("minilm_finetune", {"gold_epochs": 4, "gold_lr": 5e-5})
    assert card["text"].endswith("40 dev gold (hand-labeled) rows, each weighted 3; then 4 "
                                 "epochs on the dev gold rows alone at learning rate 5e-05.")
    assert card["gold_stage"] == {"gold_epochs": 4, "gold_lr": 5e-5}
    default_lr = _card_text("minilm_finetune", {"gold_epochs": 2})  # gold_lr not given
    assert "then 2 epochs on the dev gold rows alone at learning rate 2e-05." in \
        default_lr["text"]
    for name, params in [("minilm_finetune", {}), ("minilm_finetune", {"gold_epochs": 0}),
                         ("tfidf_logreg", {"C": 1.0})]:
        plain = _card_text(name, params)
        assert "alone" not in plain["text"] and "gold_stage" not in plain
