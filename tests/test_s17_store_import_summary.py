"""An import says what it overwrote, and from whom.

Before: a row that replaced a label given in the app -- or a clear, recorded with who
cleared it and when -- was counted only in "N labels imported": a file made by hand put a
cleared label back, and a colleague's newer download wiped another annotator's clear or
label, without a word of it. Now each such example is a line of ``Imported.replaced``
(the label or clear replaced, by whom, when), which :func:`replaced_note` words for the
import's summary. Rows the file cannot be newer than stay kept (``kept``), as before.
"""

from __future__ import annotations

import sqlite3
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_h112_import_team import _relabel  # noqa: E402 (a label given at a time)

from labeling.gold import AnnotationStore  # noqa: E402
from labeling.review.import_labels import export, import_labels, replaced_note  # noqa: E402
from labeling.review.project import load_run  # noqa: E402

T0 = 1796630400.0  # 2026-12-07 08:00:00 UTC


@pytest.fixture
def run(tiny_app_project):
    return load_run(tiny_app_project)


def _clear(store, example_id, who, at):
    store.remove("tiny", "train", example_id, annotator=who)
    with sqlite3.connect(store.path) as db:
        db.execute("UPDATE cleared SET cleared_at = ? WHERE example_id = ?", (at, example_id))


def test_a_newer_download_that_wipes_a_clear_says_so(run, tmp_path):
    store = AnnotationStore(tmp_path / "team.sqlite")
    example_id = run.frames["train"]["id"][0]
    _relabel(store, run, example_id, "spam", "bob", T0)
    _clear(store, example_id, "bob", T0 + 60)
    theirs = AnnotationStore(tmp_path / "laptop.sqlite")
    _relabel(theirs, run, example_id, "ham", "carol", T0 + 120)  # after bob's clear
    n = import_labels(store, run, "carol.csv", export(theirs, run), annotator="dana")
    assert n == 1 and store.record("tiny", "train", example_id)["label_name"] == "ham"
    assert n.replaced == (f"train {example_id} (cleared by bob at 2026-12-07 08:01 UTC)",)
    note = replaced_note(n, "carol.csv")
    assert note.startswith("1 label of carol.csv replaced") and "cleared by bob" in note


def test_a_file_made_by_hand_over_a_clear_says_so(run, tmp_path):
    """No updated_at: the row is imported (nothing says it is older), and named."""
    store = AnnotationStore(tmp_path / "team.sqlite")
    ids = list(run.frames["train"]["id"][:2])
    _relabel(store, run, ids[0], "spam", "bob", T0)
    _clear(store, ids[0], "carol", T0 + 60)
    _relabel(store, run, ids[1], "spam", "bob", T0)
    body = f"example_id,split,label_name\n{ids[0]},train,ham\n{ids[1]},train,ham\n"
    n = import_labels(store, run, "mine.csv", body.encode(), annotator="dana")
    assert n == 2
    assert n.replaced == (f"train {ids[0]} (cleared by carol at 2026-12-07 08:01 UTC)",
                          f"train {ids[1]} (spam by bob at 2026-12-07 08:00 UTC)")


def test_only_what_was_overwritten_is_named(run, tmp_path):
    """A new label, a row already so, and a row older than the stored label: not named."""
    store = AnnotationStore(tmp_path / "team.sqlite")
    ids = list(run.frames["train"]["id"][:3])
    _relabel(store, run, ids[0], "spam", "bob", T0)
    _relabel(store, run, ids[1], "ham", "bob", time.time())
    body = (f"example_id,split,label_name,updated_at\n{ids[0]},train,spam,\n"
            f"{ids[1]},train,spam,2026-12-07T08:00:00.000+00:00\n{ids[2]},train,ham,\n")
    n = import_labels(store, run, "mine.csv", body.encode(), annotator="dana")
    assert (n, n.unchanged, len(n.kept), n.replaced) == (1, 1, 1, ())
    assert replaced_note(n, "mine.csv") is None


def test_a_label_set_stored_in_another_order_is_the_same_label(run, tmp_path):
    """A label set given before the task's labels were reordered is stored with its names
    in that order ("spam;ham"); the import writes them in today's ("ham;spam"). Before,
    its own download read back took them for a label edited in the file: recorded as the
    importer's, stamped now (bob's label became dana's)."""
    store = AnnotationStore(tmp_path / "team.sqlite")
    example_id = run.frames["train"]["id"][0]
    text = run.frames["train"].set_index("id").at[example_id, "text"]
    store.set("tiny", example_id, 3, split="train", label_name="spam;ham", annotator="bob",
              text=text)
    before = store.record("tiny", "train", example_id)
    n = import_labels(store, run, "dana.csv", export(store, run), multi_label=True,
                      annotator="dana")
    assert (n, n.unchanged, n.replaced) == (0, 1, ())
    assert store.record("tiny", "train", example_id) == before
