"""The LF column cache keys rows by the names of their columns too (h133): pandas's row
hash covers the values only, so a column renamed in the data file kept every row's key
and an LF reading the old name (``getattr(x, "author", None)``, which now finds nothing)
was served its old votes from the cache: a cached apply differed from --no-cache."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from conftest import default_frames  # noqa: E402

from labeling.apply.cache import row_hashes  # noqa: E402
from labeling.pipeline import load_task, step_apply  # noqa: E402

LFS = '''
from labeling import ABSTAIN, labeling_function

@labeling_function()
def by_bot(x):
    return 1 if getattr(x, "author", None) == "bot" else ABSTAIN
'''


def _with_author(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(author=["bot" if i % 2 else "human" for i in range(len(frame))])


def _L(config, **overrides) -> pd.DataFrame:
    step_apply(load_task(config), progress=False, **overrides)
    return pd.read_parquet(config.parent / "run" / "L.parquet")


def test_a_column_renamed_in_the_data_is_not_served_from_the_cache(make_task):
    frames = {s: _with_author(df) for s, df in default_frames().items()}
    config = make_task(lf_source=LFS, **frames)
    before = _L(config)
    assert (before["by_bot"] == 1).any()
    for split in frames:
        path = config.parent / f"{split}.csv"
        pd.read_csv(path).rename(columns={"author": "user"}).to_csv(path, index=False)
    cached = _L(config)
    fresh = _L(config, cache=False)
    assert (fresh["by_bot"] == -1).all()  # the LF finds no author any more
    pd.testing.assert_frame_equal(cached, fresh)


def test_row_keys_depend_on_values_and_column_names_only():
    df = pd.DataFrame({"id": ["a", "b"], "text": ["x", "y"]})
    keys = row_hashes(df)
    assert np.array_equal(row_hashes(df.copy()), keys)
    assert np.array_equal(row_hashes(df.set_axis([5, 7])), keys)  # not the index
    assert not np.isin(row_hashes(df.rename(columns={"text": "body"})), keys).any()
    assert not np.isin(row_hashes(df.assign(text=["x", "z"])), keys[1:]).any()
