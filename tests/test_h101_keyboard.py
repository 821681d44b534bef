"""The review app for a keyboard-only reviewer with low vision (walkthrough h101, 200% zoom,
a screen reader part of the day): what she could not reach, read or tell apart.

AppTest over the tiny task's real run (``tiny_app_project``) and the multi-label pages over
tests/test_app_multilabel.py's run.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import streamlit
from streamlit.testing.v1 import AppTest

from labeling.review.literal import literal
from labeling.review.ml_detail import label_keys

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "tests"))
from test_app_multilabel import ml_project  # noqa: E402, F401 -- the multi-label run

ENTRY = str(REPO_ROOT / "app" / "streamlit_app.py")


@pytest.fixture
def app(tiny_app_project) -> AppTest:
    at = AppTest.from_file(ENTRY, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def page(at: AppTest, name: str) -> AppTest:
    at.switch_page(f"views/{name}.py").run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return at


@pytest.mark.parametrize("name", ["annotate", "conflicts", "example"])
def test_an_examples_text_is_never_cut_at_a_fixed_height(app, monkeypatch, name):
    # Before: a disabled text area 110-120 px high. A disabled area takes no focus, so
    # the keyboard cannot scroll it: of a 1,200-character comment at 200% zoom she saw the
    # first quarter (scrollHeight 357 px, clientHeight 90 px in chromium) and no more.
    shown = []
    real = streamlit.text_area

    def recording(label, value="", *args, **kwargs):
        shown.append((value, kwargs.get("disabled"), kwargs.get("height")))
        return real(label, value, *args, **kwargs)

    monkeypatch.setattr(streamlit, "text_area", recording)
    page(app, name)
    if name == "annotate":
        app.selectbox(key="ann_slice").select("all").run()
    texts = [(v, h) for v, disabled, h in shown if disabled]
    assert texts, f"no example text on the {name} page"
    assert all(h == "content" for _, h in texts), texts


def test_each_confusion_matrix_cell_names_its_gold_and_predicted_label_in_text(app,
                                                                               tiny_app_project):
    # Before: each cell was a button reading only its count ("12"); the right cells were
    # told from the wrong ones by colour alone, and at 200% zoom the columns stack, so
    # "12" under "ham" could be either column; a screen reader said "12, button".
    from labeling.review.project import load_run

    labels = load_run(tiny_app_project).labels
    page(app, "end_model")
    for g, gold in enumerate(labels):
        for p, pred in enumerate(labels):
            label = app.button(key=f"cell-{g}-{p}").label
            assert f"{gold} → {pred}" in label, label
            assert label.startswith("✓" if g == p else "✗"), label
    app.button(key="cell-0-1").click().run()  # still filters the examples
    assert app.selectbox(key="em_cell").value == f"{labels[0]} → {labels[1]}"


def test_the_lf_tables_column_definitions_are_text_on_the_page(app):
    # Before: each column's definition was the header's tooltip only, shown on mouse
    # hover: from the keyboard or a screen reader there was no way to learn what
    # "overlaps" or "learned_accuracy" measure.
    from labeling.review.lf_table import COLUMN_HELP

    page(app, "lfs")
    columns = [c for c in app.dataframe[0].value.columns if c in COLUMN_HELP]
    assert "coverage" in columns and "overlaps" in columns
    box = next(e for e in app.expander if "columns mean" in e.label)
    text = " ".join(m.value for m in box.markdown)
    for column in columns:
        assert literal(COLUMN_HELP[column]) in text, column


SINGLE_PAGES = ["overview", "lfs", "conflicts", "slices", "example", "end_model", "suggest",
                "annotate", "run"]


def heading_levels(at: AppTest) -> list[int]:
    """The page's heading levels (1 for h1...) in the order they are shown."""
    return [int(node.proto.tag[1]) for node in at.main
            if type(node).__name__ in ("Title", "Header", "Subheader")]


def assert_no_level_skipped(levels: list[int], name: str) -> None:
    assert levels and levels[0] == 1, (name, levels)
    for before, after in zip(levels, levels[1:]):
        assert after <= before + 1, f"{name}: h{before} then h{after} ({levels})"


@pytest.mark.parametrize("name", SINGLE_PAGES)
def test_headings_go_down_one_level_at_a_time(app, name):
    # Before: every page went from its h1 title straight to h3 sections (st.subheader):
    # a screen reader's list of headings had no level 2, and jumping by level-2 headings
    # found nothing.
    page(app, name)
    if name == "annotate":
        app.selectbox(key="ann_slice").select("all").run()
    assert_no_level_skipped(heading_levels(app), name)


ML_PAGES = ["ml_overview", "ml_labels", "ml_examples", "ml_example", "ml_annotate"]


@pytest.fixture
def ml_app(ml_project, tmp_path, monkeypatch) -> AppTest:
    monkeypatch.setenv("LABELING_PROJECT", str(ml_project))
    monkeypatch.delenv("LABELING_RUN_DIR", raising=False)
    monkeypatch.setenv("LABELING_ANNOTATIONS", str(tmp_path / "annotations.sqlite"))
    at = AppTest.from_file(ENTRY, default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    return at


def test_multi_label_pages_headings_and_whole_texts(ml_app, monkeypatch):
    shown = []
    real = streamlit.text_area

    def recording(label, value="", *args, **kwargs):
        shown.append(kwargs.get("height"))
        return real(label, value, *args, **kwargs)

    monkeypatch.setattr(streamlit, "text_area", recording)
    for name in ML_PAGES:
        page(ml_app, name)
        assert_no_level_skipped(heading_levels(ml_app), name)
    assert shown and set(shown) == {"content"}, shown  # the detail and annotate texts


def test_undo_from_the_keyboard_back_then_backspace_clears_the_label(app, tiny_app_project,
                                                                     tmp_path):
    # Before: "clear" had no key (only 1/2, S and B had): after B she had to Tab through
    # the page to reach it, from wherever the focus was left by the rerun.
    from labeling.gold import AnnotationStore

    page(app, "annotate")
    app.selectbox(key="ann_slice").select("all").run()
    assert any("Backspace = clear" in c.value for c in app.caption)  # shown on screen
    first = app.text_area[0].key
    app.button(key="ann_btn-1").click().run()
    app.button(key="ann_back").click().run()
    assert app.text_area[0].key == first
    clear = app.button(key="ann_btn-clear")
    assert clear.proto.shortcut.lower() == "backspace" and "Backspace" in clear.label
    clear.click().run()
    assert not app.exception and not app.error
    assert AnnotationStore(tmp_path / "annotations.sqlite").table("tiny").empty


def test_multi_label_keys_are_shown_under_their_label_and_backspace_clears(ml_app, tmp_path):
    # Before: under each checkbox a button read "key" (and its shortcut badge): a screen
    # reader heard "key, Shortcut A" once per label with no label name; and "clear" (undo
    # a saved set) had no key. Now the key is a caption under its checkbox (the key
    # clicks that checkbox: app/label_keys.js), so it is read right after the label.
    page(ml_app, "ml_annotate")
    example_id = ml_app.text_area[0].key.removeprefix("ml_ann_text_")
    split = ml_app.selectbox(key="ml_ann_split").value
    prefix = f"ml_ann-{split}-{example_id}"
    names = [box.label for box in ml_app.checkbox if box.key.startswith(prefix)]
    assert len(names) == 7
    assert not [b for b in ml_app.button if b.key.startswith(prefix) and "key" in b.label]
    assert sorted(c.value for c in ml_app.caption if c.value.startswith("key ")) == sorted(
        f"key {k}" for k in label_keys(7))
    assert any("Backspace clears" in c.value for c in ml_app.caption)
    ml_app.checkbox(key=f"{prefix}-0").set_value(not ml_app.checkbox(key=f"{prefix}-0").value)
    ml_app.button(key=f"{prefix}-save").click().run()
    ml_app.button(key="ml_ann_back").click().run()
    assert ml_app.text_area[0].key == f"ml_ann_text_{example_id}"
    clear = ml_app.button(key=f"{prefix}-clear")
    assert clear.proto.shortcut.lower() == "backspace" and "Backspace" in clear.label
