"""Texts and ids are data on the multi-label pages too (#15): a run whose every text ends
with Markdown/HTML (a remote image, bold, an <img>, a link, a colour directive) and whose
every id ends with Markdown is shown as typed, never rendered, on each ml page, in the
drill-downs and in the toast after saving a label set (AppTest; the single-label pages'
twin is in test_app_pages.py, the payloads in hostile_texts.py).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from labeling import multilabel_steps, pipeline
from labeling.review.literal import literal
from labeling.review.ml_project import load_multilabel_run

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "tests"))
from hostile_texts import ACTIVE_MARKUP, ID_PAYLOAD, TEXT_PAYLOAD  # noqa: E402
from test_app_multilabel import _project  # noqa: E402
from test_app_pages import LITERAL_ELEMENTS  # noqa: E402

ENTRY = str(REPO_ROOT / "app" / "streamlit_app.py")
UNICODE = " \u202eevil\u202c zalgo\u0301\u0301 \U0001f600 <script>alert(1)</script>"


def _shown(proto) -> str:
    """The element's fields as text, without its widget id: the ml pages key a row's
    widgets by its id (so each example keeps its own checkboxes), and a key only
    becomes a CSS class name (``st-key-...``), never Markdown."""
    if "id" not in type(proto).DESCRIPTOR.fields_by_name:
        return str(proto)
    copy = type(proto)()
    copy.CopyFrom(proto)
    copy.ClearField("id")
    return str(copy)


def _markdown_sources(node):
    """(element type, Markdown source) of every element below ``node``, toasts included
    (test_app_pages.py's walk, minus widget ids)."""
    for child in getattr(node, "children", {}).values():
        proto = getattr(child, "proto", None)
        kind = getattr(child, "type", type(child).__name__)
        if proto is not None and kind in LITERAL_ELEMENTS:
            for name in ("label", "help"):
                if hasattr(proto, name):
                    yield kind, getattr(proto, name)
        elif proto is not None and not hasattr(child, "children"):
            yield kind, _shown(proto)
        elif hasattr(child, "children"):
            if proto is not None:
                yield kind, _shown(proto)
            yield from _markdown_sources(child)


def assert_no_active_markup(at: AppTest, where: str) -> None:
    found = [(kind, source[:300]) for kind, source in _markdown_sources(at._tree)
             if ACTIVE_MARKUP.search(source)]
    assert not found, f"{where}: data rendered as Markdown: {found}"


@pytest.fixture(scope="session")
def hostile_ml(tmp_path_factory) -> Path:
    """The multi-label app sample (GoEmotions Ekman + an LF that conflicts on joy), every
    text and id carrying the payloads, run (no export)."""
    config = _project(tmp_path_factory.mktemp("ml_hostile"))
    for csv in sorted((config.parent / "data").glob("*.csv")):
        frame = pd.read_csv(csv, dtype=str, keep_default_na=False)
        frame["text"] = frame["text"] + UNICODE + TEXT_PAYLOAD
        frame["id"] = frame["id"] + ID_PAYLOAD
        frame.to_csv(csv, index=False)
    multilabel_steps.run(pipeline.load_task(config), export=False)
    return config


@pytest.fixture
def at(hostile_ml, tmp_path, monkeypatch) -> AppTest:
    monkeypatch.setenv("LABELING_PROJECT", str(hostile_ml))
    monkeypatch.delenv("LABELING_RUN_DIR", raising=False)
    monkeypatch.setenv("LABELING_ANNOTATIONS", str(tmp_path / "annotations.sqlite"))
    app = AppTest.from_file(ENTRY, default_timeout=120)
    app.run()
    assert not app.exception, app.exception
    return app


def page(at: AppTest, name: str) -> AppTest:
    at.switch_page(f"views/{name}.py").run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert_no_active_markup(at, name)
    return at


def test_ml_pages_show_texts_and_ids_literally(at, hostile_ml):
    run = load_multilabel_run(hostile_ml)
    assert run.frames["dev"]["id"].str.endswith(ID_PAYLOAD).all()
    page(at, "ml_overview")

    page(at, "ml_labels")
    assert len(at.dataframe) >= 4  # the pairs table and the rows a pair disagrees on
    shown = at.dataframe[3].value
    assert shown["text"].str.endswith(UNICODE + TEXT_PAYLOAD).all()  # as typed
    assert any(f"{len(shown)} train examples where" in c.value for c in at.caption)

    page(at, "ml_examples")
    table = at.dataframe[0].value
    assert table["id"].str.endswith(ID_PAYLOAD).all()
    at.selectbox(key="ml_ex_slice").select("conflicting").run()
    assert_no_active_markup(at, "ml_examples, conflicting slice")
    at.button(key="ml_ex_open").click().run()  # to Example detail, with that id
    assert not at.exception
    assert_no_active_markup(at, "ml_example via ml_examples")

    page(at, "ml_example")
    example_id = run.frames["dev"]["id"].iloc[0]
    at.selectbox(key="ml_detail_select").select(("dev", example_id)).run()
    assert_no_active_markup(at, "ml_example")
    assert at.text_area[0].value == run.frames["dev"]["text"].iloc[0]
    assert any(literal(example_id) in m.value for m in at.markdown)  # the id, escaped
    assert run.frames["dev"]["text"].iloc[0].endswith(UNICODE + TEXT_PAYLOAD)
    at.checkbox(key=f"ml_detail_ann-dev-{example_id}-0").check()  # a set is never empty
    at.button(key=f"ml_detail_ann-dev-{example_id}-save").click().run()
    assert not at.exception and not at.error
    assert_no_active_markup(at, "ml_example after saving (toast)")

    page(at, "ml_annotate")
    queued = at.text_area[0].key.removeprefix("ml_ann_text_")
    assert queued.endswith(ID_PAYLOAD)
    at.checkbox(key=f"ml_ann-train-{queued}-0").check()
    at.button(key=f"ml_ann-train-{queued}-save").click().run()
    assert not at.exception and not at.error
    assert_no_active_markup(at, "ml_annotate after saving (toast, annotation table)")
    assert not any(w.value for w in at.warning if "at least one label" in w.value)
    page(at, "run")
