"""The annotation store held by another writer past SQLite's busy timeout (a long import in
another session, a teammate's open `sqlite3` shell in a transaction).

Before: a label click waited 10 s and then the page showed a traceback ending in
"OperationalError: database is locked"; nothing said whether the label was saved.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from labeling import gold
from labeling.gold import AnnotationStore, AnnotationStoreError

ENTRY = str(Path(__file__).resolve().parents[1] / "app" / "streamlit_app.py")
HOLD = ("import sqlite3, sys\n"
        "db = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "db.execute('BEGIN IMMEDIATE'); print('held', flush=True); sys.stdin.read()\n")


def _writer(path: Path) -> subprocess.Popen:
    """Another process in a write transaction on the store until its stdin ends."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(path)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def _release(proc: subprocess.Popen) -> None:
    proc.stdin.close()
    proc.wait(timeout=60)


def test_a_locked_store_is_one_line_naming_it_and_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.setattr(gold, "BUSY_SECONDS", 0.2)
    store = AnnotationStore(tmp_path / "a.sqlite")
    proc = _writer(store.path)
    try:
        with pytest.raises(AnnotationStoreError) as error:
            store.set("t", "x1", 1, split="train", label_name="spam")
        message = str(error.value)
        assert message.startswith(f"{store.path}: busy") and "nothing was saved" in message
        assert "\n" not in message
        with pytest.raises(AnnotationStoreError):
            store.set_many("t", [dict(example_id="x2", label=0, split="dev")])
    finally:
        _release(proc)
    assert store.table("t").empty
    assert store.set("t", "x1", 1, split="train", label_name="spam")  # free again


def test_a_click_on_a_locked_store_says_not_saved_and_shows_the_example_again(
        tiny_app_project, monkeypatch):
    monkeypatch.setattr(gold, "BUSY_SECONDS", 0.2)
    at = AppTest.from_file(ENTRY, default_timeout=60)
    at.session_state["unsure_margin"] = 1.01  # every example in the queue
    at.run()
    at.switch_page("views/annotate.py").run()
    at.selectbox(key="ann_slice").select("unsure").run()
    shown = at.text_area[0].key
    path = Path(os.environ["LABELING_ANNOTATIONS"])  # the app's store (the fixture's)
    AnnotationStore(path)
    proc = _writer(path)
    try:
        at.button(key="ann_btn-1").click().run()
        assert not at.exception, [e.value for e in at.exception]
        notes = [w.value.replace("\\", "") for w in at.warning]
        assert any("your label was not saved" in n and "busy" in n for n in notes), notes
        assert at.text_area[0].key == shown  # the same example, to label again
    finally:
        _release(proc)
    at.button(key="ann_btn-1").click().run()
    assert not at.exception and not at.warning
    assert not AnnotationStore(path).table("tiny").empty
