"""The end model's stand-in when proposals are scored (labeling/suggest/stand_in.py): the
cross-fitted one never predicts a dev row with a model trained on that row's gold; bad
``stand_in`` values are one-line errors. Synthetic data, TF-IDF features (no MiniLM)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from labeling.suggest.context import Context
from labeling.suggest.proposal import InvalidProposal
from labeling.suggest.stand_in import (STAND_INS, WEAK_WEIGHTS, CrossFitProxy,
                                       make_stand_in)
from labeling.suggest.proxy import WeakLabelProxy
from labeling.train.end_model import weighted_targets
from labeling.train.soft_logreg import SoftLogisticRegression

WORDS = ["alpha", "beta", "gamma", "delta", "omega", "sigma", "kappa", "theta"]


def _prize_task(train, dev, y):
    """The suggester's context with one LF ("prize" -> spam, "lunch" -> ham) and the
    label model's stand-in probabilities: 0.9 for the LF's vote, 0.5 where it abstains."""
    lf = lambda texts: np.array([[1 if "prize" in t else 0 if "lunch" in t else -1]  # noqa: E731
                                 for t in texts])
    ctx = Context(labels=["ham", "spam"], texts={"train": train, "dev": dev},
                  L={"train": lf(train), "dev": lf(dev)}, y_dev=y, lf_names=["prize"],
                  label_model=("mv", {}), use_embeddings=False)
    covered = (ctx.L["train"] != -1).any(axis=1)
    proba_train = np.full((len(train), 2), 0.5)
    proba_train[covered] = np.eye(2)[ctx.L["train"][covered, 0]] * 0.8 + 0.1
    return ctx, proba_train, covered


def _memorisable(n_dev: int = 80, seed: int = 0):
    """Dev rows that only their own gold can label: each carries a token of its own (also
    in two uncovered train rows, so TF-IDF keeps it) and a random label; the weak rows
    (train rows with "prize") say nothing about those tokens. A model that saw a row's
    gold gets it right; one that did not is at chance."""
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.arange(n_dev) % 2)
    dev = [f"tok{i}x " + " ".join(rng.choice(WORDS, 3)) for i in range(n_dev)]
    weak = [" ".join(rng.choice(WORDS, 3)) + (" prize" if i % 2 else " lunch")
            for i in range(200)]
    carriers = [f"tok{i}x filler" for i in range(n_dev) for _ in range(2)]
    return _prize_task(weak + carriers, dev, y)


def _leaky_predict(proxy: CrossFitProxy, proba_train, covered) -> np.ndarray:
    """What the stand-in would be without cross-fitting: weak rows + every dev gold row,
    the held-out rows' own included, in one fit."""
    n_weak = int(covered.sum())
    rows, targets = weighted_targets(np.arange(n_weak), proba_train[covered],
                                     n_weak + np.arange(len(proxy.y_dev)), proxy.y_dev,
                                     proxy.dev_weight, proxy.weak_weight_)
    X = sparse.vstack([proxy.X_train[covered], proxy.X_dev]).tocsr()
    model = SoftLogisticRegression(C=proxy.C, max_iter=500).fit(X[rows], targets)
    return model.predict(proxy.X_dev)


def test_the_crossfit_stand_in_never_predicts_a_row_with_its_own_gold():
    ctx, proba_train, covered = _memorisable()
    proxy = CrossFitProxy(ctx)
    accuracy = float((proxy.predict(proba_train, covered) == proxy.y_dev).mean())
    leaky = float((_leaky_predict(proxy, proba_train, covered) == proxy.y_dev).mean())
    assert leaky >= 0.95  # the data lets a model that saw the rows' gold memorise them
    assert accuracy <= 0.7, accuracy  # cross-fitted: at chance on labels it never saw
    assert proxy.weak_weight_ in WEAK_WEIGHTS and set(proxy.weight_scores_) == set(WEAK_WEIGHTS)


def test_the_crossfit_stand_in_learns_from_the_other_folds_gold():
    """Where gold rows generalise (the label is in a word other rows share) and the weak
    rows say nothing, the weak-label model is at chance and the cross-fitted one is not:
    the gold rows are in its training, only never a row's own."""
    rng = np.random.default_rng(3)
    y = np.arange(100) % 2
    dev = [" ".join(rng.choice(WORDS, 3)) + (" winner" if y[i] else " meeting")
           for i in range(100)]
    train = ([" ".join(rng.choice(WORDS, 3)) + (" prize" if i % 2 else " lunch")
              for i in range(200)] + ["winner filler", "winner note", "meeting filler",
                                      "meeting note"])
    ctx, proba_train, covered = _prize_task(train, dev, y)
    weak, crossfit = make_stand_in("weak", ctx), make_stand_in("crossfit", ctx)
    assert type(weak) is WeakLabelProxy and isinstance(crossfit, CrossFitProxy)
    assert crossfit.score(crossfit.predict(proba_train, covered)) >= 0.95
    assert weak.score(weak.predict(proba_train, covered)) <= 0.75


def test_suggest_runs_with_the_crossfit_stand_in():
    from labeling.suggest.engine import suggest

    rng = np.random.default_rng(1)
    y = np.array([0] * 60 + [1] * 40)
    dev = [" ".join(rng.choice(WORDS, 4)) + (" click here" if i >= 80 else "")
           + (" prize winner" if 60 <= i < 80 else "") for i in range(len(y))]
    train = [" ".join(rng.choice(WORDS, 4)) + (" click here" if i % 5 == 0 else "")
             + (" prize winner" if i % 5 == 1 else "") for i in range(400)]
    lf = lambda texts: np.array([[1 if "click" in t else -1] for t in texts])  # noqa: E731
    ctx = Context(labels=["ham", "spam"], texts={"train": train, "dev": dev},
                  L={"train": lf(train), "dev": lf(dev)}, y_dev=y, lf_names=["click"],
                  label_model=("mv", {}), use_embeddings=False)
    result = suggest(ctx, n=3, stand_in="crossfit")
    assert result.rows and all(r["weak_dev_after"] == r["weak_dev_after"] for r in result.rows)


@pytest.mark.parametrize("value", ["end", "", None, "CROSSFIT"])
def test_a_bad_stand_in_is_a_one_line_error(value):
    from labeling.suggest.engine import suggest
    from labeling.suggest.select import score_all

    ctx, _, _ = _memorisable(n_dev=10)
    for call in (lambda: suggest(ctx, stand_in=value),
                 lambda: score_all([], ctx, None, 3, stand_in=value)):
        with pytest.raises(InvalidProposal) as err:
            call()
        message = str(err.value)
        assert "\n" not in message and "stand_in" in message and repr(value) in message
        assert all(name in message for name in STAND_INS)


def test_bad_weak_weights_are_a_one_line_error():
    ctx, _, _ = _memorisable(n_dev=10)
    with pytest.raises(ValueError, match=r"^weak_weights must be positive weights or None"):
        CrossFitProxy(ctx, weak_weights=(0.0, 1.0))
