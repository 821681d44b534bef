"""`labeling predict -i FILE` on a file without a `text` column reads the column the
model's task read (the card's `text_column`): a task whose texts are in `body` predicts
on its own test file as it is (h135: "no text column 'text'"; the card did not say)."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from test_cli import assert_user_error, invoke, ok  # noqa: E402

TEXTS = ["check out my channel", "i love this song"]


def _body_model(youtube_run, tmp_path) -> Path:
    """The bundled model, its card saying its task read the texts from `body`."""
    model = tmp_path / "model"
    shutil.copytree(youtube_run[1] / "model", model)
    card = json.loads((model / "model_card.json").read_text())
    assert card["text_column"] == "text"  # what export wrote: the task's text column
    card["text_column"] = "body"
    (model / "model_card.json").write_text(json.dumps(card))
    return model


def test_a_file_without_text_is_read_by_the_tasks_column(youtube_run, tmp_path):
    model = _body_model(youtube_run, tmp_path)
    path = tmp_path / "test.csv"
    pd.DataFrame({"msg_id": ["a", "b"], "body": TEXTS}).to_csv(path, index=False)
    out = ok(invoke("predict", "-m", model, "-i", path, "--id-column", "msg_id",
                    "--format", "jsonl")).stdout
    rows = [json.loads(line) for line in out.splitlines()]
    assert [(r["id"], r["text"]) for r in rows] == [("a", TEXTS[0]), ("b", TEXTS[1])]


def test_a_text_column_asked_for_is_not_replaced(youtube_run, tmp_path):
    model = _body_model(youtube_run, tmp_path)
    path = tmp_path / "test.csv"
    pd.DataFrame({"body": TEXTS}).to_csv(path, index=False)
    assert_user_error(invoke("predict", "-m", model, "-i", path, "--text-column", "comment"),
                      "test.csv", "no text column 'comment'")


def test_neither_column_names_both(youtube_run, tmp_path):
    model = _body_model(youtube_run, tmp_path)
    path = tmp_path / "test.csv"
    pd.DataFrame({"comment": TEXTS}).to_csv(path, index=False)
    assert_user_error(invoke("predict", "-m", model, "-i", path), "test.csv",
                      "no text column 'text' (nor 'body', the text column of the model's "
                      "task)", "--text-column")
