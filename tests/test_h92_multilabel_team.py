"""A team annotating label sets (multi-label Annotate page): who, undo, two at once.

Uses the GoEmotions sample run of ``test_app_multilabel`` (built once here).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from labeling import multilabel_steps, pipeline
from labeling.gold import AnnotationStore

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_app_multilabel import ENTRY, _project  # noqa: E402

TASK = "goemotions_ekman"


@pytest.fixture(scope="module")
def ml_run(tmp_path_factory) -> Path:
    config = _project(tmp_path_factory.mktemp("h92_ml"))
    multilabel_steps.run(pipeline.load_task(config), export=False)
    return config


@pytest.fixture
def project(ml_run, tmp_path, monkeypatch) -> Path:
    shutil.copytree(ml_run.parent, tmp_path / "p")
    config = tmp_path / "p" / "labeling.toml"
    monkeypatch.setenv("LABELING_PROJECT", str(config))
    monkeypatch.delenv("LABELING_RUN_DIR", raising=False)
    monkeypatch.delenv("LABELING_ANNOTATIONS", raising=False)
    return config


def _session(name: str) -> AppTest:
    at = AppTest.from_file(ENTRY, default_timeout=120)
    at.run()
    at.switch_page("views/ml_annotate.py").run()
    at.selectbox(key="ml_ann_split").select("train").run()
    at.sidebar.text_input(key="annotator").input(name).run()
    assert not at.exception and not at.error, (at.exception, [e.value for e in at.error])
    return at


def _shown(at: AppTest) -> str:
    return at.text_area[0].key.removeprefix("ml_ann_text_")


def _save(at: AppTest, example_id: str, labels: list[int]) -> None:
    for c in range(7):
        box = at.checkbox(key=f"ml_ann-train-{example_id}-{c}")
        box.check() if c in labels else box.uncheck()
    at.button(key=f"ml_ann-train-{example_id}-save").click().run()
    assert not at.exception and not at.error, (at.exception, [e.value for e in at.error])


def _rows(config: Path) -> list:
    table = AnnotationStore(config.parent / "annotations.sqlite").table(TASK)
    return table[["example_id", "label_name", "annotator"]].values.tolist()


def test_a_label_set_records_its_annotator_and_can_be_cleared(project):
    """Before: label sets were stored with no annotator, and the multi-label pages had no
    way to remove a saved set (single-label pages have "clear")."""
    at = _session("carol")
    example = _shown(at)
    _save(at, example, [3])  # joy
    assert _rows(project) == [[example, "joy", "carol"]]
    table = next(d.value for d in at.dataframe if "next_run" in d.value.columns)
    assert table[["label_set", "annotator", "next_run"]].values.tolist() == [
        ["joy", "carol", "used"]]
    at.button(key="ml_ann_back").click().run()
    assert _shown(at) == example
    assert any("your saved label set \\(carol, " in c.value for c in at.caption)
    at.button(key=f"ml_ann-train-{example}-clear").click().run()
    assert not at.exception and not at.error
    assert _rows(project) == []


def test_a_set_saved_by_another_annotator_meanwhile_is_not_replaced_unseen(project):
    """Before: when alice saved the example both were shown, bob's save of it was lost
    without a word (his page had moved on to the next example). Now it is refused once,
    naming alice, the example is shown again, and saving again replaces her set."""
    alice, bob = _session("alice"), _session("bob")
    example = _shown(alice)
    assert _shown(bob) == example
    _save(alice, example, [3])
    _save(bob, example, [0])
    assert _rows(project) == [[example, "joy", "alice"]]
    assert _shown(bob) == example
    assert any("by alice" in w.value and "not saved" in w.value for w in bob.warning)
    _save(bob, example, [0])
    assert _rows(project) == [[example, "anger", "bob"]]
    assert _shown(bob) != example
