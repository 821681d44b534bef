"""The annotate page's "unsure" queue is the slice the Slices page counts.

Before (found by the reviewer walkthrough, helper-h74): the Slices page's margin slider
changed the "unsure" count there, but the annotate page always built its "unsure" queue
with the default margin 0.2, so a reviewer who widened the margin to see 60 unsure rows
was given a different, smaller set to label (and the slider went back to 0.2 on return).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from labeling.review import slices
from labeling.review.project import load_run
from labeling.review.sample import ensure_sample_run

REPO_ROOT = Path(__file__).resolve().parents[1]
ENTRY = str(REPO_ROOT / "app" / "streamlit_app.py")
MARGIN = 0.6


@pytest.fixture(scope="module")
def sample_project(tmp_path_factory) -> Path:
    return ensure_sample_run(REPO_ROOT / "labeling.toml",
                             tmp_path_factory.getbasetemp() / "app_sample")


def test_annotate_unsure_uses_the_margin_set_on_the_slices_page(sample_project, tmp_path,
                                                               monkeypatch):
    run = load_run(sample_project)
    wide = slices.slice_ids(run, "train", "unsure", MARGIN)
    assert len(wide) != len(slices.slice_ids(run, "train", "unsure"))  # the test can tell
    monkeypatch.setenv("LABELING_PROJECT", str(sample_project))
    monkeypatch.delenv("LABELING_RUN_DIR", raising=False)
    monkeypatch.setenv("LABELING_ANNOTATIONS", str(tmp_path / "annotations.sqlite"))
    at = AppTest.from_file(ENTRY, default_timeout=120)
    at.run()
    at.switch_page("views/slices.py").run()
    at.slider(key="slice_margin").set_value(MARGIN).run()
    at.switch_page("views/annotate.py").run()
    at.selectbox(key="ann_split").select("train").run()
    at.selectbox(key="ann_slice").select("unsure").run()
    assert not at.exception and not at.error
    progress = at.get("progress")[0].proto.text
    assert progress == f"0 of {len(wide)} examples in this slice labeled"  # was: margin 0.2
    at.switch_page("views/slices.py").run()
    assert at.slider(key="slice_margin").value == MARGIN  # was: back to 0.2
