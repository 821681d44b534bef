"""Multi-label export (#15): `labeling run` exports the one-vs-rest TF-IDF model (skops and
ONNX, one probability per label) with a card holding per-label thresholds; `labeling
predict` prints label sets equal to the in-process model's; the separate steps, the
report and the bad-input errors. Tiny data, TF-IDF model, label model mv: fast."""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline
from sklearn.utils.estimator_checks import (check_get_params_invariance,
                                            check_no_attributes_set_in_init, check_set_params)
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent))
from test_multilabel import LABELS, LFS, _rows  # noqa: E402

from labeling.cli import app  # noqa: E402
from labeling.export import load_exported, load_model, save_model  # noqa: E402
from labeling.export.card import read_card  # noqa: E402
from labeling.export.multilabel_io import export_multilabel  # noqa: E402
from labeling.models.multilabel import indicator, multilabel_scores  # noqa: E402
from labeling.predict import format_label_sets  # noqa: E402
from labeling.train.end_model import make_tfidf_logreg  # noqa: E402
from labeling.train.multilabel_model import (MultiLabelAverage, MultiLabelHeads,  # noqa: E402
                                             thresholds_of)

TOL = 1e-9  # ONNX against scikit-learn: the graph computes in float64


def _project(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "lfs.py").write_text(LFS, encoding="utf-8")
    _rows(200, 1).drop(columns="labels").to_csv(path / "train.csv", index=False)
    _rows(60, 2).to_csv(path / "dev.csv", index=False)
    test = _rows(80, 3)
    # texts the keyword LFs never saw together, so probabilities sit off the extremes
    test.loc[:4, "text"] = ["happy but angry", "glad the bus is here", "hate the table",
                            "so happy today and furious about it", "page two"]
    test.loc[:4, "labels"] = ["joy;anger", "joy", "anger", "joy;anger", "neutral"]
    test.to_csv(path / "test.csv", index=False)
    (path / "labeling.toml").write_text(f'''name = "ml"
labels = {json.dumps(LABELS)}
multi_label = true
lfs = ["lfs.py"]

[data]
train = "train.csv"
dev = "dev.csv"
test = "test.csv"
label_column = "labels"

[apply]
cache = false

[label_model]
name = "mv"

[end_model]
name = "tfidf_logreg"
# the weak rows at weight 1, not chosen by dev CV: on these toy rows every weight ties
# on dev CV and the tie goes to gold-only, whose sets for the unseen texts are emptier
params = {{weak_weights = [1.0]}}
''', encoding="utf-8")
    return path / "labeling.toml"


def _cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    config = _project(tmp_path_factory.mktemp("ml"))
    result = _cli("run", config, "--no-progress")
    assert result.exit_code == 0, result.output
    return config, config.parent / "runs" / "ml"


def _test_texts(config: Path) -> pd.DataFrame:
    return pd.read_csv(config.parent / "test.csv")


def _jsonl(result) -> list[dict]:
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def test_run_exports_skops_onnx_and_a_card_with_thresholds(run):
    config, run_dir = run
    model_dir = run_dir / "model"
    assert {"model.skops", "model.onnx", "model_card.json", "MODEL_CARD.md"} <= {
        p.name for p in model_dir.iterdir()}
    card = read_card(model_dir)  # validates
    model = load_model(run_dir / "end_model.skops")
    assert card["multi_label"]["thresholds"] == thresholds_of(model).tolist()
    assert card["formats"] == ["skops", "onnx"]
    parity = card["onnx"]["parity"]
    assert parity["texts"] == 60 + 80 and parity["label_set_agreement"] == 1.0
    assert parity["max_abs_diff"] < TOL
    test = card["metrics"]["end_model"]["test"]
    assert set(test["per_label"]) == set(LABELS) and "gold_only" in card["metrics"]
    assert card["gold_only"]["cv"]["gold_only"] is not None
    assert [lf["target_label"] for lf in card["lfs"]] == ["joy", "anger", "neutral"]
    markdown = (model_dir / "MODEL_CARD.md").read_text()
    assert "Per label on test" in markdown and "Against the dev gold alone" in markdown
    assert "same label set on 100.0%" in markdown


@pytest.mark.parametrize("runtime", ["sklearn", "onnx"])
def test_predict_label_sets_equal_the_in_process_model(run, runtime):
    """The exported model's label sets are the trained model's: the saved estimator's
    ``predict`` and the run's own test scores (computed in process, on the training
    loop's features) agree with what `labeling predict` prints."""
    config, run_dir = run
    df = _test_texts(config)
    rows = _jsonl(_cli("predict", "-m", run_dir / "model", "-i", config.parent / "test.csv",
                       "--format", "jsonl", "--runtime", runtime))
    assert [r["id"] for r in rows] == df["id"].tolist()
    model = load_model(run_dir / "end_model.skops")
    expected = model.predict(df["text"].tolist())
    got = indicator([[LABELS.index(n) for n in r["labels"]] for r in rows], len(LABELS))
    np.testing.assert_array_equal(got, expected)
    proba = np.array([[r["probabilities"][n] for n in LABELS] for r in rows])
    np.testing.assert_allclose(proba, model.predict_proba(df["text"].tolist()), atol=1e-6)
    assert 0 < expected.sum(axis=1).max() and (expected.sum(axis=1) >= 2).any()  # sets
    gold = indicator([[LABELS.index(n) for n in s.split(";")] for s in df["labels"]],
                     len(LABELS))
    in_run = json.loads((run_dir / "metrics.json").read_text())["multi_label"]
    assert multilabel_scores(gold, got, LABELS) == in_run["scores"]["end_model"]["test"]


def test_predict_tsv_has_id_label_set_probabilities_and_text(run):
    config, run_dir = run
    result = _cli("predict", "-m", run_dir / "model", "-i", config.parent / "test.csv")
    assert result.exit_code == 0, result.output
    first = result.stdout.splitlines()[0].split("\t")
    assert first[0] == "r3-0" and first[3] == "happy but angry"
    assert set(first[1].split(";")) <= set(LABELS)
    assert len(first[2].split(";")) == len(first[1].split(";"))
    result = _cli("predict", "-m", run_dir / "model", "so happy and furious", "the bus")
    lines = [line.split("\t") for line in result.stdout.splitlines()]
    assert [line[0] for line in lines] == ["joy;anger", "neutral"] and len(lines[0]) == 3


@pytest.mark.parametrize("runtime", ["sklearn", "onnx"])
def test_the_cards_thresholds_decide(run, tmp_path, runtime):
    """`labeling predict` applies the card's thresholds (docs/multilabel.md: editing them
    moves a label's precision/recall trade-off without retraining)."""
    model_dir = _tampered(run[1], tmp_path, lambda c: c["multi_label"].update(
        thresholds=[0.0, 1.0, 0.3]))
    rows = _jsonl(_cli("predict", "-m", model_dir, "--format", "jsonl", "--runtime", runtime,
                       "-i", run[0].parent / "test.csv"))
    for r in rows:
        p = r["probabilities"]
        assert r["labels"] == [n for n, t in zip(LABELS, (0.0, 1.0, 0.3)) if p[n] >= t]
    assert all(r["labels"][0] == "joy" for r in rows)


def test_format_label_sets_prints_an_empty_set_as_empty_fields():
    proba = np.array([[0.2, 0.9, 0.1], [0.1, 0.1, 0.1]])
    t = np.array([0.5, 0.5, 0.5])
    tsv = format_label_sets(["a\tb", "c"], proba, LABELS, t, "tsv", ids=["1", "2"])
    assert tsv == "1\tanger\t0.9000\ta b\n2\t\t\tc\n"
    rows = [json.loads(x) for x in format_label_sets(["a", "c"], proba, LABELS, t,
                                                     "jsonl").splitlines()]
    assert rows[0]["labels"] == ["anger"] and rows[1]["labels"] == []
    assert rows[1]["probabilities"] == {"joy": 0.1, "anger": 0.1, "neutral": 0.1}


def test_separate_steps_reproduce_run(run, tmp_path):
    config, run_dir = run
    fresh = _project(tmp_path / "p")
    result = _cli("train", fresh)  # before fit: the missing artifact is named
    assert result.exit_code == 2 and "probs.parquet: not found; run `labeling fit` first" \
        in result.output
    for step in ("apply", "fit", "train", "export", "evaluate"):
        result = _cli(step, fresh)
        assert result.exit_code == 0, (step, result.output)
    assert "test macro-F1" in result.output  # evaluate shows test; the loop steps dev only
    ours = json.loads((fresh.parent / "runs/ml/metrics.json").read_text())["multi_label"]
    theirs = json.loads((run_dir / "metrics.json").read_text())["multi_label"]
    assert ours["scores"] == theirs["scores"]
    assert read_card(fresh.parent / "runs/ml/model")["multi_label"] == \
        read_card(run_dir / "model")["multi_label"]
    result = _cli("fit", fresh)  # a refit makes the end model stale, and says so: its
    # scores are left out rather than shown beside the new label model's
    assert result.exit_code == 0 and "not shown (stale" in result.output
    assert "end_model" not in result.output


def test_export_before_train_is_a_one_line_error(tmp_path):
    config = _project(tmp_path)
    for step in ("apply", "fit"):
        assert _cli(step, config).exit_code == 0
    result = _cli("export", config)
    assert result.exit_code == 2
    assert "end_model.skops: not found; run `labeling train` first" in result.output


def test_report_scores_the_exported_model(run):
    config, run_dir = run
    result = _cli("report", config)
    assert result.exit_code == 0, result.output
    report = json.loads((run_dir / "report.json").read_text())
    kinds = [r["kind"] for r in report["rows"]]
    assert kinds == ["end_model", "label_model", "majority_vote", "gold_only"]
    metrics = json.loads((run_dir / "metrics.json").read_text())["multi_label"]["scores"]
    assert report["rows"][0]["macro_f1"] == metrics["end_model"]["test"]["macro_f1"]
    assert report["rows"][1]["per_label"] == metrics["label_model_mv"]["test"]["per_label"]
    assert "Per label on test" in (run_dir / "report.md").read_text()


# --- a tampered card: one-line errors naming the card and the field --------------------

def _tampered(run_dir: Path, tmp_path: Path, edit) -> Path:
    model_dir = tmp_path / "model"
    shutil.copytree(run_dir / "model", model_dir)
    card = json.loads((model_dir / "model_card.json").read_text())
    edit(card)
    (model_dir / "model_card.json").write_text(json.dumps(card))
    return model_dir


@pytest.mark.parametrize("edit,message", [
    (lambda c: c["multi_label"].update(thresholds=[0.5, 0.5]),
     "field multi_label.thresholds: 2 thresholds for 3 labels"),
    (lambda c: c["multi_label"]["thresholds"].__setitem__(1, 1.5),
     "field multi_label.thresholds[1]: Input should be less than or equal to 1"),
    (lambda c: c["multi_label"].update(thresholds="0.5"), "field multi_label.thresholds"),
    (lambda c: c.pop("multi_label"), "the card says a single-label model, but the model "
                                     "file is multi-label"),
])
@pytest.mark.parametrize("runtime", ["sklearn", "onnx"])
def test_tampered_multilabel_card_is_refused(run, tmp_path, edit, message, runtime):
    model_dir = _tampered(run[1], tmp_path, edit)
    result = _cli("predict", "-m", model_dir, "--runtime", runtime, "so happy")
    assert result.exit_code == 2, result.output
    assert message in result.output and len(result.output.strip().splitlines()) == 1


def test_multilabel_card_on_a_single_label_model_is_refused(run, tmp_path):
    """Label sets from a single-label model's softmax would be plausible nonsense."""
    model_dir = _tampered(run[1], tmp_path, lambda c: None)
    texts = ["so happy", "i hate it", "the bus", "glad"] * 5
    single = make_tfidf_logreg().fit(texts, [0, 1, 2, 0] * 5)
    save_model(single, model_dir / "model.skops")
    card = json.loads((model_dir / "model_card.json").read_text())
    card["files"]["model.skops"] = card["model_sha256"] = hashlib.sha256(
        (model_dir / "model.skops").read_bytes()).hexdigest()
    (model_dir / "model_card.json").write_text(json.dumps(card))
    result = _cli("predict", "-m", model_dir, "so happy")
    assert result.exit_code == 2
    assert "the card says a multi-label model, but the model file is single-label" \
        in result.output


# --- the model classes -----------------------------------------------------------------

def _tfidf_pipeline(texts, P, seed=0):
    features = make_tfidf_logreg().named_steps["features"].fit(texts)
    heads = MultiLabelHeads(seed=seed).fit(features.transform(texts), P)
    return Pipeline([("features", features), ("classifier", heads)])


def test_heads_parameters_follow_the_estimator_contract():
    for check in (check_no_attributes_set_in_init, check_get_params_invariance,
                  check_set_params):
        check("MultiLabelHeads", MultiLabelHeads())
    X = np.random.default_rng(0).random((20, 4))
    P = np.column_stack([X[:, 0] > 0.5, np.zeros(20), np.full(20, 0.7)]).astype(float)
    heads = MultiLabelHeads()
    assert heads.fit(X, P) is heads
    proba = heads.predict_proba(X)
    assert proba.shape == (20, 3) and np.isfinite(heads.intercept_).all()
    assert proba[:, 1].max() < 1e-12  # a label never seen positive: a finite constant
    with pytest.raises(ValueError, match="P must be n x k"):
        heads.fit(X, P[:5])


def test_average_round_trips_through_skops_and_exports_without_onnx(run, tmp_path):
    """tfidf_minilm_avg's shape (an average of pipelines), with two TF-IDF members so
    the test needs no MiniLM: skops loads it (trusted types), there is no ONNX file and
    the card says why, and predict uses the card's thresholds."""
    config, run_dir = run
    df = pd.read_csv(config.parent / "dev.csv")
    texts = df["text"].tolist()
    P = indicator([[LABELS.index(n) for n in s.split(";")] for s in df["labels"]], 3)
    avg = MultiLabelAverage([("a", _tfidf_pipeline(texts, P)),
                             ("b", _tfidf_pipeline(texts, P * 0.9))],
                            thresholds=[0.4, 0.5, 0.6]).fit()
    card = read_card(run_dir / "model")
    card["multi_label"] = {"thresholds": [0.4, 0.5, 0.6]}
    out = export_multilabel(avg, tmp_path / "avg", card, parity_texts=texts[:5])
    written = read_card(out)
    assert "model.onnx" not in written["files"]
    assert "the MiniLM encoder is not ONNX" in written["onnx"]["error"]
    loaded = load_exported(out)
    np.testing.assert_array_equal(loaded.predict_proba(texts), avg.predict_proba(texts))
    rows = _jsonl(_cli("predict", "-m", out, "--format", "jsonl", *texts[:6]))
    assert [r["labels"] for r in rows] == [[LABELS[c] for c in np.flatnonzero(row)]
                                           for row in avg.predict(texts[:6])]
    result = _cli("predict", "-m", out, "--runtime", "onnx", "x")
    assert result.exit_code == 2 and "no ONNX model in this export" in result.output


def test_the_card_hashes_what_train_read_and_export_refuses_a_file_changed_since(run,
                                                                                 tmp_path):
    """As the single-label export (tests/test_card_sources.py). Before: the multi-label
    card hashed the files on disk at export, and no config: a train text edited after
    `labeling train` was exported under the edited file's sha256."""
    config, run_dir = run
    card = read_card(run_dir / "model")
    assert card["training_files"]["config"]["sha256"] == hashlib.sha256(
        config.read_bytes()).hexdigest()
    project = tmp_path / "copy"
    shutil.copytree(config.parent, project)
    train = project / "train.csv"
    train.write_text(train.read_text(encoding="utf-8").replace("\n", "\r\n"),
                     encoding="utf-8")  # the same rows, other bytes
    result = _cli("export", project / "labeling.toml", "--out", tmp_path / "m")
    assert result.exit_code == 2, result.output
    assert f"{train}: changed since the last `labeling train`" in " ".join(
        result.output.split())
    assert not (tmp_path / "m").exists()
