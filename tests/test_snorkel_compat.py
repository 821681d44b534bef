"""Where the README promises snorkel behaviour, run snorkel itself and compare.

Ties (snorkel's ``probs_to_preds`` tolerance), float label matrices, the LF summary,
majority vote's snorkel-compatible mode, and the noise snorkel and transformers print.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from snorkel.labeling import LabelingFunction, LFAnalysis
from snorkel.labeling.model import LabelModel as SnorkelLM
from snorkel.labeling.model import MajorityLabelVoter
from snorkel.utils import probs_to_preds

from labeling import models
from labeling.analysis import lf_summary
from labeling.models import MajorityVote, SnorkelLabelModel

# snorkel 0.10's test/labeling/model/test_label_model.py::test_predict: 3 LFs that always
# disagree or abstain, so snorkel abstains on every row.
SNORKEL_TEST_PREDICT_L = np.array([[-1, 1, 0], [0, -1, 1], [1, 0, -1]])


def random_matrix(n, m, k, seed):
    return np.random.default_rng(seed).integers(-1, k, size=(n, m))


# --- 3. ties at snorkel's tolerance ---------------------------------------------------

@pytest.mark.parametrize("seed", [123, 0, 1])
def test_snorkel_wrapper_abstains_where_snorkel_does(seed):
    L = SNORKEL_TEST_PREDICT_L
    theirs = SnorkelLM(cardinality=2, verbose=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        theirs.fit(L, n_epochs=100, seed=seed, progress_bar=False)
    ours = SnorkelLabelModel(cardinality=2, epochs=100, seed=seed).fit(L)
    assert theirs.predict(L).tolist() == [-1, -1, -1]
    assert ours.predict(L, tie_break="abstain").tolist() == [-1, -1, -1]


def test_decide_uses_snorkels_tie_tolerance():
    # Gaps of 8e-6 are ties for snorkel (tol 1e-5), gaps of 2e-5 and 1e-4 are not.
    proba = np.array([[0.5 + 4e-6, 0.5 - 4e-6], [0.50001, 0.49999], [0.49995, 0.50005]])
    mv = MajorityVote(cardinality=2).fit(np.array([[1], [1], [0]]))
    expected = probs_to_preds(proba, tie_break_policy="abstain")
    assert expected.tolist() == [-1, 0, 1]
    assert mv.decide(proba, tie_break="abstain").tolist() == expected.tolist()
    # The prior rule breaks the same ties: class 1 is the more frequent class here.
    assert mv.decide(proba, tie_break="prior").tolist() == [1, 0, 1]


# --- 7. float label matrices ----------------------------------------------------------

FAST = {"snorkel": {"epochs": 20}, "auto": {"snorkel_epochs": 20}}


@pytest.mark.parametrize("name", sorted(models.BUILT_IN))
def test_label_models_accept_integral_float_matrices(name):
    L = random_matrix(60, 4, 3, seed=1)
    y_dev, L_dev = np.arange(30) % 3, random_matrix(30, 4, 3, seed=2)
    as_int = models.make(name, cardinality=3, **FAST.get(name, {})).fit(L, y_dev, L_dev)
    as_float = models.make(name, cardinality=3, **FAST.get(name, {})).fit(
        L.astype(float), y_dev, L_dev.astype(np.float32))
    np.testing.assert_array_equal(as_float.predict_proba(L.astype(float)),
                                  as_int.predict_proba(L))


def test_snorkel_wrapper_on_a_float_matrix_matches_snorkel():
    L = random_matrix(200, 4, 2, seed=3).astype(float)  # snorkel's own tests build floats
    theirs = SnorkelLM(cardinality=2, verbose=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        theirs.fit(L, n_epochs=30, seed=123, class_balance=[0.5, 0.5], progress_bar=False)
    ours = SnorkelLabelModel(cardinality=2, epochs=30, seed=123).fit(L)
    np.testing.assert_allclose(ours.predict_proba(L), theirs.predict_proba(L),
                               rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("bad, message", [
    (0.5, r"non-integer value 0\.5 at row 1, column 2"),
    (np.nan, r"NaN at row 1, column 2"),
    (np.inf, r"inf at row 1, column 2"),
])
@pytest.mark.parametrize("name", ["mv", "dawid_skene", "weighted_vote"])
def test_label_models_refuse_non_integral_floats(name, bad, message):
    L = random_matrix(5, 3, 2, seed=4).astype(float)
    L[1, 2] = bad
    with pytest.raises(ValueError, match=message):
        models.make(name, cardinality=2).fit(L)
    fitted = models.make(name, cardinality=2).fit(np.zeros((5, 3), dtype=int))
    with pytest.raises(ValueError, match=message):
        fitted.predict_proba(L)


# --- 8. the LF summary ----------------------------------------------------------------

def _snorkel_lfs(names):
    return [LabelingFunction(name, f=lambda x: -1) for name in names]


def test_lf_summary_matches_snorkels_columns_and_never_voting_lf():
    L = random_matrix(40, 4, 2, seed=5)
    L[:, 3] = -1  # LF "never" never votes
    y = np.random.default_rng(6).integers(0, 2, size=40)
    names = ["a", "b", "c", "never"]
    ours = lf_summary(L, names, ["ham", "spam"], L_dev=L, y_dev=y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        theirs = LFAnalysis(L, _snorkel_lfs(names)).lf_summary(Y=y)
    assert ours["j"].tolist() == theirs["j"].tolist() == [0, 1, 2, 3]
    for col, theirs_col in [("coverage", "Coverage"), ("overlaps", "Overlaps"),
                            ("conflicts", "Conflicts"), ("dev_correct", "Correct"),
                            ("dev_incorrect", "Incorrect"), ("dev_accuracy", "Emp. Acc.")]:
        np.testing.assert_allclose(ours[col].to_numpy(dtype=float),
                                   theirs[theirs_col].to_numpy(dtype=float), err_msg=col)
    assert ours.loc["never", "dev_accuracy"] == 0.0  # snorkel's value, not NaN
    assert np.isnan(ours.loc["never", "dev_accuracy_low"])  # the interval says "unknown"


def test_lf_summary_names_a_wrong_number_of_lf_names():
    L = random_matrix(10, 3, 2, seed=7)
    with pytest.raises(ValueError, match=r"2 LF names for a label matrix with 3 columns"):
        lf_summary(L, ["a", "b"], ["ham", "spam"])
    with pytest.raises(ValueError, match=r"dev label matrix has 2 columns, expected 3"):
        lf_summary(L, ["a", "b", "c"], ["ham", "spam"], L_dev=L[:, :2], y_dev=np.zeros(10))
    with pytest.raises(ValueError, match=r"dev label matrix has 10 rows but 4 gold labels"):
        lf_summary(L, ["a", "b", "c"], ["ham", "spam"], L_dev=L, y_dev=np.zeros(4))


# --- 9. majority vote: ours by default, snorkel's on request --------------------------

def test_mv_default_differs_from_snorkel_as_documented():
    L = np.array([[1, 1, 0], [-1, -1, -1]])
    mv = MajorityVote(cardinality=2).fit(L)
    np.testing.assert_allclose(mv.predict_proba(L)[0], [1 / 3, 2 / 3])  # vote shares
    np.testing.assert_allclose(mv.predict_proba(L)[1], mv.class_balance_)
    np.testing.assert_allclose(MajorityLabelVoter(cardinality=2).predict_proba(L),
                               [[0, 1], [0.5, 0.5]])


@pytest.mark.parametrize("k", [2, 3, 5])
def test_mv_snorkel_compatible_matches_majority_label_voter(k):
    L = random_matrix(300, 4, k, seed=k)
    L[:20] = -1  # rows with no votes
    ours = MajorityVote(cardinality=k, snorkel_compatible=True).fit(L)
    theirs = MajorityLabelVoter(cardinality=k)
    np.testing.assert_allclose(ours.predict_proba(L), theirs.predict_proba(L))
    np.testing.assert_array_equal(ours.predict(L), theirs.predict(L))
    assert (ours.predict(L)[:20] == -1).all()
    # The prior rule is still there when asked for: every row gets a class.
    assert (ours.predict(L, tie_break="prior") >= 0).all()


def test_mv_snorkel_compatible_is_settable_from_labeling_toml(make_task):
    from labeling import pipeline

    params = {"epochs": make_task.DELETE, "seed": make_task.DELETE, "snorkel_compatible": True}
    config = {"label_model": {"name": "mv", "params": params}}
    task = pipeline.load_task(make_task(config=config))
    pipeline.step_apply(task, progress=False)
    metrics = pipeline.step_fit(task)
    assert metrics["label_model"]["params"]["snorkel_compatible"] is True
    restored = models.load(task.run_dir / "label_model.json")
    assert restored.snorkel_compatible is True


# --- 13. no third-party noise at the call sites ---------------------------------------

def test_lf_summary_emits_no_future_warning():
    L = random_matrix(30, 3, 2, seed=8)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        lf_summary(L, ["a", "b", "c"], ["ham", "spam"], L_dev=L, y_dev=np.zeros(30, int))
    assert not [w for w in caught if issubclass(w.category, FutureWarning)]
    # ... and only at that call site: the filters outside are untouched.
    with pytest.warns(FutureWarning):
        warnings.warn("still shown elsewhere", FutureWarning)


def test_loading_the_local_model_prints_no_progress_bar(capfd):
    from transformers.utils import logging as hf_logging

    from labeling.llm.minilm import _load

    before = hf_logging.is_progress_bar_enabled()
    _load.__wrapped__(None, "")  # bypass the per-process cache: really load it
    assert "Loading weights" not in capfd.readouterr().err
    assert hf_logging.is_progress_bar_enabled() == before  # restored for the caller
