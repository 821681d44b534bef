"""The Annotate pages' CSV download, opened, edited and saved in Excel, and imported back:
the download starts with a BOM and runs no text as a formula; the import reads what Excel
saves (cp1252 "CSV (Comma delimited)", ';' in a European locale, empty trailing rows)."""

from __future__ import annotations

import csv
import io

import pytest

from labeling.errors import DataError
from labeling.gold import AnnotationStore
from labeling.review.import_labels import export, import_labels
from labeling.review.project import load_run

FORMULA = '=HYPERLINK("http://x","click") café'


@pytest.fixture
def run(tiny_app_project):
    return load_run(tiny_app_project)


def _store_with_labels(run, tmp_path) -> AnnotationStore:
    store = AnnotationStore(tmp_path / "a.sqlite")
    dev = run.frames["dev"]
    dev.loc[0, "text"] = FORMULA  # a scraped comment
    store.set("tiny", dev["id"][0], 1, split="dev", label_name="spam", annotator="ann")
    store.set("tiny", dev["id"][1], 0, split="dev", label_name="ham", annotator="ann")
    return store


def test_the_csv_download_is_for_excel(run, tmp_path):
    data = export(_store_with_labels(run, tmp_path), run, "csv")
    # before: no BOM (Excel showed "cafÃ©") and the formula ran when the file was opened
    assert data.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert "'" + FORMULA in [r["text"] for r in rows]


@pytest.mark.parametrize("sep, encoding", [(";", "cp1252"), (",", "cp1252"), (";", "utf-8")])
def test_the_download_saved_by_excel_imports_back(run, tmp_path, sep, encoding):
    data = export(_store_with_labels(run, tmp_path), run, "csv").decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(data, newline="")))
    label = rows[0].index("label_name")
    rows[1][label] = "ham" if rows[1][label] == "spam" else "spam"  # a label corrected
    saved = io.StringIO()
    csv.writer(saved, delimiter=sep, lineterminator="\r\n").writerows(
        rows + [[""] * len(rows[0])] * 2)  # rows Excel once formatted
    content = saved.getvalue().encode(encoding)
    target = AnnotationStore(tmp_path / "b.sqlite")
    # before: "cannot be read as csv ('utf-8' codec can't decode...)", "no column
    # example_id, split, label_name" (';'), or "row 4, column split: '' is not a split"
    assert import_labels(target, run, "labels.csv", content) == 2
    stored = dict(target.table("tiny")[["example_id", "label_name"]].values.tolist())
    assert stored[rows[1][rows[0].index("example_id")]] == rows[1][label]


def test_an_id_excel_stripped_of_its_zeros_says_so(run, tmp_path):
    run.frames["dev"].loc[0, "id"] = "00042"
    content = b"example_id,split,label_name\r\n42,dev,spam\r\n"
    with pytest.raises(DataError) as info:
        import_labels(AnnotationStore(tmp_path / "c.sqlite"), run, "labels.csv", content)
    # before: "dev has no example '42'" only
    assert str(info.value).startswith("labels.csv row 2, column example_id: dev has no "
                                      "example '42' ('00042' without its leading zeros")
