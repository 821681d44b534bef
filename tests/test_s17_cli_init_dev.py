"""`labeling init DATA --dev FILE` reads the dev file (h135). Before, it wrote the
config without looking at it: `--labels ham,spam` on texts whose gold is in the dev
file's `category` column wrote `label_column = "label"`, and `labeling apply` then
stopped on the dev file; `--label-column category` (in the dev file only) stopped init
with "no column 'category'"; a dev label outside --labels passed. A file with no `id`
column but a `msg_id` one got row-number ids without a word."""

import sys
from pathlib import Path

import pandas as pd

from labeling.config import load_config
from labeling.pipeline import load_task

sys.path.insert(0, str(Path(__file__).parent))
from conftest import cli as _invoke  # noqa: E402
from conftest import one_error_line as _one_error_line  # noqa: E402


def _files(tmp_path, make_task, dev_labels=None):
    """Texts without gold (train.csv) and a dev file whose gold is in 'category'."""
    frames = make_task.frames()
    train = frames["train"].drop(columns=["label"]).rename(columns={"id": "msg_id",
                                                                   "text": "body"})
    dev = frames["dev"].rename(columns={"id": "msg_id", "text": "body", "label": "category"})
    if dev_labels is not None:
        dev["category"] = dev_labels
    train.to_csv(tmp_path / "train.csv", index=False)
    dev.to_csv(tmp_path / "dev.csv", index=False)
    return tmp_path / "train.csv", tmp_path / "dev.csv"


def test_labels_and_label_column_come_from_the_dev_file(tmp_path, make_task):
    train, dev = _files(tmp_path, make_task)
    result = _invoke("init", train, "--dev", dev, "--text-column", "body", "--label-column",
                     "category", "--id-column", "msg_id", "--dir", tmp_path / "t")
    assert result.exit_code == 0, result.output  # before: no column 'category' in train
    config = load_config(tmp_path / "t")
    assert config.labels == ["ham", "spam"] and config.data.label_column == "category"
    task = load_task(tmp_path / "t")  # the task's first step reads it as written
    assert len(task.splits["dev"]) == len(pd.read_csv(dev))


def test_dev_file_without_the_label_column_stops_init(tmp_path, make_task):
    train, dev = _files(tmp_path, make_task)
    result = _invoke("init", train, "--dev", dev, "--text-column", "body", "--labels",
                     "ham,spam", "--id-column", "msg_id", "--dir", tmp_path / "t")
    _one_error_line(result, f"{dev}: no column 'label'", "category", "--label-column")
    assert not (tmp_path / "t" / "labeling.toml").exists()  # before: written, then apply failed


def test_dev_file_label_outside_labels_stops_init(tmp_path, make_task):
    train, dev = _files(tmp_path, make_task)
    result = _invoke("init", train, "--dev", dev, "--text-column", "body", "--label-column",
                     "category", "--labels", "ham,spamm", "--id-column", "msg_id",
                     "--dir", tmp_path / "t")
    _one_error_line(result, f"{dev}: column 'category' has labels not in --labels: spam")


def test_dev_file_without_the_text_column_stops_init(tmp_path, make_task):
    train, dev = _files(tmp_path, make_task)
    pd.read_csv(dev).rename(columns={"body": "message"}).to_csv(dev, index=False)
    result = _invoke("init", train, "--dev", dev, "--text-column", "body", "--label-column",
                     "category", "--id-column", "msg_id", "--dir", tmp_path / "t")
    # it said "pass --text-column NAME", which would rename the data file's column too
    _one_error_line(result, f"{dev}: no column 'body'", "message",
                    "name its texts' column 'body' in dev.csv, as in the data file")
    assert "--text-column" not in result.output.split(": no column")[1]


def test_an_id_like_column_is_named_when_ids_are_row_numbers(tmp_path, make_task):
    train, dev = _files(tmp_path, make_task)
    result = _invoke("init", train, "--dev", dev, "--text-column", "body", "--label-column",
                     "category", "--dir", tmp_path / "t")
    assert result.exit_code == 0, result.output
    assert "pass --id-column msg_id to use its 'msg_id'" in result.output
    text = (tmp_path / "t" / "labeling.toml").read_text()
    assert "none in the file" not in text and "id_column = \"\"" in text


def test_dev_file_without_the_data_files_id_column_says_to_add_it(tmp_path, make_task):
    # f138: it said "pass --id-column NAME", which renames the data file's id column too
    frames = make_task.frames()
    frames["train"].to_csv(tmp_path / "train.csv", index=False)
    dev = tmp_path / "dev.csv"
    frames["dev"].drop(columns=["id"]).to_csv(dev, index=False)
    result = _invoke("init", tmp_path / "train.csv", "--dev", dev, "--dir", tmp_path / "t")
    _one_error_line(result, f"{dev}: no column 'id'",
                    "add a column 'id' to dev.csv (its examples' ids)")
    assert "--id-column" not in result.output
    assert not (tmp_path / "t" / "labeling.toml").exists()
