"""An empty annotation queue shows an empty progress bar, not a full one.

Before: a slice with no examples (e.g. "label_model_wrong" on train, which has no gold)
drew a full bar ("0 of 0 examples labeled" at 100%), which reads as "all done".
"""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from labeling.review import slices
from labeling.review.project import load_run

ENTRY = str(Path(__file__).resolve().parents[1] / "app" / "streamlit_app.py")


def _progress(at: AppTest):
    bars = at.get("progress")
    assert len(bars) == 1
    return bars[0]


def test_an_empty_slice_draws_an_empty_bar(tiny_app_project):
    run = load_run(tiny_app_project)
    assert slices.slice_ids(run, "train", "label_model_wrong") == []  # train has no gold
    at = AppTest.from_file(ENTRY, default_timeout=60)
    at.run()
    at.switch_page("views/annotate.py").run()
    at.selectbox(key="ann_split").select("train").run()
    at.selectbox(key="ann_slice").select("label_model_wrong").run()
    assert not at.exception and not at.error
    bar = _progress(at)
    assert bar.value == 0
    assert "0 of 0" in bar.proto.text
