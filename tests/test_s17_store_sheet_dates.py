"""The times of a file of hand labels, as a spreadsheet saved them back.

Before: every date was read month first (pandas' default): 03/02/2026 from a European
spreadsheet was 2 March, not 3 February, so a row a month older than a teammate's label
was taken for a newer one and replaced it; 13/02/2026 (no month 13) was read day first,
so one file mixed both orders without a word; a time that was not one was taken for no
time (a file made by hand: replaces every label). Now (labeling.data.spreadsheet.
sheet_times): ISO 8601 and year-first dates as written; dots day first; a d/m or m/d
column in the order its dates show (a day over 12), and an error naming the file, row
and column when it shows none, or both, or a cell is no date and time.
"""

from __future__ import annotations

import sys
from calendar import timegm
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_h112_import_team import _relabel  # noqa: E402 (a label given at a time)

from labeling.data.spreadsheet import sheet_times  # noqa: E402
from labeling.errors import DataError  # noqa: E402
from labeling.gold import AnnotationStore  # noqa: E402
from labeling.review.import_labels import import_labels  # noqa: E402
from labeling.review.project import load_run  # noqa: E402


@pytest.fixture
def run(tiny_app_project):
    return load_run(tiny_app_project)


def _utc(*when) -> float:
    return float(timegm((*when, 0, 0, 0)))


def _import(run, store, ids, times):
    body = "example_id,split,label_name,annotator,updated_at\n" + "".join(
        f"{i},train,spam,bob,{t}\n" for i, t in zip(ids, times))
    return import_labels(store, run, "sheet.csv", body.encode("utf-8"), annotator="dana")


def test_a_day_first_date_is_not_read_month_first(run, tmp_path):
    """03/02/2026 in a column with 13/02/2026 is 3 February: older than carol's label of
    10 February, which stays (read as 2 March it replaced it)."""
    store = AnnotationStore(tmp_path / "team.sqlite")
    ids = list(run.frames["train"]["id"][:2])
    _relabel(store, run, ids[1], "ham", "carol", _utc(2026, 2, 10, 9, 0))
    n = _import(run, store, ids, ["13/02/2026 08:00", "03/02/2026 08:00"])
    assert store.record("tiny", "train", ids[1])["label_name"] == "ham"
    assert n == 1 and len(n.kept) == 1 and ids[1] in n.kept[0]


@pytest.mark.parametrize("times, said", [
    (["03/02/2026 08:00"], "row 2, column updated_at: '03/02/2026 08:00' could be day/month"),
    (["13/02/2026 08:00", "02/13/2026 08:00"],
     "row 3, column updated_at: '02/13/2026 08:00' and row 2's '13/02/2026 08:00' write"),
    (["3/2/26 8:00"], "row 2, column updated_at: '3/2/26 8:00' has no four-digit year"),
    (["yesterday-ish"], "row 2, column updated_at: 'yesterday-ish' is not a date and time"),
])
def test_a_time_that_cannot_be_read_for_sure_is_one_line(run, tmp_path, times, said):
    store = AnnotationStore(tmp_path / "team.sqlite")
    ids = list(run.frames["train"]["id"][:len(times)])
    _relabel(store, run, ids[0], "ham", "carol", _utc(2026, 2, 10, 9, 0))
    with pytest.raises(DataError) as error:
        _import(run, store, ids, times)
    message = str(error.value)
    assert message.startswith("sheet.csv ") and said in message and "\n" not in message
    assert "2026-12-07 08:01 (ISO 8601)" in message and "delete the column" in message
    assert store.record("tiny", "train", ids[0])["label_name"] == "ham"  # nothing written


def _read(*values):
    return [(t, unit) for t, unit in sheet_times(values, "f.csv", 2, "updated_at")]


def test_the_formats_read():
    dec7 = int(_utc(2026, 12, 7, 8, 0) * 1000)
    assert _read("2026-12-07T08:00:09.250+00:00", "2026-12-07 08:00", "2026/12/07 08:00:09",
                 "07.12.2026 08:00", "2026-12-07") == [
        (dec7 + 9250, 1), (dec7, 60_000), (dec7 + 9000, 1000), (dec7, 60_000),
        (dec7 - 8 * 3_600_000, 86_400_000)]
    # Excel (en-US): month first, as a date with a day over 12 in the column shows
    assert _read("12/7/2026 8:00:45 AM", "12/13/2026 8:00 PM")[0] == (dec7 + 45_000, 1000)
    assert _read("7/12/2026 08:00", "13/12/2026 08:00")[0] == (dec7, 60_000)  # day first
    # a zone is kept; none is UTC, as the download writes the times
    assert _read("2026-12-07T09:00+01:00", "2026-12-07T08:00") == [(dec7, 60_000)] * 2
    assert sheet_times(["", None], "f.csv", 2, "updated_at") == [None, None]
