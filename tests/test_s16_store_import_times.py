"""Whether an imported row is older than the stored label, to the precision the file has.

Before: a download's time whose seconds happened to be 00 was taken for a spreadsheet's
minutes-only time, so the stored label's time was cut to the minute too: a teammate's
label given 45 s after the download compared equal to it, and the import replaced it
(under the download's annotator, who never gave it). And the download wrote whole
seconds while the store keeps fractions: a label changed in the same second as the
download was taken for the downloaded one. Now the file's own text says its precision
(minutes, seconds, or the milliseconds the download now writes).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_h112_import_team import _edit, _relabel  # noqa: E402

from labeling.gold import AnnotationStore  # noqa: E402
from labeling.review.import_labels import export, import_labels  # noqa: E402
from labeling.review.project import load_run  # noqa: E402

T0 = 1796630400.0  # 2026-12-07 08:00:00 UTC, a whole minute


@pytest.fixture
def run(tiny_app_project):
    return load_run(tiny_app_project)


@pytest.mark.parametrize("downloaded, relabeled", [
    (T0, T0 + 45),  # a download stamped on a whole minute, relabeled in the same minute
    (T0 + 9.25, T0 + 9.75),  # relabeled in the same second
])
def test_a_label_given_after_the_download_is_kept(run, tmp_path, downloaded, relabeled):
    store = AnnotationStore(tmp_path / "team.sqlite")
    example_id = run.frames["train"]["id"][0]
    _relabel(store, run, example_id, "ham", "bob", downloaded)
    download = _edit(export(store, run), example_id, "spam")  # dana edits her copy
    _relabel(store, run, example_id, "ham", "carol", relabeled)  # carol confirms meanwhile

    n = import_labels(store, run, "dana.csv", download, annotator="dana")

    record = store.record("tiny", "train", example_id)
    assert (record["label_name"], record["annotator"]) == ("ham", "carol")  # before: spam by bob
    assert n == 0 and len(n.kept) == 1


@pytest.mark.parametrize("stamp", [T0, T0 + 9.25])
def test_a_row_edited_in_the_download_is_imported_under_the_importers_name(run, tmp_path,
                                                                           stamp):
    store = AnnotationStore(tmp_path / "team.sqlite")
    example_id = run.frames["train"]["id"][0]
    _relabel(store, run, example_id, "ham", "bob", stamp)
    download = _edit(export(store, run), example_id, "spam")
    n = import_labels(store, run, "dana.csv", download, annotator="dana")
    record = store.record("tiny", "train", example_id)
    assert n == 1 and (record["label_name"], record["annotator"]) == ("spam", "dana")


@pytest.mark.parametrize("written, kept", [
    ("2026-12-07 08:00", False),  # minutes only (a spreadsheet): the same minute, not newer
    ("2026-12-07 08:00:09", True),  # seconds: the label at 08:00:45 is newer
    ("07.12.2026 08:00:45", False),  # the same second, as a German Excel writes it
    # (Excel's 12/7/2026 8:00:45 AM alone is refused: 7 December or 12 July,
    # tests/test_s17_store_sheet_dates.py)
])
def test_a_spreadsheets_time_is_compared_to_its_own_precision(run, tmp_path, written, kept):
    store = AnnotationStore(tmp_path / "team.sqlite")
    example_id = run.frames["train"]["id"][0]
    _relabel(store, run, example_id, "ham", "bob", T0 + 45.5)
    body = (f"example_id,split,label_name,annotator,updated_at\n"
            f"{example_id},train,spam,bob,{written}\n")
    n = import_labels(store, run, "sheet.csv", body.encode(), annotator="dana")
    assert store.record("tiny", "train", example_id)["label_name"] == ("ham" if kept
                                                                       else "spam")
    assert n == (0 if kept else 1) and len(n.kept) == kept
