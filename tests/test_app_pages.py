"""Every page of the review app rendered with Streamlit's AppTest over a real run in tmp.

Each test checks that the page renders without an exception or error message, that
its key numbers equal the library's, and drives the drill-downs through selectboxes
(AppTest cannot click dataframe rows; the browser test covers real clicks). AppTest does
not expose a dataframe's key, so tables are found by position on their page.
"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from labeling.analysis import pairwise_counts
from labeling.review import conflicts
from labeling.gold import AnnotationStore, text_digest
from labeling.review.detail import example_text
from labeling.review.literal import literal
from labeling.review.project import load_run
from labeling.review.sample import ensure_sample_run

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "tests"))
from hostile_texts import ACTIVE_MARKUP, TEXT_PAYLOAD, ensure_hostile_run  # noqa: E402

ENTRY = str(REPO_ROOT / "app" / "streamlit_app.py")


@pytest.fixture(scope="session")
def sample_project(tmp_path_factory) -> Path:
    return ensure_sample_run(REPO_ROOT / "labeling.toml",
                             tmp_path_factory.getbasetemp() / "app_sample")


@pytest.fixture
def app(sample_project, tmp_path, monkeypatch):
    """An AppTest on the sample run; annotations go to a fresh file per test."""
    monkeypatch.setenv("LABELING_PROJECT", str(sample_project))
    monkeypatch.delenv("LABELING_RUN_DIR", raising=False)
    monkeypatch.setenv("LABELING_ANNOTATIONS", str(tmp_path / "annotations.sqlite"))
    at = AppTest.from_file(ENTRY, default_timeout=60)
    at.run()
    assert not at.exception
    return at


def page(at: AppTest, name: str) -> AppTest:
    at.switch_page(f"views/{name}.py").run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return at


def test_overview(app, sample_project):
    run = load_run(sample_project)
    page(app, "overview")
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["train rows"] == "240" and metrics["test rows"] == "100"
    assert metrics["train coverage"] == f"{run.metrics['data']['train']['coverage']:.1%}"
    scores = app.dataframe[1].value
    end = scores[scores["model"].str.startswith("end model") & (scores["split"] == "test")]
    assert end["accuracy"].iloc[0] == round(run.metrics["end_model"]["test"]["accuracy"], 3)


def test_lf_table(app, sample_project):
    run = load_run(sample_project)
    page(app, "lfs")
    table, total = app.dataframe[0].value, app.dataframe[1].value
    assert list(table["lf"]) == run.lf_names
    assert table.set_index("lf").loc["re_link", "coverage"] == round(
        run.summary.loc["re_link", "coverage"], 3)
    assert total["lf"].iloc[0].startswith("TOTAL")


def test_conflicts_pair_selectbox_lists_the_disagreements(app, sample_project):
    run = load_run(sample_project)
    page(app, "conflicts")
    pairs = conflicts.conflict_pairs(run, "train")
    _, counts = pairwise_counts(run.L["train"])
    choice = app.selectbox(key="pair")
    assert choice.value == conflicts.pair_label(pairs.lf_a[0], pairs.lf_b[0], pairs.conflicts[0])
    last = choice.options[-1]
    choice.select(last).run()
    a, b = conflicts.parse_pair_label(last)
    shown = app.dataframe[1].value
    assert len(shown) == counts[run.lf_names.index(a), run.lf_names.index(b)]
    assert (shown[a] != shown[b]).all()
    word = shown["text"].iloc[0].split()[0]
    app.text_input(key="conf_query").input(word).run()
    assert 0 < len(app.dataframe[1].value) <= len(shown)


def test_conflicts_annotation_writes_a_row(app, sample_project, tmp_path):
    page(app, "conflicts")
    example = app.selectbox(key="conf_example").value
    app.button(key="conf_ann-1").click().run()
    assert not app.exception
    store = AnnotationStore(tmp_path / "annotations.sqlite")
    split = app.radio(key="conf_split").value
    assert store.gold_for("youtube", split, [example], ["ham", "spam"]) == {example: 1}
    # with a digest of the example's text: the next run skips it if the id names another
    (digest,) = sqlite3.connect(store.path).execute(
        "SELECT text_sha FROM annotations WHERE example_id = ?", (example,)).fetchone()
    assert digest == text_digest(example_text(load_run(sample_project), example, split))


def test_slices_filters(app, sample_project):
    from labeling.review.slices import slice_masks

    run = load_run(sample_project)
    page(app, "slices")
    app.selectbox(key="slice_split").select("dev").run()
    app.selectbox(key="slice_name").select("label_model_wrong").run()
    wrong = slice_masks(run, "dev")["label_model_wrong"].sum()
    if wrong:
        assert len(app.dataframe[1].value) == wrong
    app.selectbox(key="slice_split").select("train").run()
    assert any("no gold labels" in i.value for i in app.info)  # a clear message, no error
    app.selectbox(key="slice_name").select("uncovered").run()
    assert len(app.dataframe[1].value) == slice_masks(run, "train")["uncovered"].sum()


def test_example_detail(app, sample_project):
    run = load_run(sample_project)
    page(app, "example")
    example_id = run.frames["dev"]["id"].iloc[2]
    app.selectbox(key="detail_select").select(("dev", example_id)).run()
    assert not app.exception and not app.error
    assert app.text_area[0].value == run.frames["dev"]["text"].iloc[2]
    assert len(app.dataframe[0].value) == len(run.lf_names)
    assert any("local zero-shot backend" in i.value for i in app.info)
    assert {m.label for m in app.metric} == {"label model", "majority vote", "end model"}


def test_end_model_cell_filters_examples(app, sample_project):
    run = load_run(sample_project)
    page(app, "end_model")
    assert len(app.dataframe[0].value) == 100
    app.button(key="cell-1-1").click().run()
    assert app.selectbox(key="em_cell").value == "spam → spam"
    shown = app.dataframe[0].value
    assert set(shown["gold"]) == {"spam"} and set(shown["end_model"]) == {"spam"}
    errors = app.dataframe[1].value if len(app.dataframe) > 1 else []
    assert len(errors) == round(100 * (1 - run.metrics["end_model"]["test"]["accuracy"]))


def test_annotate_writes_rows_and_counts(app, tmp_path):
    page(app, "annotate")
    app.selectbox(key="ann_slice").select("conflicting").run()
    first = app.text_area[0].key
    app.button(key="ann_btn-0").click().run()
    assert not app.exception
    store = AnnotationStore(tmp_path / "annotations.sqlite")
    table = store.table("youtube")
    assert len(table) == 1 and table["label"].iloc[0] == 0
    assert first.endswith(table["example_id"].iloc[0])
    assert app.text_area[0].key != first  # moved on to the next example
    assert {m.label: m.value for m in app.metric}["total"] == "1"
    assert app.get("download_button")


def test_annotate_skip_and_back_move_through_the_queue_without_writing(app, tmp_path):
    page(app, "annotate")
    app.selectbox(key="ann_slice").select("conflicting").run()
    first = app.text_area[0].key
    app.button(key="ann_skip").click().run()
    second = app.text_area[0].key
    assert second != first
    app.button(key="ann_back").click().run()
    assert app.text_area[0].key == first
    app.button(key="ann_back").click().run()  # before the first: the queue's last
    assert app.text_area[0].key not in (first, second)
    assert AnnotationStore(tmp_path / "annotations.sqlite").table("youtube").empty


def test_no_run_offers_the_pipeline(make_task, monkeypatch, tmp_path):
    monkeypatch.setenv("LABELING_PROJECT", str(make_task()))
    monkeypatch.setenv("LABELING_ANNOTATIONS", str(tmp_path / "a.sqlite"))
    at = AppTest.from_file(ENTRY, default_timeout=60).run()
    assert not at.exception
    assert any("no finished run" in i.value for i in at.info)
    at.button(key="run_pipeline").click().run(timeout=600)  # a bound on the run
    assert not at.exception and not at.error
    assert any("Run finished" in s.value for s in at.success)


def test_broken_config_is_one_clear_message(make_task, monkeypatch):
    monkeypatch.setenv("LABELING_PROJECT", str(make_task(toml="name = [")))
    at = AppTest.from_file(ENTRY, default_timeout=30).run()
    assert not at.exception
    assert len(at.error) == 1 and "not valid TOML" in at.error[0].value


# --- texts and ids are data: never rendered as Markdown or HTML -------------------

# Elements that show data as typed (text areas, code, tables, select options, charts):
# only their label and help are Markdown. Every other element's strings are Markdown.
LITERAL_ELEMENTS = {"text_area", "code", "text", "dataframe", "arrow_data_frame", "selectbox",
                    "multiselect", "text_input", "vega_lite_chart", "arrow_vega_lite_chart"}


def _markdown_sources(node):
    """(element type, Markdown source) of every element below ``node``, toasts included."""
    for child in getattr(node, "children", {}).values():
        proto = getattr(child, "proto", None)
        kind = getattr(child, "type", type(child).__name__)
        if proto is not None and kind in LITERAL_ELEMENTS:
            for field in ("label", "help"):
                if hasattr(proto, field):
                    yield kind, getattr(proto, field)
        elif proto is not None and not hasattr(child, "children"):
            yield kind, str(proto)
        elif hasattr(child, "children"):
            if proto is not None:  # a block: expander labels, tab names...
                yield kind, str(proto)
            yield from _markdown_sources(child)


def assert_no_active_markup(at: AppTest, where: str) -> None:
    found = [(kind, source[:200]) for kind, source in _markdown_sources(at._tree)
             if ACTIVE_MARKUP.search(source)]
    assert not found, f"{where}: data rendered as Markdown: {found}"


@pytest.fixture(scope="session")
def hostile_project(tmp_path_factory) -> Path:
    return ensure_hostile_run(REPO_ROOT / "labeling.toml",
                              tmp_path_factory.getbasetemp() / "app_hostile")


@pytest.fixture
def hostile_app(hostile_project, tmp_path, monkeypatch):
    monkeypatch.setenv("LABELING_PROJECT", str(hostile_project))
    monkeypatch.delenv("LABELING_RUN_DIR", raising=False)
    monkeypatch.setenv("LABELING_ANNOTATIONS", str(tmp_path / "annotations.sqlite"))
    at = AppTest.from_file(ENTRY, default_timeout=60)
    at.run()
    assert not at.exception
    return at


def test_texts_and_ids_are_shown_literally_on_every_page(hostile_app, hostile_project):
    at, run = hostile_app, load_run(hostile_project)
    for name in ("overview", "lfs", "conflicts", "slices", "end_model"):
        page(at, name)
        assert_no_active_markup(at, name)
    page(at, "conflicts")
    at.button(key="conf_ann-1").click().run()
    assert not at.exception
    assert_no_active_markup(at, "conflicts after labeling (toast)")
    shown = [t.value for t in at.text_area]
    assert shown and all(t.endswith(TEXT_PAYLOAD) for t in shown)  # as typed, not altered

    page(at, "example")
    example_id = run.frames["dev"]["id"].iloc[0]
    at.selectbox(key="detail_select").select(("dev", example_id)).run()
    assert_no_active_markup(at, "example")
    assert at.text_area[0].value == run.frames["dev"]["text"].iloc[0]
    assert any(literal(example_id) in m.value for m in at.markdown)  # the id, escaped

    page(at, "annotate")
    at.selectbox(key="ann_slice").select("conflicting").run()
    assert_no_active_markup(at, "annotate")
    at.button(key="ann_btn-0").click().run()
    assert not at.exception
    assert_no_active_markup(at, "annotate after labeling (toast)")
