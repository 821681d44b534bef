"""The `labeling` CLI: end to end on the bundled data, predict, and bad inputs."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from labeling.cli import app
from labeling.export import load_exported
from labeling.train.end_model import predict_proba_full

runner = CliRunner()


def invoke(*args, input=None):
    return runner.invoke(app, [str(a) for a in args], input=input)


def assert_user_error(result, *fragments):
    """Exit status 2, one line 'error: ...' naming ``fragments``, and no traceback."""
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert isinstance(result.exception, SystemExit), result.exception  # not a crash
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


def ok(result):
    assert result.exit_code == 0, (result.output, result.exception)
    return result


# --- end to end on the bundled data ------------------------------------------------

@pytest.fixture(scope="module")
def model_dir(youtube_run):
    return youtube_run[1] / "model"


@pytest.fixture(scope="module")
def exported(model_dir):
    return load_exported(model_dir)


def expected_predictions(exported, texts):
    proba = predict_proba_full(exported.model, texts, len(exported.labels))
    return [(exported.labels[k], row[k]) for k, row in zip(proba.argmax(axis=1), proba)]


def test_run_writes_all_artifacts(youtube_run):
    task, run_dir, _ = youtube_run
    for name in ("L.parquet", "probs.parquet", "metrics.json", "lf_summary.csv",
                 "end_model.skops", "model/model.skops", "model/model_card.json",
                 "model/MODEL_CARD.md"):
        assert (run_dir / name).is_file(), name


def test_label_matrix_artifact(youtube_run):
    task, run_dir, _ = youtube_run
    L = pd.read_parquet(run_dir / "L.parquet")
    names = [lf.name for lf in task.lfs]
    assert list(L.columns) == names and len(names) == 17
    assert {"llm_asks_to_visit", "llm_promotion", "llm_spam_or_ham"} <= set(names)
    assert list(L.index.names) == ["split", "id"]
    for split, df in task.splits.items():
        part = L.xs(split, level="split")
        assert list(part.index) == df["id"].tolist()
    assert len(L) == sum(len(df) for df in task.splits.values())
    assert set(np.unique(L.to_numpy())) <= {-1, 0, 1}


def test_probs_artifact(youtube_run):
    task, run_dir, _ = youtube_run
    probs = pd.read_parquet(run_dir / "probs.parquet")
    assert list(probs.index.names) == ["split", "id"]
    assert {"p_ham", "p_spam", "covered", "label_model_pred", "majority_vote_pred"} <= set(probs)
    np.testing.assert_allclose(probs[["p_ham", "p_spam"]].sum(axis=1), 1.0, atol=1e-6)
    L = pd.read_parquet(run_dir / "L.parquet")
    np.testing.assert_array_equal(probs["covered"].to_numpy(),
                                  (L.to_numpy() != -1).any(axis=1))
    assert len(probs.xs("train", level="split")) == len(task.splits["train"])


def test_metrics_json(youtube_run, repo_root):
    task, run_dir, metrics = youtube_run
    on_disk = json.loads((run_dir / "metrics.json").read_text())
    assert on_disk == metrics
    sizes = {s: len(pd.read_csv(repo_root / "data" / "youtube" / f"{s}.csv"))
             for s in ("train", "dev", "test")}
    assert sizes == {"train": 1232, "dev": 264, "test": 264}
    for section in ("label_model", "majority_vote", "end_model"):
        for split in ("dev", "test"):
            scores = metrics[section][split]
            assert scores["n"] == sizes[split], (section, split)
            for key in ("accuracy", "macro_f1", "f1"):
                assert isinstance(scores[key], float) and 0.0 <= scores[key] <= 1.0
    assert {s: metrics["data"][s]["n"] for s in sizes} == sizes
    assert metrics["lfs"]["names"] == [lf.name for lf in task.lfs]
    assert metrics["lfs"]["fault_counts"] == {}
    assert metrics["end_model"]["train_rows"] + \
        metrics["end_model"]["train_rows_uncovered_dropped"] == sizes["train"]
    assert metrics["label_model"]["name"] == task.config.label_model.name


def test_lf_summary_csv(youtube_run):
    task, run_dir, _ = youtube_run
    summary = pd.read_csv(run_dir / "lf_summary.csv", index_col="lf")
    assert list(summary.index) == [lf.name for lf in task.lfs]
    assert {"coverage", "dev_accuracy"} <= set(summary.columns)
    assert ((summary["coverage"] > 0) & (summary["coverage"] <= 1)).all()


def test_model_card(youtube_run, repo_root, model_dir):
    task, _, metrics = youtube_run
    card = json.loads((model_dir / "model_card.json").read_text())
    assert card["labels"] == ["ham", "spam"] and card["positive_label"] == "spam"
    assert [lf["name"] for lf in card["lfs"]] == [lf.name for lf in task.lfs]
    kinds = {lf["name"]: lf["kind"] for lf in card["lfs"]}
    assert kinds["kw_subscribe"] == "pattern" and kinds["short_comment"] == "python"
    assert kinds["ent_url_or_email"] == "spacy"
    train_sha = hashlib.sha256((repo_root / "data/youtube/train.csv").read_bytes()).hexdigest()
    assert card["training_data_sha256"] == train_sha
    assert card["model_sha256"] == hashlib.sha256(
        (model_dir / "model.skops").read_bytes()).hexdigest()
    assert {"python", "scikit-learn", "skops", "snorkel", "numpy"} <= set(card["versions"])
    assert card["metrics"]["end_model"]["test"] == metrics["end_model"]["test"]
    assert card["label_model"] == task.config.label_model.name
    assert "ham, spam" in (model_dir / "MODEL_CARD.md").read_text()


@pytest.mark.parametrize("check", ["end_model_accuracy", "label_model_vs_majority_vote"])
def test_quality_bar(youtube_run, check):
    metrics = youtube_run[2]
    end = metrics["end_model"]["test"]["accuracy"]
    lm = metrics["label_model"]["test"]["accuracy"]
    mv = metrics["majority_vote"]["test"]["accuracy"]
    numbers = f"test accuracy: end model {end:.4f}, label model {lm:.4f}, majority vote {mv:.4f}"
    print(numbers)
    if check == "end_model_accuracy":
        assert end >= 0.90, numbers
    else:
        assert lm >= mv, numbers


# --- predict -----------------------------------------------------------------------

def parse_tsv(stdout):
    rows = [line.split("\t", 2) for line in stdout.splitlines()]
    return [(label, float(p), text) for label, p, text in rows]


def test_predict_texts_as_arguments(model_dir, exported):
    texts = ["check out my channel", "I love this song",
             "subscribe to my channel for free money"]
    result = ok(invoke("predict", "--model", model_dir, *texts))
    rows = parse_tsv(result.stdout)
    assert [r[2] for r in rows] == texts
    for (label, p, _), (want_label, want_p) in zip(rows, expected_predictions(exported, texts)):
        assert label == want_label and p == pytest.approx(want_p, abs=1e-4)
        assert 0.5 <= p <= 1.0
    assert rows[2][0] == "spam"


def test_predict_input_csv(model_dir, exported, tmp_path):
    texts = ["check out my channel", "nice song, love it", "visit www.cheap.com now"]
    path = tmp_path / "in.csv"
    pd.DataFrame({"id": [1, 2, 3], "text": texts, "other": ["a", "b", "c"]}).to_csv(path,
                                                                                     index=False)
    # The table has an id column: each line starts with the row's id (#15).
    lines = ok(invoke("predict", "-m", model_dir, "--input", path)).stdout.splitlines()
    assert [line.split("\t", 1)[0] for line in lines] == ["1", "2", "3"]
    rows = parse_tsv("\n".join(line.split("\t", 1)[1] for line in lines))
    assert [r[2] for r in rows] == texts
    assert [r[0] for r in rows] == [e[0] for e in expected_predictions(exported, texts)]
    jsonl = ok(invoke("predict", "-m", model_dir, "-i", path, "--format", "jsonl")).stdout
    assert [json.loads(line)["id"] for line in jsonl.splitlines()] == ["1", "2", "3"]
    no_ids = ok(invoke("predict", "-m", model_dir, "-i", path, "--id-column", "")).stdout
    assert [r[2] for r in parse_tsv(no_ids)] == texts  # "": no id column
    assert_user_error(invoke("predict", "-m", model_dir, "-i", path, "--id-column", "none"),
                      "in.csv", "no id column 'none'")  # a column it lacks: not ignored

    renamed = tmp_path / "renamed.csv"
    pd.DataFrame({"comment": texts}).to_csv(renamed, index=False)
    rows = parse_tsv(ok(invoke("predict", "-m", model_dir, "-i", renamed,
                               "--text-column", "comment")).stdout)
    assert [r[2] for r in rows] == texts
    assert_user_error(invoke("predict", "-m", model_dir, "-i", renamed), "renamed.csv",
                      "no text column 'text'", "--text-column")


def test_predict_input_jsonl(model_dir, tmp_path):
    texts = ["check out my channel", "line\nbreak inside", "ünïcode 🔥 text"]
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(json.dumps({"text": t}) for t in texts) + "\n", encoding="utf-8")
    result = ok(invoke("predict", "-m", model_dir, "-i", path))
    lines = result.stdout.splitlines()
    assert len(lines) == 3
    assert lines[1].endswith("\tline break inside")  # tsv output keeps one line per text
    assert lines[2].endswith("\tünïcode 🔥 text")


def test_predict_input_txt(model_dir, exported, tmp_path):
    path = tmp_path / "in.txt"
    path.write_text("check out my channel\n\n   \nnice song\n", encoding="utf-8")
    rows = parse_tsv(ok(invoke("predict", "-m", model_dir, "-i", path)).stdout)
    assert [r[2] for r in rows] == ["check out my channel", "nice song"]


def test_predict_stdin(model_dir, exported):
    texts = ["check out my channel", "nice song"]
    result = ok(invoke("predict", "-m", model_dir, input="\n".join(texts) + "\n"))
    rows = parse_tsv(result.stdout)
    assert [r[2] for r in rows] == texts
    assert [r[0] for r in rows] == [e[0] for e in expected_predictions(exported, texts)]
    # "-i -" reads stdin too
    rows = parse_tsv(ok(invoke("predict", "-m", model_dir, "-i", "-", input="nice song\n")).stdout)
    assert [r[2] for r in rows] == ["nice song"]


def test_predict_format_jsonl(model_dir, exported):
    texts = ["check out my channel", "I love this song", "ünïcode 🔥"]
    result = ok(invoke("predict", "-m", model_dir, "--format", "jsonl", *texts))
    preds = [json.loads(line) for line in result.stdout.splitlines()]
    assert [p["text"] for p in preds] == texts
    for pred, (label, prob) in zip(preds, expected_predictions(exported, texts)):
        assert set(pred["probabilities"]) == {"ham", "spam"}
        assert sum(pred["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)
        assert pred["label"] == label == max(pred["probabilities"],
                                             key=pred["probabilities"].get)
        assert pred["probability"] == pytest.approx(prob)
        assert pred["probability"] == pytest.approx(pred["probabilities"][label], abs=1e-6)
    assert "ünïcode 🔥" in result.stdout  # not escaped


def test_predict_bad_format(model_dir):
    assert_user_error(invoke("predict", "-m", model_dir, "--format", "xml", "hi"),
                      "--format must be tsv, jsonl or csv")


@pytest.mark.parametrize("stdin", ["", "\n  \n"])
def test_predict_empty_input(model_dir, stdin):
    result = ok(invoke("predict", "-m", model_dir, input=stdin))
    assert result.stdout == ""
    assert "no texts to classify" in result.stderr


def test_predict_empty_file(model_dir, tmp_path):
    path = tmp_path / "empty.txt"
    path.write_text("")
    result = ok(invoke("predict", "-m", model_dir, "-i", path))
    assert result.stdout == "" and "no texts to classify" in result.stderr


@pytest.mark.parametrize("name, content", [
    ("bad.txt", b"fine line\ncaf\xe9 au lait\n"),
    ("bad.csv", b"text\nfine\ncaf\xe9\n"),
])
def test_predict_non_utf8_file(model_dir, tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    line = assert_user_error(invoke("predict", "-m", model_dir, "-i", path), name,
                             "not valid UTF-8")
    assert "line" in line


def test_predict_non_utf8_stdin(model_dir):
    assert_user_error(invoke("predict", "-m", model_dir, input=b"caf\xe9\n"),
                      "stdin: not valid UTF-8")


def test_predict_missing_input_file(model_dir, tmp_path):
    assert_user_error(invoke("predict", "-m", model_dir, "-i", tmp_path / "nope.txt"),
                      "nope.txt", "not found")
    assert_user_error(invoke("predict", "-m", model_dir, "-i", tmp_path / "nope.csv"),
                      "nope.csv", "not found")


def test_predict_very_long_text(model_dir, exported):
    text = ("subscribe to my channel " * 5000)[:100_000]
    assert len(text) == 100_000
    result = ok(invoke("predict", "-m", model_dir, text))
    rows = parse_tsv(result.stdout)
    assert len(rows) == 1 and rows[0][2] == text
    assert rows[0][0] == expected_predictions(exported, [text])[0][0]


def test_predict_bad_model_dir(tmp_path):
    assert_user_error(invoke("predict", "-m", tmp_path, "hi"), "no model_card.json")


def test_predict_tampered_model_is_refused(model_dir, tmp_path):
    copy = tmp_path / "model"
    shutil.copytree(model_dir, copy)
    with open(copy / "model.skops", "ab") as f:
        f.write(b"\0")
    assert_user_error(invoke("predict", "-m", copy, "hi"), "sha256 differs")


def console_script() -> str:
    """The installed `labeling` script; the package is installed, so it must exist."""
    found = Path(sys.executable).parent / "labeling"
    which = str(found) if found.is_file() else shutil.which("labeling")
    assert which, "the labeling console script is not installed (pip install -e .)"
    return which


def test_console_script_predict_subprocess(model_dir, exported):
    result = subprocess.run([console_script(), "predict", "--model", str(model_dir),
                             "check out my channel"], capture_output=True, text=True,
                            stdin=subprocess.DEVNULL, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    [(label, p, text)] = parse_tsv(result.stdout)
    want_label, want_p = expected_predictions(exported, ["check out my channel"])[0]
    assert text == "check out my channel"
    assert label == want_label and p == pytest.approx(want_p, abs=1e-4)


# --- pipeline steps on a tiny task ----------------------------------------------------

def test_run_tiny_task_via_cli(make_task):
    path = make_task()
    result = ok(invoke("run", path, "--no-progress"))
    assert "task tiny: 3 LFs" in result.stdout
    assert "kw_spam" in result.stdout  # the LF summary table
    run_dir = path.parent / "run"
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["end_model"]["test"]["accuracy"] == 1.0
    assert (run_dir / "model" / "model_card.json").is_file()


def test_steps_one_by_one_and_default_config(make_task, monkeypatch):
    path = make_task()
    monkeypatch.chdir(path.parent)  # no config argument: ./labeling.toml
    ok(invoke("apply", "--no-progress"))
    assert (path.parent / "run" / "L.parquet").is_file()
    assert not (path.parent / "run" / "probs.parquet").exists()
    ok(invoke("fit"))
    ok(invoke("train"))
    result = ok(invoke("export", "--out", path.parent / "exported"))
    assert "exported to" in result.stdout
    assert (path.parent / "exported" / "model.skops").is_file()
    rows = parse_tsv(ok(invoke("predict", "-m", path.parent / "exported",
                               "subscribe to my channel", "love this song")).stdout)
    assert [r[0] for r in rows] == ["spam", "ham"]


def test_fit_before_apply(make_task):
    line = assert_user_error(invoke("fit", make_task()), "L.parquet", "not found")
    assert "run `labeling apply` first" in line


def test_train_before_fit_and_export_before_train(make_task):
    path = make_task()
    ok(invoke("apply", path, "--no-progress"))
    assert "run `labeling fit` first" in assert_user_error(invoke("train", path))
    assert "run `labeling train` first" in assert_user_error(invoke("export", path))


def test_fit_after_data_changed_asks_to_apply_again(make_task):
    path = make_task()
    ok(invoke("apply", path, "--no-progress"))
    dev = make_task.frames()["dev"].iloc[:-1]
    dev.to_csv(path.parent / "dev.csv", index=False)
    assert_user_error(invoke("fit", path), "does not match the current dev data",
                      "labeling apply")


# --- bad inputs through the CLI ------------------------------------------------------

def test_cli_config_not_found(tmp_path):
    assert_user_error(invoke("run", tmp_path / "nope.toml", "--no-progress"), "nope.toml",
                      "config file not found")


def test_cli_missing_data_file(make_task):
    path = make_task(test=False)
    assert_user_error(invoke("run", path, "--no-progress"), "test.csv", "data file not found")
    assert not (path.parent / "run").exists()


def test_cli_missing_text_column(make_task):
    path = make_task(config={"data": {"text_column": "comment"}})
    assert_user_error(invoke("apply", path, "--no-progress"), "train.csv",
                      "no text column 'comment'")


def test_cli_unknown_config_key(make_task):
    assert_user_error(invoke("run", make_task(config={"outputdir": "x"}), "--no-progress"),
                      "labeling.toml", "outputdir")


def test_cli_lf_module_import_failure(make_task):
    source = "from labeling import keyword_lf\n\nlf = keyword_lf('x', label=1)\n1 / 0\n"
    assert_user_error(invoke("run", make_task(lf_source=source), "--no-progress"),
                      "lfs.py", "failed to import", "(line 4)", "ZeroDivisionError")


RAISING_LFS = '''\
from labeling import ABSTAIN, keyword_lf, labeling_function

spam_words = keyword_lf(["subscribe", "channel", "free"], label=1, name="kw_spam")
ham_words = keyword_lf(["song", "love"], label=0, name="kw_ham")


@labeling_function()
def fragile(x):
    if "beautiful" in x.text.lower():
        raise ValueError("cannot handle beauty")
    return 0 if "song" in x.text.lower() else ABSTAIN
'''


def test_cli_lf_raising_then_fault_tolerant(make_task):
    path = make_task(lf_source=RAISING_LFS)
    line = assert_user_error(invoke("run", path, "--no-progress"), "LF 'fragile' raised",
                             "ValueError", "cannot handle beauty", "train row", "--fault-tolerant")
    frames = make_task.frames()
    first = frames["train"].index[frames["train"]["text"].str.lower()
                                  .str.contains("beautiful")][0]
    assert f"train row {first + 1} (id={frames['train']['id'][first]})" in line

    ok(invoke("run", path, "--no-progress", "--fault-tolerant"))
    metrics = json.loads((path.parent / "run" / "metrics.json").read_text())
    expected = sum(int(df["text"].str.lower().str.contains("beautiful").sum())
                   for df in frames.values())
    assert expected == 3  # 2 in train (as written and upper-cased), 0 in dev, 1 in test
    assert metrics["lfs"]["fault_counts"] == {"fragile": expected}
    assert "cannot handle beauty" in metrics["lfs"]["first_faults"]["fragile"]
    summary = pd.read_csv(path.parent / "run" / "lf_summary.csv", index_col="lf")
    assert summary.loc["fragile", "faults"] == expected
    L = pd.read_parquet(path.parent / "run" / "L.parquet")
    beautiful = L.index.get_level_values("id").isin(
        pd.concat(frames.values()).loc[lambda d: d["text"].str.lower()
                                       .str.contains("beautiful"), "id"])
    assert (L.loc[beautiful, "fragile"] == -1).all()
    assert (L.loc[~beautiful, "fragile"] != -1).any()


def test_config_fault_tolerant_and_strict_flag(make_task):
    path = make_task(lf_source=RAISING_LFS, config={"apply": {"fault_tolerant": True}})
    ok(invoke("apply", path, "--no-progress"))
    metrics = json.loads((path.parent / "run" / "metrics.json").read_text())
    assert metrics["lfs"]["fault_counts"] == {"fragile": 3}
    assert_user_error(invoke("apply", path, "--no-progress", "--strict"), "LF 'fragile' raised")


def test_cli_lf_returning_bad_value(make_task):
    source = ("from labeling import labeling_function\n"
              "@labeling_function()\n"
              "def says_spam(x):\n"
              "    return 'spam'\n")
    assert_user_error(invoke("apply", make_task(lf_source=source), "--no-progress",
                             "--fault-tolerant"), "LF 'says_spam' returned 'spam'")


def test_cli_unknown_label_model(make_task):
    path = make_task(config={"label_model": {"name": "nope", "params": {}}})
    ok(invoke("apply", path, "--no-progress"))
    assert_user_error(invoke("fit", path), "label_model", "unknown label model 'nope'")


def test_cli_end_model_with_all_rows_uncovered(make_task):
    source = ("from labeling import keyword_lf\n"
              "a = keyword_lf('zzzz', label=1, name='never_a')\n"
              "b = keyword_lf('yyyy', label=0, name='never_b')\n"
              "c = keyword_lf('xxxx', label=1, name='never_c')\n")
    path = make_task(lf_source=source)
    assert_user_error(invoke("run", path, "--no-progress"), "end_model", "no training rows")


def test_cli_task_with_two_lfs(make_task):
    """Two LFs are a valid task (the config only requires one LF module): majority vote
    fits them; the snorkel label model needs three, which is a user error, not a crash."""
    source = ("from labeling import keyword_lf\n"
              "spam = keyword_lf(['subscribe', 'channel', 'free'], label=1, name='kw_spam')\n"
              "ham = keyword_lf(['song', 'love'], label=0, name='kw_ham')\n")
    path = make_task(lf_source=source)  # the tiny task's label model is snorkel
    ok(invoke("apply", path, "--no-progress"))
    assert_user_error(invoke("fit", path), "snorkel", "at least 3 labeling functions")
    path = make_task(lf_source=source,
                     config={"label_model": {"name": "mv", "params": make_task.DELETE}})
    ok(invoke("apply", path, "--no-progress"))
    ok(invoke("fit", path))


def test_no_arguments_shows_help():
    result = invoke()
    assert "predict" in result.output and "run" in result.output


# --- the LF column cache (on by default) ----------------------------------------------

def test_cached_rerun_keeps_fault_counts(make_task):
    path = make_task(lf_source=RAISING_LFS)
    ok(invoke("apply", path, "--no-progress", "--fault-tolerant"))
    first = json.loads((path.parent / "run" / "metrics.json").read_text())["lfs"]
    L_first = pd.read_parquet(path.parent / "run" / "L.parquet")
    ok(invoke("apply", path, "--no-progress", "--fault-tolerant"))
    second = json.loads((path.parent / "run" / "metrics.json").read_text())["lfs"]
    assert first["fault_counts"] == second["fault_counts"] == {"fragile": 3}
    pd.testing.assert_frame_equal(pd.read_parquet(path.parent / "run" / "L.parquet"), L_first)
    # A strict rerun still fails on the same rows, cache or not.
    assert_user_error(invoke("apply", path, "--no-progress", "--strict"), "LF 'fragile' raised")


def test_editing_an_lf_recomputes_its_column(make_task):
    path = make_task()
    ok(invoke("apply", path, "--no-progress"))
    before = pd.read_parquet(path.parent / "run" / "L.parquet")
    lfs = path.parent / "lfs.py"
    lfs.write_text(lfs.read_text().replace("len(x.text.split()) >= 6", "len(x.text.split()) >= 1"))
    ok(invoke("apply", path, "--no-progress"))
    after = pd.read_parquet(path.parent / "run" / "L.parquet")
    assert (before["long_text"] == -1).any()
    assert (after["long_text"] == 1).all()  # every text has at least one word
    pd.testing.assert_series_equal(after["kw_spam"], before["kw_spam"])
