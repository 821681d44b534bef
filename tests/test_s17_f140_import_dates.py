"""The updated_at times of an imported file of hand labels (f140).

Before: a year past 2262 (``9999-12-31 00:00``, a common "never") escaped as a traceback
(OverflowError from pandas' nanoseconds); now it is read as written. A column of
d/m or m/d dates none of which has a day over 12 -- Excel (US) re-saving the download,
``12/7/2026 8:01`` -- could only be refused (the user's one way out, deleting the column,
dropped the protection of newer labels); now the user says the order (``date_order``, the
Import box's "Dates like 03/04/2026 are"), a column that shows its order still decides,
and a choice the column contradicts is a one-line error. ``replaced_note`` said
"1 labels".
"""

from __future__ import annotations

import sys
from calendar import timegm
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_appuser_annotate import _annotate_page  # noqa: E402
from test_h112_import_team import _relabel  # noqa: E402 (a label given at a time)

from labeling.data.spreadsheet import sheet_times  # noqa: E402
from labeling.errors import DataError  # noqa: E402
from labeling.gold import AnnotationStore  # noqa: E402
from labeling.review.import_labels import (Imported, check_labels, import_labels,  # noqa: E402
                                           read_label_file, replaced_note)
from labeling.review.project import load_run  # noqa: E402


@pytest.fixture
def run(tiny_app_project):
    return load_run(tiny_app_project)


def _utc(*when) -> float:
    return float(timegm((*when, 0, 0, 0)))


def _body(ids, times) -> bytes:
    return ("example_id,split,label_name,annotator,updated_at\n" + "".join(
        f"{i},train,spam,bob,{t}\n" for i, t in zip(ids, times))).encode("utf-8")


def test_a_never_date_is_read_not_a_traceback():
    """The reviewer's repro: 9999-12-31 00:00 is a date; read as written (ms since 1970)."""
    body = b"example_id,split,label_name,annotator,updated_at\nx1,train,spam,bob,9999-12-31 00:00\n"
    rows = check_labels("team.csv", *read_label_file("team.csv", body),
                        {"train": {"x1": "hello"}}, ["ham", "spam"], False)
    assert rows[0]["updated_at"] == (int(_utc(9999, 12, 31, 0, 0)) * 1000, 60_000)
    assert sheet_times(["0001-01-01 00:00:01.5"], "f.csv", 2, "updated_at") == [
        ((int(_utc(1, 1, 1, 0, 0)) + 1) * 1000 + 500, 1)]


def test_a_never_dated_row_replaces_the_stored_label(run, tmp_path):
    store = AnnotationStore(tmp_path / "team.sqlite")
    example = run.frames["train"]["id"].iloc[0]
    _relabel(store, run, example, "ham", "carol", _utc(2026, 2, 10, 9, 0))
    n = import_labels(store, run, "team.csv", _body([example], ["9999-12-31 00:00"]),
                      annotator="dana")
    assert n == 1 and store.record("tiny", "train", example)["label_name"] == "spam"


US_EXCEL = ["12/7/2026 8:01", "2/10/2026 8:00"]  # month first, no day over 12


def test_a_us_excel_column_reads_month_first_when_the_user_says_so(run, tmp_path):
    """2/10/2026 month first is 10 February 08:00, older than carol's label of 10 February
    09:00: kept; read day first (2 October) it is newer and replaces it."""
    ids = list(run.frames["train"]["id"][:2])
    stores = []
    for order in ("month_first", "day_first"):
        store = AnnotationStore(tmp_path / f"{order}.sqlite")
        _relabel(store, run, ids[1], "ham", "carol", _utc(2026, 2, 10, 9, 0))
        n = import_labels(store, run, "sheet.csv", _body(ids, US_EXCEL), annotator="dana",
                          date_order=order)
        stores.append((n, store.record("tiny", "train", ids[1])["label_name"]))
    (month_first, kept), (day_first, replaced) = stores
    assert month_first == 1 and len(month_first.kept) == 1 and kept == "ham"
    assert day_first == 2 and replaced == "spam"


def test_unsettled_without_a_choice_the_error_names_the_choice(run, tmp_path):
    store = AnnotationStore(tmp_path / "team.sqlite")
    ids = list(run.frames["train"]["id"][:2])
    with pytest.raises(DataError) as error:
        import_labels(store, run, "sheet.csv", _body(ids, US_EXCEL))
    message = str(error.value)
    assert message.startswith("sheet.csv row 2, column updated_at: '12/7/2026 8:01' could be")
    assert '"Dates like 03/04/2026 are"' in message and 'date_order="day_first"' in message
    assert "\n" not in message and store.table("tiny").empty


def test_the_column_decides_and_a_contradicting_choice_is_an_error():
    day_first = ["7/12/2026 08:00", "13/12/2026 08:00"]
    dec7 = int(_utc(2026, 12, 7, 8, 0)) * 1000
    for order in (None, "day_first"):
        assert sheet_times(day_first, "f.csv", 2, "updated_at", order)[0] == (dec7, 60_000)
    with pytest.raises(DataError) as error:
        sheet_times(day_first, "f.csv", 2, "updated_at", "month_first")
    message = str(error.value)
    assert message.startswith("f.csv row 3, column updated_at: '13/12/2026 08:00' writes the "
                              "day first (a day over 12), but the dates were said to be "
                              'month first ("Dates like 03/04/2026 are"')
    assert "date_order='month_first'" in message and "\n" not in message
    # dots and ISO dates are not d/m vs m/d: the choice does not touch them
    assert sheet_times(["07.12.2026 08:00", "2026-12-07 08:00"], "f.csv", 2, "updated_at",
                       "month_first") == [(dec7, 60_000)] * 2
    with pytest.raises(ValueError, match="date_order"):
        sheet_times(day_first, "f.csv", 2, "updated_at", "dmy")


def test_the_replaced_note_counts_in_the_singular_and_the_plural():
    one, two = Imported(1), Imported(2)
    one.replaced, two.replaced = ("train 7 (ham by bob at x)",), ("a", "b")
    assert replaced_note(one, "carol.csv").startswith("1 label of carol.csv replaced ")
    assert replaced_note(two, "carol.csv").startswith("2 labels of carol.csv replaced ")


def test_the_import_box_reads_a_us_excel_file_month_first_when_told(tiny_app_project, tmp_path):
    store = AnnotationStore(tmp_path / "annotations.sqlite")
    at, _ = _annotate_page(tiny_app_project)
    ids = list(load_run(tiny_app_project).frames["train"]["id"][:2])
    at.file_uploader(key="import_labels").set_value(
        ("us.csv", _body(ids, US_EXCEL), "text/csv")).run()
    at.button(key="import_labels_go").click().run()
    errors = [e.value for e in at.error]
    assert any("Dates like 03/04/2026 are" in e.replace("\\", "") for e in errors), errors
    assert store.table("tiny").empty
    at.radio(key="import_date_order").set_value("month first").run()
    at.button(key="import_labels_go").click().run()
    assert not at.exception and not at.error, (at.exception, [e.value for e in at.error])
    assert any("2 labels imported from us.csv" in s.value.replace("\\", "")
               for s in at.success), [s.value for s in at.success]
    assert len(store.table("tiny")) == 2
