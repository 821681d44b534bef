"""`labeling predict --format csv`: predictions for a spreadsheet. An analyst's input comes
from Excel (a BOM, ';', CRLF, ids with leading zeros) and her output goes back to it: a
header, a BOM (else Excel reads UTF-8 as cp1252), every label's probability, and no text
that Excel would run as a formula (OWASP CSV injection: "=HYPERLINK(...)", "+cmd|...")."""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from labeling.export import export_model
from labeling.predict import format_batch, format_label_sets
from labeling.train.end_model import train_end_model

sys.path.insert(0, str(Path(__file__).parent))
from conftest import cli, one_error_line  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
TEXTS = ["=HYPERLINK(\"http://x\",\"click\") check out my channel", "+1 great song",
         "-2+3 nice", "@SUM(A1) subscribe", "Café, 50 € \"quoted\"\r\nline two", "plain"]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    """tfidf_logreg on the bundled dev rows (fast to fit; test is never used)."""
    dev = pd.read_csv(REPO_ROOT / "data" / "youtube" / "dev.csv")
    y = (dev["label"] == "spam").to_numpy(int)
    model = train_end_model(dev["text"].tolist(), np.eye(2)[y], np.ones(len(y), bool))
    return export_model(model, tmp_path_factory.mktemp("h103") / "model",
                        {"task": "youtube", "labels": ["ham", "spam"]})


def _excel_input(tmp_path: Path) -> Path:
    """As Excel saves "CSV UTF-8" in a ';' locale: BOM, ';', CRLF, an empty trailing row."""
    rows = [["id", "text"]] + [[f"{i:05d}", t] for i, t in enumerate(TEXTS)]
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=";", lineterminator="\r\n").writerows(rows + [["", ""]])
    path = tmp_path / "new.csv"
    path.write_bytes(b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8"))
    return path


def test_predict_csv_output_reads_back_in_a_spreadsheet(model_dir, tmp_path):
    result = cli("predict", "-m", model_dir, "-i", _excel_input(tmp_path), "--format", "csv")
    assert result.exit_code == 0, result.output
    out = result.stdout_bytes.decode("utf-8")  # .stdout makes "\r\n" "\n"
    # before: "--format must be tsv or jsonl"; the tsv had no header and no BOM
    assert out.startswith("\ufeffid,label,probability,p_ham,p_spam,text\r\n")
    rows = list(csv.DictReader(io.StringIO(out.removeprefix("\ufeff"), newline="")))
    assert [r["id"] for r in rows] == ["00000", "00001", "00002", "00003", "00004", "00005"]
    assert [r["text"] for r in rows] == [
        "'=HYPERLINK(\"http://x\",\"click\") check out my channel", "'+1 great song",
        "'-2+3 nice", "'@SUM(A1) subscribe", "Café, 50 € \"quoted\"  line two", "plain"]
    for row in rows:
        assert row["label"] in ("ham", "spam")
        p = {label: float(row[f"p_{label}"]) for label in ("ham", "spam")}
        assert float(row["probability"]) == p[row["label"]] == max(p.values())
        assert abs(sum(p.values()) - 1) < 2e-6 and len(row["p_spam"]) == 8  # 0.123456


def test_csv_cells_never_start_a_formula_but_numbers_stay_numbers():
    out = format_batch(["=1+2", "-5", "+44", "@x", " =ok"], np.full((5, 2), 0.5), ["-1", "1"],
                       "csv", ids=["-7", "=cmd|' /C calc'!A0", "0042", "+1", "a"])
    rows = list(csv.reader(io.StringIO(out, newline="")))
    assert [r[0] for r in rows] == ["-7", "'=cmd|' /C calc'!A0", "0042", "+1", "a"]
    assert [r[-1] for r in rows] == ["'=1+2", "-5", "+44", "'@x", " =ok"]
    assert {r[1] for r in rows} == {"-1"}  # a label named "-1" is a number


def test_multilabel_csv_rows_name_the_label_sets():
    out = format_label_sets(["=a", "b"], np.array([[0.9, 0.7], [0.1, 0.2]]), ["x", "y"],
                            np.array([0.5, 0.5]), "csv")
    assert list(csv.reader(io.StringIO(out, newline=""))) == [
        ["x;y", "0.900000", "0.700000", "'=a"], ["", "0.100000", "0.200000", "b"]]


def test_csv_with_texts_and_an_input_is_refused(model_dir, tmp_path):
    result = cli("predict", "-m", model_dir, "-i", _excel_input(tmp_path), "--format", "csv",
                 "hello")
    one_error_line(result, "--format csv: give texts or --input, not both")
