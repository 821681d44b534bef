"""Multi-label tasks (#15): config, gold label sets, per-label label models, LF targets,
one-vs-rest end model, and a tiny `labeling run` end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from labeling.cli import app
from labeling.config import load_config
from labeling.data import label_sets
from labeling.errors import ConfigError, DataError, LFError
from labeling.lf.core import APPLIES, for_label, keyword_lf
from labeling.models.multilabel import (PerLabelModel, best_threshold, indicator,
                                        multilabel_scores)
from labeling.multilabel_steps import lf_targets

LABELS = ["joy", "anger", "neutral"]


def _toml(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "labeling.toml"
    path.write_text(f'''name = "ml"
labels = {json.dumps(LABELS)}
multi_label = true
lfs = ["lfs.py"]
{extra}
[data]
train = "train.csv"
dev = "dev.csv"
test = "test.csv"
label_column = "labels"

[apply]
cache = false

[end_model]
name = "tfidf_logreg"
''', encoding="utf-8")
    return path


def test_config_multi_label_refuses_positive_label(tmp_path):
    assert load_config(_toml(tmp_path)).multi_label is True
    with pytest.raises(ConfigError, match="positive_label has no meaning when multi_label"):
        load_config(_toml(tmp_path, 'positive_label = "joy"'))


def test_label_sets_parse_and_name_the_bad_row():
    got = label_sets(pd.Series(["joy", "anger;joy", " neutral "]), LABELS, Path("dev.csv"))
    assert got.tolist() == [(0,), (0, 1), (2,)]
    with pytest.raises(DataError, match=r"dev.csv: row 2, column 'label': unknown label 'happy'"):
        label_sets(pd.Series(["joy", "joy;happy"]), LABELS, Path("dev.csv"))
    with pytest.raises(DataError, match=r"dev.csv: row 1, column 'label': empty label set"):
        label_sets(pd.Series([float("nan")]), LABELS, Path("dev.csv"))


def test_best_threshold_and_scores():
    y = np.array([0, 0, 1, 1, 0, 1])
    p = np.array([0.1, 0.3, 0.35, 0.8, 0.2, 0.9])
    t, f = best_threshold(y, p)
    assert 0.3 < t <= 0.35 and f == 1.0
    assert best_threshold(np.zeros(3), p[:3]) == (0.5, 0.0)
    Y = np.array([[1, 0], [0, 1], [1, 1]])
    s = multilabel_scores(Y, np.array([[1, 0], [0, 0], [1, 1]]), ["a", "b"])
    assert s["per_label"]["a"]["f1"] == 1.0 and s["per_label"]["b"]["recall"] == 0.5
    assert s["macro_f1"] == pytest.approx((1.0 + 2 / 3) / 2)


def _synthetic(n, rng):
    """Label 0 has a precise LF and a noisy one; label 1 one precise LF; label 2 none."""
    Y = (rng.random((n, 3)) < [0.3, 0.2, 0.4]).astype(int)
    L = np.full((n, 3), -1)
    L[:, 0] = np.where(Y[:, 0] & (rng.random(n) < 0.8), 1, -1)
    L[:, 1] = np.where(rng.random(n) < 0.5, 1, -1)  # noise: votes "applies" at random
    L[:, 2] = np.where(Y[:, 1] & (rng.random(n) < 0.9), 1, np.where(rng.random(n) < 0.3, 0, -1))
    return L, Y


# Majority vote cannot tell the random LF from the precise one on label a; the
# models that weigh LFs (and auto, choosing among them on dev) can.
@pytest.mark.parametrize("name,min_f1_a", [("mv", 0.5), ("dawid_skene", 0.75),
                                           ("weighted_vote", 0.75), ("auto", 0.75)])
def test_per_label_model_recovers_labels(name, min_f1_a):
    rng = np.random.default_rng(0)
    L, _ = _synthetic(2000, rng)
    L_dev, Y_dev = _synthetic(300, rng)
    L_test, Y_test = _synthetic(1000, rng)
    model = PerLabelModel(3, targets=[0, 0, 1], name=name).fit(L, Y_dev, L_dev)
    scores = multilabel_scores(Y_test, model.predict(L_test), ["a", "b", "c"])["per_label"]
    assert scores["a"]["f1"] > min_f1_a and scores["b"]["f1"] > 0.85
    assert model.chosen_[2] == "prior"  # no LF targets label 2: its dev prevalence
    assert model.predict_proba(L_test).shape == (1000, 3)
    if name == "auto":
        assert set(model.chosen_[:2]) <= {"mv", "dawid_skene", "weighted_vote"}


def test_lf_targets_errors_name_the_lf():
    joy = for_label("joy", keyword_lf(["happy"], label=APPLIES, name="kw_joy"))
    assert lf_targets([joy], LABELS).tolist() == [0]
    with pytest.raises(LFError, match="LF kw_mad: a multi-label task needs its target"):
        lf_targets([keyword_lf(["mad"], label=APPLIES, name="kw_mad")], LABELS)
    with pytest.raises(LFError, match="LF kw_x: target label 'fear' is not one of"):
        lf_targets([for_label("fear", keyword_lf(["x"], label=1, name="kw_x"))], LABELS)


LFS = '''\
from labeling.lf.core import APPLIES, DOES_NOT_APPLY, for_label, keyword_lf, labeling_function

joy = for_label("joy", keyword_lf(["happy", "glad", "great"], label=APPLIES, name="kw_joy"))
anger = for_label("anger", keyword_lf(["angry", "hate", "furious"], label=APPLIES,
                                      name="kw_anger"))

@labeling_function()
def calm(x):
    words = ("happy", "glad", "great", "angry", "hate", "furious")
    return DOES_NOT_APPLY if any(w in x.text for w in words) else APPLIES

calm = for_label("neutral", calm)
'''


def _rows(n, seed):
    rng = np.random.default_rng(seed)
    phrases = {"joy": ["so happy today", "glad it worked", "great news"],
               "anger": ["i hate this", "so angry now", "furious about it"],
               "neutral": ["the bus is at nine", "it is a table", "see page two"]}
    out = []
    for i in range(n):
        labels = sorted(rng.choice(["joy", "anger", "neutral"], size=rng.integers(1, 3),
                                   replace=False))
        if "neutral" in labels:
            labels = ["neutral"]
        text = " and ".join(rng.choice(phrases[lab]) for lab in labels)
        out.append({"id": f"r{seed}-{i}", "text": text, "labels": ";".join(labels)})
    return pd.DataFrame(out)


def test_run_end_to_end(tmp_path):
    (tmp_path / "lfs.py").write_text(LFS, encoding="utf-8")
    _rows(200, 1).drop(columns="labels").to_csv(tmp_path / "train.csv", index=False)
    _rows(60, 2).to_csv(tmp_path / "dev.csv", index=False)
    _rows(80, 3).to_csv(tmp_path / "test.csv", index=False)
    result = CliRunner().invoke(app, ["run", str(_toml(tmp_path)), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "end_model" in result.output and "macro-F1" in result.output
    section = json.loads((tmp_path / "runs/ml/metrics.json").read_text())["multi_label"]
    test = section["scores"]["end_model"]["test"]
    assert test["macro_f1"] > 0.9 and set(test["per_label"]) == set(LABELS)
    assert set(section["scores"]) == {"label_model_mv", "label_model_auto", "end_model",
                                      "gold_only"}
    analysis = pd.read_csv(tmp_path / "runs/ml/lf_analysis.csv")
    assert analysis.set_index("lf").loc["kw_joy", "dev_precision"] == 1.0


def test_train_after_the_label_model_settings_changed_is_one_line(tmp_path):
    # before: `labeling train` refit the label model per CV fold from the edited settings
    # and crashed with a traceback (TypeError: unexpected keyword argument)
    (tmp_path / "lfs.py").write_text(LFS, encoding="utf-8")
    _rows(200, 1).drop(columns="labels").to_csv(tmp_path / "train.csv", index=False)
    _rows(60, 2).to_csv(tmp_path / "dev.csv", index=False)
    _rows(80, 3).to_csv(tmp_path / "test.csv", index=False)
    config = _toml(tmp_path, extra='\n[label_model]\nname = "mv"\n')
    for step in ("apply", "fit"):
        done = CliRunner().invoke(app, [step, str(config), *(["--no-progress"] if step == "apply"
                                                             else [])])
        assert done.exit_code == 0, done.output
    config.write_text(config.read_text().replace(
        'name = "mv"', 'name = "mv"\nparams = { per_model = { mv = { bogus = 1 } } }'))
    result = CliRunner().invoke(app, ["train", str(config)])
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.strip()]
    assert len(errors) == 1 and errors[0].startswith("error: ") and "label_model" in errors[0]
    assert "bogus" in errors[0] and "labeling fit" in errors[0], result.output


def test_run_bad_vote_and_bad_gold_name_the_culprit(tmp_path):
    (tmp_path / "lfs.py").write_text(LFS.replace("else APPLIES", "else 2"), encoding="utf-8")
    _rows(30, 1).drop(columns="labels").to_csv(tmp_path / "train.csv", index=False)
    _rows(20, 2).to_csv(tmp_path / "dev.csv", index=False)
    _rows(20, 3).to_csv(tmp_path / "test.csv", index=False)
    result = CliRunner().invoke(app, ["run", str(_toml(tmp_path)), "--no-progress"])
    assert result.exit_code != 0 and "calm" in result.output
    bad = _rows(20, 3)
    bad.loc[4, "labels"] = "joy;sad"
    bad.to_csv(tmp_path / "test.csv", index=False)
    result = CliRunner().invoke(app, ["run", str(_toml(tmp_path)), "--no-progress"])
    assert result.exit_code != 0
    assert "test.csv: row 5, column 'labels': unknown label 'sad'" in result.output
