"""Annotating as a new user does: label, go back to fix it, label it again, reload.

Before: with "hide labeled" on (the default) a saved example left the queue, and
"back [B]" stepped back in what was left -- from the first example to the queue's last
one -- so a wrong label could not be corrected from the annotate page.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from labeling.gold import AnnotationStore
from labeling.review import slices
from labeling.review.project import load_run

ENTRY = str(Path(__file__).resolve().parents[1] / "app" / "streamlit_app.py")


@pytest.fixture
def project(tiny_app_project) -> Path:
    return tiny_app_project


def _annotate_page(project: Path) -> tuple[AppTest, list[str]]:
    run = load_run(project)
    name = next(n for n in slices.SLICES if len(slices.slice_ids(run, "train", n)) >= 3)
    at = AppTest.from_file(ENTRY, default_timeout=60)
    at.run()
    at.switch_page("views/annotate.py").run()
    at.selectbox(key="ann_split").select("train").run()
    at.selectbox(key="ann_slice").select(name).run()
    assert not at.exception and not at.error, (at.exception, [e.value for e in at.error])
    return at, slices.slice_ids(run, "train", name)


def _shown(at: AppTest) -> str:
    return at.text_area[0].key.removeprefix("ann_text_")


def test_back_after_a_save_returns_to_it_and_a_second_label_replaces_the_first(project,
                                                                               tmp_path):
    at, ids = _annotate_page(project)
    first = _shown(at)
    at.button(key="ann_btn-1").click().run()  # spam
    second = _shown(at)
    assert second != first
    at.button(key="ann_back").click().run()
    assert _shown(at) == first  # was: the queue's last example
    assert any("Your label: **spam**" in c.value for c in at.caption)
    at.button(key="ann_btn-0").click().run()  # corrected to ham
    assert not at.exception and not at.error
    assert _shown(at) == second  # back where the queue was
    store = AnnotationStore(tmp_path / "annotations.sqlite")
    table = store.table("tiny")
    assert len(table) == 1 and table["label_name"].iloc[0] == "ham"  # one row, updated
    assert table["example_id"].iloc[0] == first

    reopened, _ = _annotate_page(project)  # a reload: a new session, the same database
    assert _shown(reopened) == second  # the labeled one stays out of the queue
    assert {m.label: m.value for m in reopened.metric}["total"] == "1"


def test_back_after_a_skip_and_after_two_saves_goes_back_one_at_a_time(project):
    at, ids = _annotate_page(project)
    first = _shown(at)
    at.button(key="ann_btn-1").click().run()
    second = _shown(at)
    at.button(key="ann_skip").click().run()
    third = _shown(at)
    assert len({first, second, third}) == 3
    at.button(key="ann_back").click().run()
    assert _shown(at) == second
    at.button(key="ann_back").click().run()
    assert _shown(at) == first
    at.button(key="ann_skip").click().run()  # leaves it as it is, back to the queue
    assert _shown(at) == second
    assert not at.exception and not at.error


def test_running_the_pipeline_from_the_app_without_a_test_split(make_task, tmp_path,
                                                                monkeypatch):
    """Before: 'Run finished: test accuracy of the end model nan.'"""
    config = make_task(test=False, config={
        "label_model": {"name": "mv", "params": make_task.DELETE},
        "data": {"test": make_task.DELETE}})
    monkeypatch.setenv("LABELING_PROJECT", str(config))
    monkeypatch.delenv("LABELING_RUN_DIR", raising=False)
    monkeypatch.setenv("LABELING_ANNOTATIONS", str(tmp_path / "annotations.sqlite"))
    at = AppTest.from_file(ENTRY, default_timeout=120)
    at.run()
    at.button(key="run_pipeline").click().run(timeout=600)  # a bound on the run
    assert not at.exception and not at.error, [e.value for e in at.error]
    finished = [s.value for s in at.success if "Run finished" in s.value]
    assert len(finished) == 1 and "nan" not in finished[0] and "no test split" in finished[0]


def test_a_label_can_be_removed_again(project, tmp_path):
    """Before: a label could be changed but never removed (no undo of a mistaken save)."""
    at, ids = _annotate_page(project)
    first = _shown(at)
    at.button(key="ann_btn-1").click().run()
    at.button(key="ann_back").click().run()
    assert _shown(at) == first
    at.button(key="ann_btn-clear").click().run()
    assert not at.exception and not at.error
    assert AnnotationStore(tmp_path / "annotations.sqlite").table("tiny").empty
    assert _shown(at) == first  # unlabeled again: back at the head of the queue
    assert not [b for b in at.button if b.key == "ann_btn-clear"]  # nothing to clear now
