"""What LFs see of a frame (labeling.lf.core.as_lfs_see_it), and what `x` is in every
apply path (docs/authoring.md: the same row type and methods wherever an LF runs)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from labeling.apply import apply_lfs, as_lfs_see_it
from labeling.apply.row_labeler import CHUNK
from labeling.lf import labeling_function
from labeling.lf.nlp import spacy_lf


def test_a_frame_without_gold_is_not_copied():
    # pandas < 3 copies every column in drop() even when there is nothing to drop
    df = pd.DataFrame({"id": ["a", "b"], "text": ["x", "y"]})
    assert as_lfs_see_it(df) is df


def test_the_gold_column_is_dropped_from_a_new_frame_only():
    df = pd.DataFrame({"id": ["a", "b"], "text": ["x", "y"], "label": [0, 1]})
    seen = as_lfs_see_it(df)
    assert list(seen.columns) == ["id", "text"]
    assert list(df.columns) == ["id", "text", "label"]


@labeling_function()
def rewrites_its_row(x):
    x.text = "changed"  # an LF may change its own row: never the caller's frame
    return -1


def test_apply_never_writes_the_callers_frame():
    df = pd.DataFrame({"id": ["a", "b"], "text": ["one", "two"]})
    before = df.copy()
    apply_lfs(df, [rewrites_its_row], 2)
    pd.testing.assert_frame_equal(df, before)


def _row_kind(x) -> int:
    """1 when ``x`` has what docs/authoring.md promises, whatever path called the LF."""
    ok = (type(x).__name__ == "Row" and x.text == x["text"] == x.get("text")
          and "text" in x and x.get("missing", "d") == "d" and "label" not in x
          and vars(x)["id"] == x.id)
    try:
        x.label
        ok = False
    except AttributeError:
        pass
    return 1 if ok else 0


row_kind = labeling_function(name="row_kind")(_row_kind)


@spacy_lf(name="row_kind_spacy")
def row_kind_spacy(x):  # behind the spaCy preprocessor, which copies the row
    return _row_kind(x) if x.doc is not None else 0


@pytest.mark.parametrize("engine, n_jobs, rows", [("local", 1, 5), ("local", 2, CHUNK + 5)])
def test_x_is_the_same_row_in_process_and_in_forked_workers(engine, n_jobs, rows):
    df = pd.DataFrame({"id": [f"r{i}" for i in range(rows)],
                       "text": [f"text {i}" for i in range(rows)], "label": 0})
    L = apply_lfs(df, [row_kind, row_kind_spacy], 2, engine=engine, n_jobs=n_jobs)
    assert (L == 1).all()


def test_x_is_the_same_row_on_dask():
    pytest.importorskip("distributed")
    df = pd.DataFrame({"id": ["a", "b", "c"], "text": ["one", "two", "three"], "label": 1})
    L = apply_lfs(df, [row_kind], 2, engine="dask", n_jobs=1)
    assert np.array_equal(L[:, 0], [1, 1, 1])


def test_x_is_the_same_row_in_a_fault_tolerant_rerun():
    # a fault sends the LF down the slow path (one row object per row): same rows
    @labeling_function(name="kind_or_raise")
    def kind_or_raise(x):
        if x.id == "b":
            raise ValueError("no")
        return _row_kind(x)

    df = pd.DataFrame({"id": ["a", "b", "c"], "text": ["one", "two", "three"]})
    L = apply_lfs(df, [kind_or_raise], 2, fault_tolerant=True)
    assert L[:, 0].tolist() == [1, -1, 1]
