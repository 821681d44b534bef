"""Annotating label sets by key on a task with more labels than digits (#15): the 28-label
GoEmotions task gets a key for every label (1-9, then letters, then Shift+letter), each
shown under its checkbox, none taken by Streamlit (C, R) or by the page (B back, S skip,
Enter save). A key clicks its checkbox in the browser (app/label_keys.js): here AppTest
checks which checkbox each key is given to; tests/test_browser_multilabel.py presses
the keys in a real browser.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from labeling.config import load_config
from labeling.gold import AnnotationStore
from labeling.review.ml_detail import label_keys
from labeling.review.sample import ensure_sample_run

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "app"))
ENTRY = str(REPO_ROOT / "app" / "streamlit_app.py")
CONFIG28 = REPO_ROOT / "data" / "goemotions" / "labeling28.toml"
SIZES28 = {"train": 160, "dev": 80, "test": 60}


def project28(tmp_path_factory) -> Path:
    """A finished sample run of the 28-label task (shared with the browser test)."""
    return ensure_sample_run(CONFIG28, tmp_path_factory.getbasetemp() / "app_ml28",
                             sizes=SIZES28, label_model="mv", end_model="tfidf_logreg")


@pytest.fixture(scope="session")
def ml28(tmp_path_factory) -> Path:
    return project28(tmp_path_factory)


def key_targets(at: AppTest, prefix: str) -> dict[str, str]:
    """The page's label keys: key -> the class of the checkbox it clicks (app/label_keys.js)."""
    mounted = [e for e in at.get("bidi_component") if e.key == f"{prefix}-keys"]
    assert len(mounted) == 1 and mounted[0].proto.component_name == "labeling_label_keys"
    return json.loads(mounted[0].proto.json)["keys"]


def test_every_label_has_its_own_key():
    keys = label_keys(60)
    assert keys[:9] == [str(i) for i in range(1, 10)]
    assert keys[9:12] == ["A", "D", "E"]  # B is back, C is Streamlit's
    named = [k for k in keys if k is not None]
    assert len(named) == len(set(named)) == 53 and keys[53:] == [None] * 7
    assert not {k.lower().removeprefix("shift+") for k in named} & set("bcrs")


def test_annotate_page_has_a_key_for_all_28_labels(ml28, tmp_path, monkeypatch):
    """Before: keys 1-9 only; the 19 labels after the ninth could only be clicked."""
    monkeypatch.setenv("LABELING_PROJECT", str(ml28))
    monkeypatch.delenv("LABELING_RUN_DIR", raising=False)
    monkeypatch.setenv("LABELING_ANNOTATIONS", str(tmp_path / "a.sqlite"))
    at = AppTest.from_file(ENTRY, default_timeout=120)
    at.run()
    at.switch_page("views/ml_annotate.py").run()
    assert not at.exception and not at.error, at.exception
    labels = load_config(ml28).labels
    assert len(labels) == 28
    example_id = at.text_area[0].key.removeprefix("ml_ann_text_")
    split = at.selectbox(key="ml_ann_split").value
    prefix = f"ml_ann-{split}-{example_id}"
    # each label's key, as the page hands it to the browser: the class of its checkbox
    assert key_targets(at, prefix) == {
        k.lower(): f"st-key-{prefix}-{c}" for c, k in enumerate(label_keys(28))}
    assert sorted(c.value for c in at.caption if c.value.startswith("key ")) == sorted(
        f"key {k}" for k in label_keys(28))  # tree order is column by column
    shortcuts = {b.proto.shortcut.lower() for b in at.button if b.proto.shortcut}
    assert shortcuts == {"enter", "s", "b"} and not shortcuts & set(key_targets(at, prefix))

    for box in at.checkbox:
        box.set_value(False)
    at.checkbox(key=f"{prefix}-9").check().run()   # what key A does: disappointment
    at.checkbox(key=f"{prefix}-27").check().run()  # the 28th key's: neutral
    at.button(key=f"{prefix}-save").click().run()
    assert not at.exception and not at.error
    store = AnnotationStore(tmp_path / "a.sqlite")
    assert store.label_sets_for("goemotions28", split, [example_id], labels) == {
        example_id: (9, 27)}
    assert labels[9] == "disappointment" and labels[27] == "neutral"
