"""Shipping an exported model as a new user would: a card edited after export is refused
(swapped labels would silently flip every answer), a run folder or a missing folder
passed as --model gets a line naming the folder meant, and the card says what trained
the model (rows left out, the decision bias folded into its probabilities); the server
tells a client that posted a form or a file upload to send JSON."""

from __future__ import annotations

import hashlib
import http.client
import json
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from labeling.cli import app
from labeling.errors import ModelLoadError
from labeling.export import export_model, load_exported
from labeling.export.card import CARD_FILE, CARD_MARKDOWN
from labeling.export.provenance import training_summary
from labeling.train.end_model import train_end_model

TEXTS = ["subscribe to my channel", "check out my channel", "free money on my channel",
         "love this song", "great song", "this song is beautiful"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    model = train_end_model(TEXTS, np.eye(2)[[1, 1, 1, 0, 0, 0]], np.ones(6, bool))
    run = tmp_path_factory.mktemp("run")
    export_model(model, run / "model", {"task": "tiny", "labels": ["ham", "spam"]})
    return run / "model"


@pytest.fixture
def copy(folder, tmp_path) -> Path:
    return Path(shutil.copytree(folder, tmp_path / "model"))


def _edit_card(folder: Path, edit) -> None:
    card = json.loads((folder / CARD_FILE).read_text())
    edit(card)
    (folder / CARD_FILE).write_text(json.dumps(card, indent=2))


def test_swapped_labels_in_the_card_are_refused_not_answered_flipped(copy):
    before = load_exported(copy).predict_proba(["check out my channel"])
    assert before.argmax() == 1  # spam
    _edit_card(copy, lambda c: c.__setitem__("labels", ["spam", "ham"]))
    with pytest.raises(ModelLoadError, match=rf"{CARD_FILE}: field labels differs .*changed after export"):
        load_exported(copy)
    result = CliRunner().invoke(app, ["predict", "-m", str(copy), "check out my channel"])
    assert result.exit_code == 2 and "labels_sha256" in result.output
    assert len(result.output.strip().splitlines()) == 1 and "ham\t" not in result.output


def test_an_edited_markdown_card_is_refused_naming_it(copy):
    text = (copy / CARD_MARKDOWN).read_text()
    (copy / CARD_MARKDOWN).write_text(text.replace("tiny", "tinier"))
    with pytest.raises(ModelLoadError, match=rf"{CARD_MARKDOWN}: sha256 differs"):
        load_exported(copy)


def test_a_descriptive_edit_of_the_card_json_still_loads(copy):
    _edit_card(copy, lambda c: c.__setitem__("note", "reviewed"))  # unknown fields allowed
    assert load_exported(copy).labels == ["ham", "spam"]


def test_a_run_folder_names_its_model_folder(folder):
    result = CliRunner().invoke(app, ["predict", "-m", str(folder.parent), "hi"])
    assert result.exit_code == 2
    assert "run folder" in result.output and str(folder) in result.output


def test_a_missing_folder_says_not_found(tmp_path):
    with pytest.raises(ModelLoadError, match="model folder not found"):
        load_exported(tmp_path / "nope")


def test_the_card_says_rows_left_out_and_the_decision_bias():
    end = {"name": "tfidf_logreg", "label_mode": "soft", "train_rows": 1132,
           "train_rows_uncovered_dropped": 100, "dev_rows_trained_on": 264,
           "dev_weight": 3.0, "decision_bias": [0.0, -0.7]}
    text = training_summary({"end_model": end}, {}, ["ham", "spam"])["text"]
    assert "100 train rows no LF voted on were left out" in text
    assert "decision bias" in text and "spam -0.7" in text
    assert "ham" not in text.split("decision bias")[1]  # a zero entry is not listed


# --- serve: a form or file upload is told to send JSON -----------------------------------

CLI = [sys.executable, "-c", "from labeling.cli import main; main()"]  # `labeling ...`
# seconds: a hang guard, never a performance bound (serve warms its model up first)
TIMEOUT = 120


@pytest.fixture(scope="module")
def server(folder):
    """`labeling serve` on a free port of 127.0.0.1; stopped (SIGTERM) after the tests."""
    proc = subprocess.Popen(CLI + ["serve", "--model", str(folder), "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()  # "serving tiny (sklearn) on http://127.0.0.1:PORT ..."
        match = re.search(r"http://127\.0\.0\.1:(\d+)", line)
        assert match, line + proc.stderr.read()
        yield int(match.group(1))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=TIMEOUT)


def _post(port: int, body: bytes, content_type: str | None) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    try:
        headers = {"Content-Type": content_type} if content_type else {}
        conn.request("POST", "/predict", body=body, headers=headers)
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def test_a_form_body_is_told_its_content_type(server):
    status, answer = _post(server, b"texts=check+out+my+channel",
                           "application/x-www-form-urlencoded")
    assert status == 400 and "Content-Type: application/x-www-form-urlencoded" in answer["error"]
    assert "application/json" in answer["error"] and "\n" not in answer["error"]
    status, answer = _post(server, b'--x\r\nContent-Disposition: form-data; name="texts"\r\n'
                                   b"\r\nhi\r\n--x--\r\n", "multipart/form-data; boundary=x")
    assert status == 400 and "Content-Type: multipart/form-data;" in answer["error"]


def test_json_sent_as_a_form_still_works_and_bad_json_is_told_as_json(server):
    """`curl -d` sends a JSON body as a form: it is answered (docs/serve.md's examples)."""
    status, answer = _post(server, b'{"texts": ["check out my channel"]}',
                           "application/x-www-form-urlencoded")
    assert status == 200 and answer["labels"] == ["spam"]
    status, answer = _post(server, b'{"texts": [', "application/x-www-form-urlencoded")
    assert status == 400 and "Content-Type" not in answer["error"]
    status, answer = _post(server, b"texts=a", None)
    assert status == 400 and answer["error"].startswith("request body is not valid JSON")


# --- predict: an --id-column asked for must be there --------------------------------------

def test_an_id_column_asked_for_but_absent_is_an_error_not_silently_dropped(folder, tmp_path):
    table = tmp_path / "comments.csv"
    table.write_text("id,text\nc1,check out my channel\nc2,great song\n")
    runner = CliRunner()
    result = runner.invoke(app, ["predict", "-m", str(folder), "-i", str(table),
                                 "--id-column", "comment_id"])
    assert result.exit_code == 2, result.output
    assert result.output.strip() == (f"error: {table}: no id column 'comment_id' (columns: "
                                     'id, text); pass --id-column, or --id-column "" for none')
    lines = runner.invoke(app, ["predict", "-m", str(folder), "-i", str(table)]).output
    assert [line.split("\t")[0] for line in lines.splitlines()] == ["c1", "c2"]
    bare = tmp_path / "bare.csv"
    bare.write_text("text\ncheck out my channel\n")
    for extra in ([], ["--id-column", ""]):  # the default id column is optional
        result = runner.invoke(app, ["predict", "-m", str(folder), "-i", str(bare)] + extra)
        assert result.exit_code == 0 and result.output.startswith("spam\t"), result.output


def test_the_markdown_card_names_the_end_model_in_words():
    from labeling.export.card import card_markdown

    text = card_markdown({"labels": ["ham", "spam"], "end_model": {
        "name": "tfidf_minilm_avg", "label_mode": "soft", "config": "auto", "params": {}}})
    assert "- end model: tfidf_minilm_avg (soft labels; config auto)\n" in text
    assert "{'name'" not in text


def test_the_card_hashes_the_test_file_its_test_scores_come_from(tmp_path):
    from types import SimpleNamespace

    from labeling.export.provenance import training_files

    for split in ("train", "dev", "test"):
        (tmp_path / f"{split}.csv").write_text(f"id,text,label\n{split}1,a,ham\n")
    cfg = SimpleNamespace(data=SimpleNamespace(train="train.csv", dev="dev.csv",
                                               test="test.csv"),
                          resolve=lambda p: tmp_path / p, annotations_path=tmp_path / "none")
    files = training_files(cfg, {"dev_rows_trained_on": 1}, {})
    assert files["test"]["file"] == "test.csv" and "never trained on" in files["test"]["role"]
    assert files["test"]["sha256"] == hashlib.sha256(
        (tmp_path / "test.csv").read_bytes()).hexdigest()
