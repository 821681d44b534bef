"""``minilm_finetune`` on multi-label tasks (#16 item 1): the estimator contract (clone, fit
returns self, ``n x k`` sigmoid probabilities in ``classes_`` order, seeded), per-label
thresholds from held-out dev rows only, skops and ONNX fp32/int8 export with one
probability per label (fp32 within 1e-4 of torch), `labeling run` -> export -> `labeling
predict` (label sets equal to the in-process model's) -> `labeling serve`, and bad params.

Kept tiny for a shared 2-core machine, as tests/test_finetune.py: a few dozen rows, one
epoch, 16 tokens; the task is tests/test_multilabel_export.py's (3 labels, label model mv).
"""

from __future__ import annotations

import copy
import json
import re
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pandas as pd
import pytest
from sklearn.base import clone
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent))
from test_multilabel import LABELS, _rows  # noqa: E402
from test_multilabel_export import _project  # noqa: E402
from test_serve import post, start_cli_server, stop  # noqa: E402

from labeling.cli import app  # noqa: E402
from labeling.export import load_exported, load_model, save_model  # noqa: E402
from labeling.export.card import CARD_FILE  # noqa: E402
from labeling.export.multilabel_io import is_multilabel_model  # noqa: E402
from labeling.export.onnx_transformer import (INT8_FILE, INT8_TOLERANCE,  # noqa: E402
                                              TransformerOnnxModel, save_transformer_onnx,
                                              transformer_parity)
from labeling.export.transformer_runtime import INPUTS  # noqa: E402
from labeling.models.multilabel import best_threshold  # noqa: E402
from labeling.predict import format_label_sets  # noqa: E402
from labeling.train.finetune_data import encode  # noqa: E402
from labeling.train.finetune_multilabel import (MiniLMFineTunedMultiLabel,  # noqa: E402
                                                fit_task, split_gold, task_rows)

TINY = dict(epochs=1, max_seq_len=16, batch_size=8, progress=False)
EDGE = ["", " ", "a", "tab\there new\nline", "ÜNÏCODE café 🔥 İ 日本語", "x" * 3000,
        "so happy today and furious about it"]


def _gold(df: pd.DataFrame) -> np.ndarray:
    return np.array([[int(lab in s.split(";")) for lab in LABELS] for s in df["labels"]])


WEAK, DEV = _rows(40, 1), _rows(40, 2)
# the weak rows' "label model" probabilities: right, but soft
P_WEAK = np.where(_gold(WEAK) == 1, 0.8, 0.1)
ROWS = task_rows(WEAK["text"], P_WEAK, DEV["text"], _gold(DEV))  # texts, Y, weights, gold


def _fit(**params):
    texts, Y, w, gold = ROWS
    model = MiniLMFineTunedMultiLabel(**(TINY | params))
    assert model.fit(texts, Y, w, gold=gold) is model
    return model


@pytest.fixture(scope="module")
def fitted():
    return _fit(seed=0)


@pytest.fixture(scope="module")
def exported(fitted, tmp_path_factory):
    out = tmp_path_factory.mktemp("finetune_ml_onnx")
    return out, save_transformer_onnx(fitted, out)


def test_clone_gives_unfitted_copy_with_same_params():
    model = MiniLMFineTunedMultiLabel(seed=3, epochs=2, max_time=60)
    copy = clone(model)
    assert copy.get_params() == model.get_params() and not hasattr(copy, "state_")
    assert copy.get_params()["val_fraction"] == 0.3  # of the gold rows (module docstring)


def test_probabilities_one_per_label_in_classes_order(fitted):
    assert fitted.classes_.tolist() == [0, 1, 2]
    proba = fitted.predict_proba(list(DEV["text"][:3]) + EDGE)
    assert proba.shape == (3 + len(EDGE), 3) and ((proba > 0) & (proba < 1)).all()
    assert not np.allclose(proba.sum(axis=1), 1.0)  # independent sigmoids, not a softmax
    np.testing.assert_array_equal(fitted.predict(EDGE),
                                  fitted.predict_proba(EDGE) >= fitted.thresholds_)
    assert fitted.predict_proba([]).shape == (0, 3)
    assert is_multilabel_model(fitted)  # what predict, the card and serve go by


def test_same_seed_same_weights_other_seed_other_weights(fitted):
    again = _fit(seed=0)
    assert all(np.array_equal(fitted.state_[k], again.state_[k]) for k in fitted.state_)
    np.testing.assert_array_equal(again.thresholds_, fitted.thresholds_)
    np.testing.assert_array_equal(again.held_out_rows_, fitted.held_out_rows_)
    assert again.history_ == fitted.history_
    other = _fit(seed=1)
    assert not np.array_equal(other.state_["head.weight"], fitted.state_["head.weight"])


def test_thresholds_are_tuned_on_held_out_dev_rows_only(fitted):
    texts, Y, _, gold = ROWS
    held = fitted.held_out_rows_
    assert gold[held].all()  # dev gold rows, never a weak row
    assert len(held) == round(0.3 * gold.sum())
    # the rows the training loop's batches fed to the network (recorded in the loop, not
    # derived from the held-out mask, which a model trained on the held rows still had):
    # every other row, no held-out one
    np.testing.assert_array_equal(fitted.trained_rows_,
                                  np.setdiff1d(np.arange(len(texts)), held))
    assert fitted.n_train_rows_ == len(texts) - len(held)
    proba = fitted.predict_proba(texts[held])
    for c in range(3):
        cut, f1 = best_threshold(Y[held, c], proba[:, c])
        assert fitted.thresholds_[c] == cut and fitted.dev_heldout_f1_[c] == f1
    # the same gold held out under other weak rows' targets: the thresholds move with the
    # model, but the held-out rows (drawn from the seed and the gold) do not
    flipped = Y.copy()
    flipped[~gold] = 1 - flipped[~gold]
    other = MiniLMFineTunedMultiLabel(**TINY).fit(texts, flipped, ROWS[2], gold=gold)
    np.testing.assert_array_equal(other.held_out_rows_, held)


class _FoldSpy:
    """A fold label model that records which dev rows each refit was given."""

    def __init__(self):
        self.given = []

    def probs(self, dev_rows):
        self.given.append(np.asarray(dev_rows))
        return np.full_like(P_WEAK, 0.5)


def test_the_held_out_rows_gold_does_not_shape_the_weak_targets():
    # before: the weak rows' targets came from the label model fit on all dev gold,
    # the held-out rows' included, and the fine-tune was judged on those rows
    spy = _FoldSpy()
    texts = {"train": WEAK["text"].tolist(), "dev": DEV["text"].tolist()}
    model, _, fields = fit_task(texts, P_WEAK, _gold(DEV), dict(TINY), LABELS,
                                fold_probs=spy)
    (given,) = spy.given
    held = model.held_out_rows_ - len(P_WEAK)
    assert len(held) and not np.isin(held, given).any()
    assert sorted([*given, *held]) == list(range(len(DEV)))
    # and the fine-tune learnt the refit's targets, not P_WEAK's (0.5 everywhere)
    assert "held_out" in fields["end_model"]["dev_protocol"]


def test_split_gold_holds_out_positives_of_every_label():
    Y = np.zeros((100, 3))
    Y[:, 0] = 1
    Y[[3, 50], 1] = 1  # a rare label: 2 positives (a random 20 of 100 misses both 64%)
    Y[[7, 8, 9, 10, 11], 2] = 1
    for seed in range(8):
        held = split_gold(Y, np.arange(100), 0.2, np.random.default_rng(seed))
        assert held.sum() == 20 and held[[3, 50]].any() and held[[7, 8, 9, 10, 11]].any()


def test_skops_round_trip_same_probabilities_and_thresholds(fitted, tmp_path):
    save_model(fitted, tmp_path / "m.skops")
    loaded = load_model(tmp_path / "m.skops")
    np.testing.assert_array_equal(loaded.predict_proba(EDGE), fitted.predict_proba(EDGE))
    np.testing.assert_array_equal(loaded.thresholds_, fitted.thresholds_)


def test_onnx_a_sigmoid_per_label_fp32_within_1e4_int8_within_tolerance(fitted, exported):
    out, written = exported
    assert written["info"]["multi_label"] is True and written["info"]["classes"] == [0, 1, 2]
    texts = list(DEV["text"]) + EDGE
    torch_proba = fitted.predict_proba(texts)
    for file, tol in (("model.onnx", 1e-4), (INT8_FILE, INT8_TOLERANCE)):
        proba = TransformerOnnxModel(out, file, written["info"]).predict_proba_full(texts, 3)
        np.testing.assert_allclose(proba, torch_proba, rtol=0, atol=tol)
    # the graph's own label output: 1 where the trained threshold is reached
    session = ort.InferenceSession(str(out / "model.onnx"), providers=["CPUExecutionProvider"])
    ids, mask = encode(fitted.tokenizer(), texts)
    label, proba = session.run(None, dict(zip(INPUTS, (ids, mask))))
    assert label.shape == (len(texts), 3)
    # compared as `labeling predict` compares: float32 probability read into float64
    np.testing.assert_array_equal(label, proba.astype(np.float64) >= fitted.thresholds_)
    info = dict(written["info"], int8=dict(written["info"]["int8"]))
    transformer_parity(fitted, out, info, texts)
    assert info["parity"]["max_abs_diff"] < 1e-4 and info["parity"]["label_set_agreement"] == 1
    assert info["int8"]["parity"]["max_abs_diff"] < INT8_TOLERANCE


def test_graph_label_output_is_predicts_label_set_at_a_threshold_within_float32_rounding(
        fitted, exported, tmp_path):
    """#16 review: the graph compared in float32, `labeling predict`/`serve` in float64, so
    a probability p below a threshold t that rounds to p in float32 was a label in the
    graph's ``label`` output and not in predict's set. Here t is one float64 step above an
    observed probability, read as predict reads it (one text alone, as it runs it)."""
    out, written = exported
    text = [str(DEV["text"].iloc[0])]
    p = TransformerOnnxModel(out, "model.onnx", written["info"]).predict_proba_full(text, 3)[0]
    nudged = copy.copy(fitted)  # the module's model stays as it is
    nudged.thresholds_ = fitted.thresholds_.copy()
    nudged.thresholds_[0] = np.nextafter(p[0], 1.0)
    assert nudged.thresholds_[0] > p[0] and np.float32(nudged.thresholds_[0]) == p[0]
    info = save_transformer_onnx(nudged, tmp_path)["info"]
    ids, mask = encode(nudged.tokenizer(), text)
    for file in ("model.onnx", INT8_FILE):
        proba = TransformerOnnxModel(tmp_path, file, info).predict_proba_full(text, 3)
        line = json.loads(format_label_sets(text, proba, LABELS, nudged.thresholds_, "jsonl"))
        session = ort.InferenceSession(str(tmp_path / file), providers=["CPUExecutionProvider"])
        label, graph_proba = session.run(None, dict(zip(INPUTS, (ids, mask))))
        np.testing.assert_array_equal(graph_proba, proba)  # the run predict's set came from
        assert [LABELS[c] for c in np.flatnonzero(label[0])] == line["labels"], file
        if file == "model.onnx":  # the edge itself: p < t, so not a label anywhere
            np.testing.assert_array_equal(proba[0], p)
            assert LABELS[0] not in line["labels"]


# --- the whole way: labeling run -> export -> predict -> serve --------------------------

def _with_end_model(config: Path, end_model: str) -> Path:
    text = config.read_text(encoding="utf-8")
    text = re.sub(r"\[end_model\].*", end_model, text, flags=re.S)
    config.write_text(text, encoding="utf-8")
    return config


def _cli(*args, **kwargs):
    return CliRunner().invoke(app, [str(a) for a in args], **kwargs)


TINY_TOML = ('[end_model]\nname = "minilm_finetune"\n'
             'params = { epochs = 1, max_seq_len = 16, batch_size = 8, progress = false }\n')


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    config = _with_end_model(_project(tmp_path_factory.mktemp("ft_ml")), TINY_TOML)
    result = _cli("run", config, "--no-progress")
    assert result.exit_code == 0, result.output
    return config.parent / "runs" / "ml"


def test_run_trains_once_and_exports_fp32_int8_with_the_card(run_dir):
    section = json.loads((run_dir / "metrics.json").read_text())["multi_label"]
    end = section["end_model"]
    assert end["name"] == "minilm_finetune" and end["dev_protocol"].startswith("held_out")
    assert end["weak_weight"] == "per_row" and end["gold_weight"] == 5.0
    # its gold-only twin (tests/test_finetune_multilabel_twin.py), the frozen family beside
    assert section["gold_only"]["name"] == "minilm_finetune"
    assert section["gold_only_frozen"]["name"] == "tfidf_minilm_avg"
    assert set(section["scores"]["end_model"]) == {"dev", "test"}
    model = load_model(run_dir / "end_model.skops")
    card = json.loads((run_dir / "model" / CARD_FILE).read_text())
    assert card["multi_label"]["thresholds"] == pytest.approx(model.thresholds_.tolist())
    assert card["multi_label"]["thresholds"] == pytest.approx(list(end["thresholds"].values()),
                                                              abs=1e-4)
    assert "held-out dev rows" in card["multi_label"]["threshold_rule"]
    onnx = card["onnx"]
    assert onnx["input"] == "tokens" and onnx["multi_label"] is True
    assert onnx["parity"]["max_abs_diff"] < 1e-4 and onnx["parity"]["texts"] == 140
    assert onnx["int8"]["parity"]["max_abs_diff"] < INT8_TOLERANCE
    markdown = (run_dir / "model" / "MODEL_CARD.md").read_text()
    assert "int8 copy" in markdown and "Held-out dev macro F1 on the same" in markdown
    assert "its gold-only twin (minilm_finetune" in markdown  # the twin's text and verdict
    assert card["gold_only"]["text"] == section["gold_only"]["text"]


def _predict_jsonl(model_dir, runtime, texts):
    result = _cli("predict", "--model", model_dir, "--runtime", runtime, "--format", "jsonl",
                  "--input", "-", input="".join(t + "\n" for t in texts))
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


TEXTS = ["so happy today", "i hate this and so angry now", "the bus is at nine",
         "glad but furious about it", "page two"]


@pytest.mark.parametrize("runtime", ["sklearn", "onnx", "onnx_int8"])
def test_predict_label_sets_equal_the_in_process_ones(run_dir, runtime):
    model_dir = run_dir / "model"
    rows = _predict_jsonl(model_dir, runtime, TEXTS)
    assert [r["text"] for r in rows] == TEXTS
    if runtime == "onnx_int8":  # its own probabilities (within INT8_TOLERANCE of torch)
        proba = load_exported(model_dir, runtime).predict_proba(TEXTS)
    else:  # the trained model itself, in this process
        proba = load_model(run_dir / "end_model.skops").predict_proba(TEXTS)
        if runtime == "onnx":
            np.testing.assert_allclose(
                load_exported(model_dir, runtime).predict_proba(TEXTS), proba, atol=1e-4)
    thresholds = np.array(json.loads((model_dir / CARD_FILE).read_text())
                          ["multi_label"]["thresholds"])
    assert [r["labels"] for r in rows] == [[LABELS[c] for c in np.flatnonzero(p >= thresholds)]
                                           for p in proba]
    np.testing.assert_allclose([[r["probabilities"][n] for n in LABELS] for r in rows], proba,
                               atol=1e-6 if runtime != "onnx" else 1e-4)


def test_serve_answers_the_same_label_sets(run_dir):
    model_dir = run_dir / "model"
    expected = _predict_jsonl(model_dir, "onnx", TEXTS)
    proc, url = start_cli_server(model_dir, "--runtime", "onnx")
    try:
        status, body = post(url, "/predict", {"texts": TEXTS})
    finally:
        code, output = stop(proc)
    assert code == 0 and "Traceback" not in output, output
    assert status == 200 and body["labels"] == [r["labels"] for r in expected]


# --- bad params: one line each, before anything is fit -----------------------------------

@pytest.mark.parametrize("params, message", [
    ("{ epochs = 0 }", "epochs must be an integer >= 1, got 0"),
    ("{ val_fraction = 0.0 }", "val_fraction must be > 0"),
    ("{ val_fraction = 0.7 }", "val_fraction must be in [0, 0.5)"),
    ("{ max_time = -1 }", "max_time must be > 0"),
    ("{ weak_weights = [0, 1] }", "set one weak_weight"),
    ("{ weak_weight = -1 }", "weak_weight must be a finite number >= 0"),
    ("{ gold_weight = 0 }", "gold_weight must be a number > 0"),
    ("{ learning_rate = 0.1 }",
     "learning_rate: not a parameter of the multi-label fine-tune"),
    # the single-label fine-tune's second stage: said, not a constructor's TypeError
    ("{ gold_epochs = 2 }", "gold_epochs: not a parameter of the multi-label fine-tune (the "
                            "second stage on the gold rows, gold_epochs/gold_lr, is "
                            "single-label only)"),
    # before: found by the gold-only baseline, after the whole fine-tune, in sklearn's words
    ("{ n_folds = 1 }", "n_folds (the gold-only baseline's dev CV) must be an integer >= 2"),
])
def test_bad_params_are_one_line_errors(tmp_path, params, message):
    config = _with_end_model(_project(tmp_path),
                             f'[end_model]\nname = "minilm_finetune"\nparams = {params}\n')
    result = _cli("run", config, "--no-progress")
    assert result.exit_code == 2, result.output
    error = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(error) == 1 and "end_model: " in error[0] and message in error[0], result.output
    assert "Traceback" not in result.output
    assert not (config.parent / "runs" / "ml" / "end_model.skops").exists()


def test_unknown_end_model_lists_minilm_finetune(tmp_path):
    config = _with_end_model(_project(tmp_path), '[end_model]\nname = "bert"\n')
    result = _cli("run", config, "--no-progress")
    assert result.exit_code == 2 and "unknown multi-label end model 'bert'" in result.output
    assert "minilm_finetune" in result.output


def test_bad_targets_are_errors():
    texts, Y, w, gold = ROWS
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        MiniLMFineTunedMultiLabel(**TINY).fit(texts, Y * 2, w, gold=gold)
    with pytest.raises(ValueError, match="n x k"):
        MiniLMFineTunedMultiLabel(**TINY).fit(texts, Y[:-1], w, gold=gold)
    with pytest.raises(ValueError, match="at least 4 are needed"):
        MiniLMFineTunedMultiLabel(**TINY).fit(texts[:8], Y[:8], w[:8], gold=gold[:8])
    with pytest.raises(ValueError, match="not fitted"):
        MiniLMFineTunedMultiLabel().predict_proba(["x"])
