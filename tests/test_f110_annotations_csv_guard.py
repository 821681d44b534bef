"""The Annotate pages' CSV download guards every free-text cell against spreadsheet
formulas (OWASP CSV injection), and the import takes the guard off again.

Before: only the ``text`` column was guarded; an annotator's name typed by any team member
(``=HYPERLINK(...)``) or an id from the data (``@user``) reached Excel as a formula, and a
leading tab or carriage return was not treated as OWASP says.
"""

from __future__ import annotations

import csv
import io

import pytest

from labeling.data.spreadsheet import formula_safe, formula_unsafe
from labeling.gold import AnnotationStore
from labeling.review.import_labels import export, import_labels
from labeling.review.project import load_run

NAME = '=HYPERLINK("http://x","click")'
IDS = ["-5", "@user", "=1+1", "+x", "'quoted", "'=x"]


@pytest.fixture
def run(tiny_app_project):
    return load_run(tiny_app_project)


@pytest.mark.parametrize("value", ["\t=1+2", "\r=1+2", "\n@x"])
def test_a_leading_tab_or_carriage_return_is_guarded(value):
    assert formula_safe(value) == "'" + value


@pytest.mark.parametrize("value", ["-5", "+44", "@user", "'x", "''x", "plain", "", NAME])
def test_the_reversible_guard_gives_every_value_back(value):
    assert formula_unsafe(formula_safe(value, reversible=True)) == value


def _labeled(run, tmp_path):
    store = AnnotationStore(tmp_path / "a.sqlite")
    dev = run.frames["dev"]
    for k, example_id in enumerate(IDS):
        dev.loc[k, "id"] = example_id
        store.set("tiny", example_id, k % 2, split="dev", label_name=run.labels[k % 2],
                  annotator=NAME if k % 2 else "@bob")
    return store


def test_no_cell_of_the_download_starts_a_formula_and_it_imports_back_exactly(run, tmp_path):
    store = _labeled(run, tmp_path)
    data = export(store, run, "csv")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    for row in rows:
        for column in ("example_id", "annotator", "label_name", "text"):
            value = row[column]
            # before: '=HYPERLINK(...)' and '@user' as written
            assert not value.startswith(("=", "+", "@", "\t", "\r")), (column, value)
            assert not value.startswith("-") or value == "-5"  # a number stays a number
    # as Excel saves the file back: cp1252, ';'
    saved = io.StringIO()
    writer = csv.writer(saved, delimiter=";", lineterminator="\r\n")
    writer.writerow(list(rows[0]))
    writer.writerows(r.values() for r in rows)
    target = AnnotationStore(tmp_path / "b.sqlite")
    assert import_labels(target, run, "labels.csv", saved.getvalue().encode("cp1252")) == 6
    columns = ["example_id", "split", "label_name", "annotator"]
    assert sorted(target.table("tiny")[columns].values.tolist()) == sorted(
        store.table("tiny")[columns].values.tolist())


def test_jsonl_has_no_guard_to_take_off(run, tmp_path):
    store = _labeled(run, tmp_path)
    target = AnnotationStore(tmp_path / "b.sqlite")
    assert import_labels(target, run, "a.jsonl", export(store, run, "jsonl")) == 6
    assert set(target.table("tiny")["example_id"]) == set(IDS)
