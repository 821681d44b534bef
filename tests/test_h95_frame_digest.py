"""The LF column cache over frames whose columns hold Python objects behind a non-object
dtype (category, tz-aware datetimes), as a notebook's ``apply_lfs(df, ...,
cache_dir=...)`` gets them: before, hashing the frame raised "TypeError: Cannot change
data-type for array of references" before any LF ran."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from labeling import keyword_lf
from labeling.apply import apply_lfs
from labeling.apply.cache import frame_digest

SPAM = keyword_lf(["subscribe"], label=1, name="kw_spam")
HAM = keyword_lf(["song"], label=0, name="kw_ham")


def _frame(extra) -> pd.DataFrame:
    return pd.DataFrame({"text": ["subscribe now", "nice song", "hello", "subscribe song"],
                         "extra": extra})


@pytest.mark.parametrize("extra", [
    pd.Categorical(["a", "b", "a", "c"]),
    pd.to_datetime(["2026-01-01"] * 4).tz_localize("UTC"),
], ids=["category", "tz-datetime"])
def test_cached_apply_over_object_backed_columns(tmp_path, extra):
    df = _frame(extra)
    assert frame_digest(df) is None  # no raw buffers to hash: the keys are computed
    cold = apply_lfs(df, [SPAM, HAM], 2)
    cached = apply_lfs(df, [SPAM, HAM], 2, cache_dir=tmp_path)
    again = apply_lfs(df, [SPAM, HAM], 2, cache_dir=tmp_path)
    assert np.array_equal(cold, cached) and np.array_equal(cold, again)
    edited = df.assign(text=["nice song", "subscribe now", "hello", "hello"])
    assert np.array_equal(apply_lfs(edited, [SPAM, HAM], 2, cache_dir=tmp_path),
                          apply_lfs(edited, [SPAM, HAM], 2))
