"""Multi-label end model (#15): the weak rows' weight against the dev gold rows is chosen
by dev CV, per label, among candidates that include 0 (the gold-only model), so on dev CV
no label of the end model scores below the gold-only baseline (docs/multilabel.md);
``weak_weight_per_label = false`` keeps one weight for all labels."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from labeling.cli import app
from labeling.train.multilabel import DEFAULT_WEAK_WEIGHTS, OneVsRestEndModel, weight_key

sys.path.insert(0, str(Path(__file__).parent))
from test_multilabel import LFS, _rows, _toml  # noqa: E402

K = 3


def _task(seed: int = 0, n_train: int = 600, n_dev: int = 60, noise: float = 1.0):
    """Dense features where label c applies when feature c is high; 40 noise columns."""
    rng = np.random.default_rng(seed)

    def split(n):
        Y = (rng.random((n, K)) < 0.3).astype(int)
        X = rng.normal(0, noise, (n, K + 40))
        X[:, :K] += 2.0 * Y
        return X, Y

    (X_tr, Y_tr), (X_dev, Y_dev) = split(n_train), split(n_dev)
    return {"tfidf": {"train": X_tr, "dev": X_dev}}, Y_tr, Y_dev


def _macro(model) -> float:
    return float(np.mean(model.dev_cv_f1_))


def test_misleading_weak_labels_never_beat_gold_only_on_dev_cv():
    # The label model is confidently wrong on every label: with the weak rows at a fixed
    # weight the end model learns the flipped rule; chosen by CV it falls back to gold.
    features, Y_train, Y_dev = _task(seed=1)
    P_wrong = np.where(Y_train == 1, 0.05, 0.95)
    end = OneVsRestEndModel("tfidf_logreg").fit(features, P_wrong, Y_dev)
    gold = OneVsRestEndModel("tfidf_logreg").fit(features, None, Y_dev)
    assert _macro(end) >= _macro(gold)
    assert end.weak_weight_ == [0.0] * K and end.shared_weight_ == 0.0
    # weight 0 is the gold-only twin itself: same folds, same fits, same score
    assert end.cv_macro_["0"] == pytest.approx(round(_macro(gold), 4))
    assert end.cv_scores_["0"] == np.round(gold.dev_cv_f1_, 4).tolist()
    assert end.cv_macro_["per_row"] < end.cv_macro_["0"]
    np.testing.assert_allclose(end.predict_proba(features, "dev"),
                               gold.predict_proba(features, "dev"))


def test_useful_weak_labels_are_chosen_over_gold_only():
    # Few, noisy dev rows; the weak labels are the truth softened: weak rows must win.
    features, Y_train, Y_dev = _task(seed=2, n_dev=45, noise=1.5)
    P_good = np.where(Y_train == 1, 0.8, 0.2)
    end = OneVsRestEndModel("tfidf_logreg").fit(features, P_good, Y_dev)
    assert end.weak_weight_ != [0.0] * K and end.shared_weight_ != 0.0
    assert end.cv_macro_[weight_key(end.shared_weight_)] == max(end.cv_macro_.values())
    assert end.cv_macro_[weight_key(end.shared_weight_)] > end.cv_macro_["0"]
    for c, weight in enumerate(end.weak_weight_):  # each label: its best candidate
        assert end.cv_scores_[weight_key(weight)][c] == max(s[c] for s in end.cv_scores_.values())
    assert _macro(end) >= max(end.cv_macro_.values()) - 1e-4
    assert list(end.cv_scores_) == [weight_key(w) for w in DEFAULT_WEAK_WEIGHTS]
    assert list(end.cv_macro_) == list(end.cv_scores_)


def _mixed_task():
    """Label 0 and 2: the weak labels are the truth softened (weak rows help, few noisy dev
    rows); label 1: the weak labels are confidently wrong (weak rows hurt)."""
    features, Y_train, Y_dev = _task(seed=2, n_dev=45, noise=1.5)
    P = np.where(Y_train == 1, 0.8, 0.2)
    P[:, 1] = np.where(Y_train[:, 1] == 1, 0.05, 0.95)
    return features, P, Y_dev


def test_each_label_takes_its_own_weak_weight():
    features, P, Y_dev = _mixed_task()
    end = OneVsRestEndModel("tfidf_logreg").fit(features, P, Y_dev)
    assert len(end.weak_weight_) == K
    assert end.weak_weight_[1] == 0.0  # the misled label: its gold alone
    assert end.weak_weight_[0] != 0.0 and end.weak_weight_[2] != 0.0  # helped: weak rows
    for c, weight in enumerate(end.weak_weight_):  # its out-of-fold F1, its threshold
        assert end.dev_cv_f1_[c] == pytest.approx(end.cv_scores_[weight_key(weight)][c],
                                                  abs=1e-4)
    # per label beats the best single weight on the same dev CV
    assert _macro(end) > max(end.cv_macro_.values())
    # each label's head is the head of the model fit with its weight for all labels
    proba = end.predict_proba(features, "dev")
    for c, weight in enumerate(end.weak_weight_):
        alone = OneVsRestEndModel("tfidf_logreg", weak_weights=[weight]).fit(
            features, P, Y_dev)
        np.testing.assert_allclose(proba[:, c], alone.predict_proba(features, "dev")[:, c])
        assert end.thresholds_[c] == pytest.approx(alone.thresholds_[c])
    # the exported text model gives the same probabilities (one merged matrix per kind)
    heads = end.heads_["tfidf"]
    assert heads.coef_.shape == (K, features["tfidf"]["dev"].shape[1])
    np.testing.assert_allclose(heads.predict_proba(features["tfidf"]["dev"]), proba)


def test_gold_only_twin_is_unchanged_by_the_per_label_choice():
    features, P, Y_dev = _mixed_task()
    per_label = OneVsRestEndModel("tfidf_logreg").fit(features, None, Y_dev)
    legacy = OneVsRestEndModel("tfidf_logreg", weak_weight_per_label=False).fit(
        features, None, Y_dev)
    assert per_label.weak_weight_ == legacy.weak_weight_ == [0.0] * K
    np.testing.assert_allclose(per_label.dev_cv_f1_, legacy.dev_cv_f1_)
    np.testing.assert_allclose(per_label.thresholds_, legacy.thresholds_)
    np.testing.assert_allclose(per_label.predict_proba(features, "dev"),
                               legacy.predict_proba(features, "dev"))


def test_legacy_switch_gives_one_weight_for_all_labels():
    features, P, Y_dev = _mixed_task()
    end = OneVsRestEndModel("tfidf_logreg").fit(features, P, Y_dev)
    legacy = OneVsRestEndModel("tfidf_logreg", weak_weight_per_label=False).fit(
        features, P, Y_dev)
    assert legacy.weak_weight_ == [legacy.shared_weight_] * K
    assert legacy.shared_weight_ == end.shared_weight_ != 0.0  # same CV, same macro pick
    assert legacy.cv_scores_ == end.cv_scores_ and legacy.cv_macro_ == end.cv_macro_
    assert _macro(legacy) == pytest.approx(legacy.cv_macro_[weight_key(legacy.shared_weight_)],
                                           abs=1e-4)
    assert _macro(end) > _macro(legacy)


def test_candidates_order_and_checks():
    model = OneVsRestEndModel("tfidf_logreg", weak_weights=[None, 1.0, 0.0, 0.3, 1])
    assert model.candidates() == [0.0, 0.3, 1.0, None]
    model = OneVsRestEndModel("tfidf_logreg", weak_weights=["per_row", 0.5])  # TOML's None
    assert model.candidates() == [0.5, None]
    assert model.candidates(None) == [0.0]  # the gold-only baseline: nothing to weigh
    for bad in ([], [-1.0], ["x"], 0.5, [True], "per_row", [float("nan")], [float("inf")]):
        with pytest.raises(ValueError, match="weak_weights must be a non-empty list"):
            OneVsRestEndModel("tfidf_logreg", weak_weights=bad).candidates()
    for bad in ("false", 0, 1, None):
        with pytest.raises(ValueError, match="weak_weight_per_label must be true or false"):
            OneVsRestEndModel("tfidf_logreg", weak_weight_per_label=bad).candidates(None)
    assert [weight_key(w) for w in (0.0, 0.3, 1, None)] == ["0", "0.3", "1", "per_row"]


def test_one_candidate_is_fit_as_given():
    features, Y_train, Y_dev = _task(seed=3)
    P = np.where(Y_train == 1, 0.9, 0.1)
    end = OneVsRestEndModel("tfidf_logreg", weak_weights=[1.0]).fit(features, P, Y_dev)
    assert end.weak_weight_ == [1.0] * K and list(end.cv_scores_) == ["1"]
    assert end.shared_weight_ == 1.0 and len(end.cv_scores_["1"]) == K


def _project(tmp_path: Path, params: str = "") -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "lfs.py").write_text(LFS, encoding="utf-8")
    _rows(200, 1).drop(columns="labels").to_csv(tmp_path / "train.csv", index=False)
    _rows(60, 2).to_csv(tmp_path / "dev.csv", index=False)
    _rows(40, 3).to_csv(tmp_path / "test.csv", index=False)
    path = _toml(tmp_path)
    if params:
        path.write_text(path.read_text(encoding="utf-8") + params + "\n", encoding="utf-8")
    return path


def test_run_records_the_weak_weight_choice_per_label(tmp_path):
    config = _project(tmp_path)
    result = CliRunner().invoke(app, ["run", str(config), "--no-progress"])
    assert result.exit_code == 0, result.output
    section = json.loads((tmp_path / "runs/ml/metrics.json").read_text())["multi_label"]
    end, cv = section["end_model"], section["end_model"]["weak_weight_cv"]
    assert end["weak_weight_per_label"] is True
    assert list(cv) == ["0", "0.3", "1", "per_row"]
    assert list(end["weak_weight"]) == section["labels"]  # {label: its weight}
    for label, key in end["weak_weight"].items():  # each label: its best out-of-fold F1
        assert set(cv[key]) == set(section["labels"])
        assert cv[key][label] == max(scores[label] for scores in cv.values())
        assert end["dev_cv_f1"][label] == cv[key][label]
    # what one weight for all labels gives, and which: the record shows what per-label bought
    macro = end["weak_weight_cv_macro"]
    assert list(macro) == list(cv) and macro[end["weak_weight_shared"]] == max(macro.values())
    assert macro["0"] == pytest.approx(np.mean(list(cv["0"].values())), abs=1e-4)
    gold_cv = np.mean(list(section["gold_only"]["dev_cv_f1"].values()))
    assert macro["0"] == pytest.approx(gold_cv, abs=1e-4)
    assert np.mean(list(end["dev_cv_f1"].values())) >= max(macro.values()) - 1e-4
    shown = CliRunner().invoke(app, ["evaluate", str(config)])  # labeling/report.py's table
    assert shown.exit_code == 0, shown.output
    assert "weak weight" in shown.output and "one for all labels would be" in shown.output


def test_legacy_switch_keeps_one_weight_in_the_run(tmp_path):
    config = _project(tmp_path, "params = {weak_weight_per_label = false}")
    result = CliRunner().invoke(app, ["run", str(config), "--no-progress"])
    assert result.exit_code == 0, result.output
    section = json.loads((tmp_path / "runs/ml/metrics.json").read_text())["multi_label"]
    end = section["end_model"]
    assert end["weak_weight_per_label"] is False
    assert set(end["weak_weight"].values()) == {end["weak_weight_shared"]}
    macro = end["weak_weight_cv_macro"]
    assert np.mean(list(end["dev_cv_f1"].values())) == pytest.approx(
        macro[end["weak_weight_shared"]], abs=1e-4)
    card = json.loads((tmp_path / "runs/ml/model/model_card.json").read_text())
    assert "one for all labels, chosen by dev CV" in card["training"]["text"]


def test_bad_weak_weight_per_label_is_one_line_naming_end_model(tmp_path):
    config = _project(tmp_path, 'params = {weak_weight_per_label = "no"}')
    result = CliRunner().invoke(app, ["run", str(config), "--no-progress"])
    assert result.exit_code == 2, result.output
    assert "end_model: weak_weight_per_label must be true or false, got 'no'" in result.output
    assert "labeling.toml" in result.output and "Traceback" not in result.output


def test_bad_weak_weights_is_one_line_naming_the_config(tmp_path):
    config = _project(tmp_path, 'params = {weak_weights = [-1.0, "per_row"]}')
    result = CliRunner().invoke(app, ["run", str(config), "--no-progress"])
    assert result.exit_code == 2, result.output
    assert "end_model: weak_weights must be a non-empty list" in result.output
    assert "labeling.toml" in result.output and "-1.0" in result.output
    card_run = _project(tmp_path / "ok", 'params = {weak_weights = [0.5, "per_row"]}')
    result = CliRunner().invoke(app, ["run", str(card_run), "--no-progress"])
    assert result.exit_code == 0, result.output
    card = json.loads((tmp_path / "ok/runs/ml/model/model_card.json").read_text())
    assert set(card["training"]["weak_weight"].values()) <= {"0.5", "per_row"}
    assert card["training"]["weak_weight_shared"] in ("0.5", "per_row")
    assert "chosen per label by dev CV" in card["training"]["text"]
    markdown = (tmp_path / "ok/runs/ml/model/MODEL_CARD.md").read_text()
    assert "| label | threshold | weak weight |" in markdown


def test_the_record_names_each_labels_weight():
    features, P, Y_dev = _mixed_task()
    end = OneVsRestEndModel("tfidf_logreg").fit(features, P, Y_dev)
    record = json.loads(json.dumps(end.weak_weight_record(["a", "b", "c"])))  # JSON-safe
    assert record["weak_weight"] == {name: weight_key(w)
                                     for name, w in zip("abc", end.weak_weight_)}
    assert record["weak_weight"]["b"] == "0" and record["weak_weight_per_label"] is True
    assert record["weak_weight_cv"]["0"] == dict(zip("abc", end.cv_scores_["0"]))
    assert record["weak_weight_cv_macro"] == end.cv_macro_
    assert record["weak_weight_shared"] == weight_key(end.shared_weight_)


def test_an_unknown_end_model_param_is_one_line_not_ignored(tmp_path):
    # a typo of the switch above used to be dropped silently: the run chose per label
    config = _project(tmp_path, "params = {weak_weight_per_labels = false}")
    result = CliRunner().invoke(app, ["run", str(config), "--no-progress"])
    assert result.exit_code == 2, result.output
    assert ("end_model: weak_weight_per_labels: not a parameter of the multi-label end "
            "model 'tfidf_logreg'") in result.output
    assert "weak_weight_per_label" in result.output.split("its parameters:")[1]
    assert "labeling.toml" in result.output and "Traceback" not in result.output
