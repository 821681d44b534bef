"""A clinician annotating in the app (walkthrough h142, 2026-12-08): what the Annotate
page's table says of the labels given.

Before: the table's ``updated_at`` held the store's seconds since 1970, which Streamlit's
date column reads as milliseconds: every label, just given, showed as given on
1970-01-21.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from streamlit.testing.v1 import AppTest

ENTRY = str(Path(__file__).resolve().parents[1] / "app" / "streamlit_app.py")


def _annotate_page(project: Path) -> AppTest:
    at = AppTest.from_file(ENTRY, default_timeout=60)
    at.run()
    at.switch_page("views/annotate.py").run()
    at.selectbox(key="ann_split").select("dev").run()
    at.selectbox(key="ann_slice").select("all").run()
    assert not at.exception and not at.error, (at.exception, [e.value for e in at.error])
    return at


def _table(at: AppTest) -> pd.DataFrame:
    return next(d.value for d in at.dataframe if "next_run" in d.value.columns)


def test_the_annotation_table_shows_when_each_label_was_given(tiny_app_project):
    at = _annotate_page(tiny_app_project)
    before = pd.Timestamp.now(tz="UTC").floor("s")
    at.button(key="ann_btn-1").click().run()
    at.button(key="ann_btn-0").click().run()
    assert not at.exception and not at.error
    times = _table(at)["updated_at"]
    assert len(times) == 2
    assert pd.api.types.is_datetime64_any_dtype(times), times.dtype  # was float seconds
    assert str(times.dt.tz) == "UTC"
    after = pd.Timestamp.now(tz="UTC").ceil("s")
    assert ((times >= before) & (times <= after)).all(), times


def _overview(project: Path) -> AppTest:
    at = AppTest.from_file(ENTRY, default_timeout=60)
    at.run()
    assert not at.exception and not at.error, (at.exception, [e.value for e in at.error])
    return at


def _since(at: AppTest) -> list[str]:
    return [i.value for i in at.info if "Annotations since this run" in i.value]


def test_the_overview_says_its_scores_predate_the_annotations_until_the_next_run(
        tiny_app_project, tmp_path):
    """Before: after labeling dev rows, the Overview showed the run's dev scores with
    nothing saying they were computed without those labels (``labeling evaluate``
    refuses to reprint them); a re-run then changed them with no word why."""
    from labeling.review.runner import run_pipeline

    assert _since(_overview(tiny_app_project)) == []
    at = _annotate_page(tiny_app_project)
    at.button(key="ann_btn-1").click().run()
    at.button(key="ann_btn-0").click().run()
    notes = _since(_overview(tiny_app_project))
    assert len(notes) == 1 and "2 new; dev 2" in notes[0], notes

    run_pipeline(tiny_app_project, annotations=tmp_path / "annotations.sqlite")
    assert _since(_overview(tiny_app_project)) == []  # the run used them

    at = _annotate_page(tiny_app_project)  # "hide labeled": the next ones in the queue
    at.toggle(key="ann_hide").set_value(False).run()
    at.button(key="ann_btn-1").click().run()  # the first: the label it has, unchanged
    at.button(key="ann_btn-clear").click().run()  # the second: cleared
    notes = _since(_overview(tiny_app_project))
    assert len(notes) == 1 and "1 cleared; dev 1" in notes[0], notes
