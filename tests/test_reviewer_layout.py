"""What a reviewer sees at a laptop's size (1280x800) on the bundled task's 17 LFs.

Found by walking the app as a domain expert (helper-h74, 2026-12-07), each checked on the
page the user reads (AppTest; the chart specs and element settings the browser gets):

- the conflicts heatmap named only every other LF on its y axis (Vega's label-overlap
  culling at a fixed 380 px for 17 rows, axes included);
- the label-distribution axis ran to 110% when a source's 3-digit shares summed to
  1.001 (a k-class task), and its sources came in alphabetical order, gold second;
- the LF table and the example's votes showed 10 of the 17 LFs, the rest behind a
  scrollbar inside the table, and the LF's name scrolled away with the columns;
- a prompt LF's prompt (the example's text is one long line) and its raw reply were cut
  at the code box's right edge;
- the scores table printed 0.89 and 1 next to 0.928.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import streamlit
from streamlit.delta_generator import DeltaGenerator
from streamlit.testing.v1 import AppTest

from labeling.review.project import load_run
from labeling.review.sample import ensure_sample_run

REPO_ROOT = Path(__file__).resolve().parents[1]
ENTRY = str(REPO_ROOT / "app" / "streamlit_app.py")


@pytest.fixture(scope="module")
def sample_project(tmp_path_factory) -> Path:
    return ensure_sample_run(REPO_ROOT / "labeling.toml",
                             tmp_path_factory.getbasetemp() / "app_sample")


@pytest.fixture
def dataframes(monkeypatch) -> list[tuple[object, dict]]:
    """Every ``st.dataframe`` call of the page (data, keyword arguments): AppTest's tree
    keeps no element height."""
    calls: list[tuple[object, dict]] = []
    original = DeltaGenerator.dataframe

    def recording(self, data=None, *args, **kwargs):
        calls.append((data, kwargs))
        return original(self, data, *args, **kwargs)

    monkeypatch.setattr(DeltaGenerator, "dataframe", recording)
    monkeypatch.setattr(streamlit, "dataframe",
                        lambda *a, **k: recording(streamlit._main, *a, **k))
    return calls


@pytest.fixture
def app(sample_project, tmp_path, monkeypatch):
    monkeypatch.setenv("LABELING_PROJECT", str(sample_project))
    monkeypatch.delenv("LABELING_RUN_DIR", raising=False)
    monkeypatch.setenv("LABELING_ANNOTATIONS", str(tmp_path / "annotations.sqlite"))
    at = AppTest.from_file(ENTRY, default_timeout=120)
    at.run()
    assert not at.exception
    return at


def _page(at: AppTest, name: str) -> AppTest:
    at.switch_page(f"views/{name}.py").run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return at


def _specs(at: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("vega_lite_chart")]


def test_conflict_heatmap_names_every_lf_on_both_axes(app, sample_project):
    names = load_run(sample_project).lf_names
    assert len(names) == 17
    spec = _specs(_page(app, "conflicts"))[0]
    for channel in ("x", "y"):
        axis = spec["encoding"][channel]["axis"]
        assert axis["labelOverlap"] is False, channel  # was: every other name hidden
        assert spec["encoding"][channel]["sort"] == names
    assert spec["height"] >= 20 * len(names)  # was 380 px with the axes, 14 px a row


def test_label_distribution_axis_ends_at_100_percent_gold_first(app):
    at = _page(app, "overview")
    spec = next(s for s in _specs(at) if s.get("encoding", {}).get("x", {}).get("field") == "share")
    assert spec["encoding"]["x"]["scale"]["domain"] == [0, 1]  # was: 110% on a sum of 1.001
    assert spec["encoding"]["y"]["sort"][0] == "gold"  # was alphabetical: end model first


def test_scores_show_three_decimals(app, dataframes):
    _page(app, "overview")
    _, kwargs = next((d, k) for d, k in dataframes
                     if hasattr(d, "columns") and "macro_f1" in d.columns)
    for column in ("accuracy", "macro_f1"):
        assert kwargs["column_config"][column]["type_config"]["format"] == "%.3f"  # was 0.89, 1


def test_lf_table_and_votes_show_every_lf(app, dataframes, sample_project):
    n = len(load_run(sample_project).lf_names)
    _page(app, "lfs")
    data, kwargs = next((d, k) for d, k in dataframes if k.get("key") == "lf_table")
    assert len(data) == n and kwargs.get("height") == "content"  # was: 10 rows shown
    assert kwargs["column_config"]["lf"]["pinned"] is True
    dataframes.clear()
    _page(app, "example")
    votes, kwargs = next((d, k) for d, k in dataframes
                         if hasattr(d, "columns") and list(d.columns) == ["lf", "kind", "vote"])
    assert len(votes) == n and kwargs.get("height") == "content"


def test_prompts_and_replies_wrap_instead_of_being_cut(app):
    at = _page(app, "example")
    codes = at.get("code")
    assert codes, "the sample run's prompt LFs show their prompts"
    assert any("Comment:" in c.proto.code_text for c in codes)
    assert all(c.proto.wrap_lines for c in codes)  # was: one long line, cut at the edge
