"""`labeling predict` on a 0-byte CSV/JSONL is answered as a header-only CSV or an empty
.txt is (exit 0, a note naming the file; it exited 2, "empty file"); jsonl rounds a
text's `probability` as its `probabilities` (to 6 places; it printed 17 digits, unequal
to its own entry in `probabilities`); the model card's "Against the dev gold alone"
line is the one run and report print, with the nested dev CV score its verdict states
(it printed the CV score of a weak weight picked on the very folds, beside a verdict
reading another number)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent))
from test_h145_model_folder_checks import TEXTS, exported  # noqa: E402,F401 (a fixture)

from labeling.cli import app  # noqa: E402
from labeling.export.card import _baseline_lines  # noqa: E402
from labeling.predict import format_batch  # noqa: E402
from labeling.train.gold_budget import dev_cv_text  # noqa: E402


@pytest.mark.parametrize("name", ["empty.csv", "empty.jsonl", "empty.tsv", "header.csv",
                                  "empty.txt"])
def test_a_file_with_no_rows_is_a_note_naming_it_whatever_its_format(exported, tmp_path,
                                                                       name):
    (tmp_path / name).write_text("id,text\n" if name == "header.csv" else "")
    result = CliRunner().invoke(app, ["predict", "-m", str(exported), "-i",
                                      str(tmp_path / name)])
    assert result.exit_code == 0 and result.stdout == "", result.output
    assert result.stderr == f"{tmp_path / name}: no texts to classify (no row, or only blank " \
                            "lines)\n"


def test_jsonl_rounds_probability_as_probabilities():
    proba = np.array([[1 / 3, 2 / 3], [0.123456789, 0.876543211]])
    rows = [json.loads(line) for line in
            format_batch(["a", "b"], proba, ["ham", "spam"], "jsonl").splitlines()]
    for row, p in zip(rows, proba):
        assert row["probability"] == row["probabilities"][row["label"]] == round(p.max(), 6)


def test_jsonl_probability_from_the_cli_equals_its_rounded_entry(exported):
    result = CliRunner().invoke(app, ["predict", "-m", str(exported), "--format", "jsonl",
                                      *TEXTS[:6]])
    assert result.exit_code == 0, result.output
    for row in map(json.loads, result.stdout.splitlines()):
        assert row["probability"] == row["probabilities"][row["label"]]


def test_the_cards_dev_cv_line_is_the_clis_with_the_nested_score():
    card = {"cv": {"metric": "f1", "end_model": 0.9473, "gold_only": 0.9421,
                   "end_model_nested": 0.9426},
            "gold_only": {"n_dev": 264, "text": "the pipeline beats the gold-only baseline "
                                                "by +0.001 (0.943 vs 0.942)"}}
    line = _baseline_lines(card)[2]
    assert line == dev_cv_text("f1", 0.9473, 0.9421, 264, 0.9426) + "."
    assert "0.947" in line and "0.943" in line  # both end-model scores, each said what
    # a card without the nested score (an older export, a gold-only choice): one score
    del card["cv"]["end_model_nested"]
    assert _baseline_lines(card)[2] == dev_cv_text("f1", 0.9473, 0.9421, 264) + "."
