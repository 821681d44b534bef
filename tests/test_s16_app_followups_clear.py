"""A clear made in the app records who made it (h126): the app called the store's
``remove()`` without ``annotator=`` (single-label Annotate page, multi-label example
page), so its ``cleared`` table said no one, while a save records the app's annotator."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

from streamlit.testing.v1 import AppTest

from labeling.config import load_config

sys.path.insert(0, str(Path(__file__).parent))
from test_app_multilabel import _app, _tick, ml_project, page  # noqa: E402,F401
from test_appuser_annotate import _annotate_page, _shown  # noqa: E402


def _cleared(path: Path) -> list[tuple]:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT example_id, annotator FROM cleared").fetchall()


def _named(at: AppTest, name: str) -> None:
    at.text_input(key="annotator").input(name).run()
    assert not at.exception, at.exception


def test_a_clear_on_the_annotate_page_records_the_annotator(tiny_app_project, tmp_path):
    at, _ = _annotate_page(tiny_app_project)
    _named(at, "alice")
    first = _shown(at)
    at.button(key="ann_btn-1").click().run()
    at.button(key="ann_back").click().run()
    at.button(key="ann_btn-clear").click().run()
    assert not at.exception and not at.error
    assert _cleared(tmp_path / "annotations.sqlite") == [(first, "alice")]


def test_a_clear_of_a_label_set_records_the_annotator(ml_project, tmp_path, monkeypatch):
    store = tmp_path / "annotations.sqlite"
    at = _app(ml_project, monkeypatch, store)
    _named(at, "bob")
    page(at, "ml_example")
    split, example_id = at.selectbox(key="ml_detail_select").value
    base = f"ml_detail_ann-{split}-{example_id}"
    _tick(at, {"joy"})
    at.button(key=f"{base}-save").click().run()
    at.button(key=f"{base}-clear").click().run()
    assert not at.exception and not at.error
    name = load_config(ml_project).name
    with sqlite3.connect(store) as db:
        assert db.execute("SELECT COUNT(*) FROM annotations WHERE task = ?",
                          (name,)).fetchone() == (0,)
    assert _cleared(store) == [(str(example_id), "bob")]
