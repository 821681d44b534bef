"""The multi-label pages' charts as a reviewer reads them (helper-h74's walkthrough of
the GoEmotions run at 1280x800): the per-label score chart cut the model names
("end model (tfidf_minilm..."), and both it and the per-label coverage chart listed the
labels a-z (neutral before sadness) while the tables next to them follow the task's order.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from labeling import multilabel_steps, pipeline

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "tests"))
from test_app_multilabel import LABELS, _project  # noqa: E402 -- the same small run

ENTRY = str(REPO_ROOT / "app" / "streamlit_app.py")


@pytest.fixture(scope="module")
def ml_project(tmp_path_factory) -> Path:
    config = _project(tmp_path_factory.mktemp("ml_charts"))
    multilabel_steps.run(pipeline.load_task(config), export=False)
    return config


def _charts(project: Path, page: str, monkeypatch, tmp_path) -> list[dict]:
    monkeypatch.setenv("LABELING_PROJECT", str(project))
    monkeypatch.delenv("LABELING_RUN_DIR", raising=False)
    monkeypatch.setenv("LABELING_ANNOTATIONS", str(tmp_path / "annotations.sqlite"))
    at = AppTest.from_file(ENTRY, default_timeout=120)
    at.run()
    at.switch_page(f"views/{page}.py").run()
    assert not at.exception and not at.error
    return [json.loads(chart.proto.spec) for chart in at.get("vega_lite_chart")]


def test_per_label_scores_name_models_whole_labels_in_task_order(ml_project, monkeypatch,
                                                                 tmp_path):
    spec = _charts(ml_project, "ml_overview", monkeypatch, tmp_path)[0]
    encoding = spec.get("encoding") or spec["spec"]["encoding"]
    assert encoding["y"]["axis"]["labelLimit"] == 0  # was: cut at 160 px
    assert encoding["color"]["legend"]["labelLimit"] == 0
    row = spec.get("facet", {}).get("row") or encoding["row"]
    assert row["sort"] == LABELS  # was: a-z


def test_per_label_coverage_lists_labels_in_task_order(ml_project, monkeypatch, tmp_path):
    spec = _charts(ml_project, "ml_labels", monkeypatch, tmp_path)[0]
    assert spec["encoding"]["y"]["sort"] == LABELS
