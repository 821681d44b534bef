"""Multi-label end model (#15): its weak-weight and threshold dev CV over ``n_repeats``
K-fold splits (fold seeds seed, seed + 1, ...), the repeats' out-of-fold probabilities
pooled (labeling/train/multilabel_cv.py). One repeat is the one-split CV before,
exactly; ``[end_model] params = {n_repeats = 3}`` reaches the model and the record."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.model_selection import KFold
from typer.testing import CliRunner

from labeling.cli import app
from labeling.models.multilabel import best_threshold
from labeling.session import Session
from labeling.train.multilabel import OneVsRestEndModel, weight_key

sys.path.insert(0, str(Path(__file__).parent))
from test_multilabel_weak_weight import _mixed_task, _project  # noqa: E402


def _oof_by_candidate(end, features, P, Y, seeds) -> dict:
    """The CV written out: per candidate, one out-of-fold probability matrix per fold
    seed (shuffled 3-fold KFold), each fold fit by the model's own ``_fit_heads``."""
    n, k = Y.shape
    out = {}
    for weight in end.candidates(P):
        out[weight_key(weight)] = []
        for seed in seeds:
            oof = np.zeros((n, k))
            for fit_rows, held in KFold(3, shuffle=True, random_state=seed).split(np.arange(n)):
                heads = end._fit_heads(features, P, Y, fit_rows, weight)
                oof[held] = end._proba(heads, features, "dev", held)
            out[weight_key(weight)].append(oof)
    return out


def _cuts(Y, oofs) -> np.ndarray:
    """label x (threshold, F1): the best cut on the repeats' OOF rows stacked."""
    Y_all, P_all = np.tile(Y, (len(oofs), 1)), np.vstack(oofs)
    return np.array([best_threshold(Y_all[:, c], P_all[:, c]) for c in range(Y.shape[1])])


def test_one_repeat_is_the_one_split_cv_bit_for_bit():
    features, P, Y = _mixed_task()
    one = OneVsRestEndModel("tfidf_logreg", n_repeats=1, seed=4).fit(features, P, Y)
    default = OneVsRestEndModel("tfidf_logreg", seed=4).fit(features, P, Y)
    oofs = _oof_by_candidate(one, features, P, Y, seeds=[4])
    cuts = {key: _cuts(Y, o) for key, o in oofs.items()}
    assert one.cv_scores_ == {key: np.round(c[:, 1], 4).tolist() for key, c in cuts.items()}
    chosen = np.array([cuts[weight_key(w)][c] for c, w in enumerate(one.weak_weight_)])
    assert np.array_equal(one.thresholds_, chosen[:, 0])  # exact, not approx
    assert np.array_equal(one.dev_cv_f1_, chosen[:, 1])
    # the default is one repeat: the same model, probabilities equal to the last bit
    assert default.n_repeats == 1 and default.cv_scores_ == one.cv_scores_
    assert np.array_equal(default.thresholds_, one.thresholds_)
    assert np.array_equal(default.predict_proba(features, "dev"),
                          one.predict_proba(features, "dev"))


def test_three_repeats_fit_three_different_splits_and_pool_them():
    features, P, Y = _mixed_task()
    end = OneVsRestEndModel("tfidf_logreg", n_repeats=3, seed=4)
    fits = []  # spy: the dev rows each CV fit trains on
    fit_heads = end._fit_heads
    end._fit_heads = lambda f, P_, Y_, rows, w=None: (fits.append((weight_key(w), tuple(rows)))
                                                      or fit_heads(f, P_, Y_, rows, w))
    end.fit(features, P, Y)
    del end._fit_heads
    n_candidates = len(end.cv_scores_)
    cv_fits = fits[:-len(set(map(weight_key, end.weak_weight_)))]  # then the final fits
    assert len(cv_fits) == n_candidates * 3 * 3  # candidates x repeats x folds
    per_candidate = {}
    for key, rows in cv_fits:
        per_candidate.setdefault(key, []).append(rows)
    expected = [tuple(fit) for seed in (4, 5, 6)  # fold seeds seed, seed + 1, seed + 2
                for fit, _ in KFold(3, shuffle=True, random_state=seed).split(np.arange(len(Y)))]
    assert len(set(expected)) == 9  # three different splits
    for rows in per_candidate.values():  # every candidate on the same nine folds
        assert rows == expected
    # the scores are the pooled OOF rows of the three repeats, not the first split's
    oofs = _oof_by_candidate(end, features, P, Y, seeds=[4, 5, 6])
    pooled = {key: _cuts(Y, o) for key, o in oofs.items()}
    first = {key: _cuts(Y, o[:1]) for key, o in oofs.items()}
    assert end.cv_scores_ == {key: np.round(c[:, 1], 4).tolist() for key, c in pooled.items()}
    assert end.cv_scores_ != {key: np.round(c[:, 1], 4).tolist() for key, c in first.items()}
    one = OneVsRestEndModel("tfidf_logreg", n_repeats=1, seed=4).fit(features, P, Y)
    assert end.cv_scores_ != one.cv_scores_
    chosen = np.array([pooled[weight_key(w)][c] for c, w in enumerate(end.weak_weight_)])
    assert np.array_equal(end.thresholds_, chosen[:, 0])
    assert end.weak_weight_record(["a", "b", "c"])["cv_repeats"] == 3


@pytest.mark.parametrize("bad", [0, -1, 1.5, "3", True, None])
def test_bad_n_repeats_is_one_line(bad):
    features, P, Y = _mixed_task()
    for call in (lambda m: m.candidates(P), lambda m: m.fit(features, P, Y)):
        with pytest.raises(ValueError) as info:
            call(OneVsRestEndModel("tfidf_logreg", n_repeats=bad))
        message = str(info.value)
        assert message.startswith("n_repeats must be an integer >= 1") and "\n" not in message
        assert repr(bad) in message


def test_config_n_repeats_reaches_the_model_and_the_record(tmp_path):
    config = _project(tmp_path / "three", "params = {n_repeats = 3}")
    result = CliRunner().invoke(app, ["run", str(config), "--no-progress"])
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "three/runs/ml/metrics.json").read_text())
    assert metrics["multi_label"]["end_model"]["cv_repeats"] == 3
    session = Session(config)  # the notebook API reports it too
    session.apply()
    session.fit()
    assert session.train()["cv_repeats"] == 3
    default = _project(tmp_path / "one")
    result = CliRunner().invoke(app, ["run", str(default), "--no-progress"])
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "one/runs/ml/metrics.json").read_text())
    assert metrics["multi_label"]["end_model"]["cv_repeats"] == 1


@pytest.mark.parametrize("value", ["0", '"3"', "2.0"])
def test_bad_config_n_repeats_is_one_line_naming_end_model(tmp_path, value):
    config = _project(tmp_path, f"params = {{n_repeats = {value}}}")
    result = CliRunner().invoke(app, ["run", str(config), "--no-progress"])
    assert result.exit_code == 2, result.output
    assert "end_model: n_repeats must be an integer >= 1" in result.output
    assert "labeling.toml" in result.output and "Traceback" not in result.output
