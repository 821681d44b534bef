"""Labels whose names are integers (star ratings "1".."5", "-1"/"1"): gold values are
names, never class indices, and the LF table shows the names as written."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from labeling.cli import app
from labeling.data import label_indices
from labeling.errors import DataError

PATH = Path("dev.csv")


def indices(values, labels):
    return label_indices(pd.Series(values, dtype=object), labels, PATH).tolist()


def test_integer_label_names_are_read_as_names_not_indices():
    # before: "1" and "2" were read as class indices 1 and 2, i.e. labels "2" and "3"
    assert indices(["1", "2", "3", " 2 "], ["1", "2", "3"]) == [0, 1, 2, 1]
    assert indices(["-1", "1"], ["-1", "1"]) == [0, 1]


def test_integer_names_from_numeric_columns_are_names():
    # Parquet/JSONL integer labels, and floats when the column has a gap
    assert indices([1, 3, 2.0], ["1", "2", "3"]) == [0, 2, 1]


def test_with_integer_names_an_index_is_not_a_label():
    with pytest.raises(DataError, match=r"dev.csv: row 2, column 'label': unknown label '0'"):
        indices(["1", "0"], ["1", "2", "3"])


def test_other_labels_still_accept_names_and_indices():
    assert indices(["spam", "0", "1", 1, 0.0, "ham"], ["ham", "spam"]) == [1, 0, 1, 1, 0, 0]


def test_star_rating_task_scores_lfs_against_the_right_gold(make_task):
    frames = make_task.frames()
    stars = {"ham": "1", "spam": "2"}
    dev, test = (frames[s].assign(label=frames[s]["label"].map(stars)) for s in ("dev", "test"))
    named = make_task()
    rated = make_task(dev=dev, test=test, config={"labels": ["1", "2"], "positive_label": "2"})
    runner = CliRunner()
    for config in (named, rated):
        result = runner.invoke(app, ["apply", str(config), "--no-progress"])
        assert result.exit_code == 0, result.output
    expected = pd.read_csv(named.parent / "run" / "lf_summary.csv", index_col="lf")
    got = pd.read_csv(rated.parent / "run" / "lf_summary.csv", index_col="lf")
    assert got["dev_accuracy"].tolist() == expected["dev_accuracy"].tolist()


def test_lf_table_shows_integer_label_names_as_written(make_task):
    frames = make_task.frames()
    stars = {"ham": "1", "spam": "2"}
    dev, test = (frames[s].assign(label=frames[s]["label"].map(stars)) for s in ("dev", "test"))
    config = make_task(dev=dev, test=test, config={"labels": ["1", "2"], "positive_label": "2"})
    result = CliRunner().invoke(app, ["apply", str(config), "--no-progress"])
    assert result.exit_code == 0, result.output
    row = next(line for line in result.output.splitlines() if "kw_spam" in line)
    cells = [cell.strip() for cell in row.split("│")[1:-1]]
    assert cells[1] == "2", row  # before: "2.000"; the faults cell too: "0.000"
    assert "0.000" not in cells[-2:], row

    from labeling.session import Session

    summary = Session(config).lf_summary()
    assert summary.loc["kw_spam", "polarity"] == "2"  # before: the float 2.0


@pytest.mark.parametrize("labels, multi, message", [
    (["politics", "tech;x"], True, "label 'tech;x' holds ';'"),
    (["politics", "sports "], False, "label 'sports ': empty or with spaces around it"),
    (["politics", ""], False, "label '': empty"),
])
def test_a_label_no_gold_row_could_name_is_a_config_error(make_task, labels, multi, message):
    # before: the config loaded, and dev.csv's first row naming the label was "unknown"
    config = make_task(config={"labels": labels, "multi_label": multi,
                               "positive_label": make_task.DELETE})
    result = CliRunner().invoke(app, ["apply", str(config), "--no-progress"])
    assert result.exit_code == 2, result.output
    assert result.output.startswith(f"error: {config}: ") and message in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output


def test_a_semicolon_is_fine_in_a_single_label_task():
    from labeling.config import TaskConfig

    TaskConfig(name="t", labels=["a;b", "c"], lfs=["x.py"], data={"train": "t.csv"})


def test_for_label_in_a_single_label_task_is_an_error_naming_the_lf(make_task):
    source = ("from labeling import keyword_lf\nfrom labeling.lf.core import APPLIES, for_label\n"
              "\nkw = keyword_lf(['song'], label=0, name='kw')\n"
              "spam = for_label('ham', keyword_lf(['channel'], label=APPLIES, name='spam_ml'))\n")
    result = CliRunner().invoke(app, ["apply", str(make_task(lf_source=source)), "--no-progress"])
    # before: applied, its APPLIES (1) read as class 1, 'spam', though it targets 'ham'
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: LF 'spam_ml': for_label('ham', ...) is for "
                                    "multi-label tasks"), result.output
