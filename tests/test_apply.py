"""apply_lfs: the label matrix, identical to snorkel's PandasLFApplier, and its errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from snorkel.labeling import PandasLFApplier

from labeling import ABSTAIN, keyword_lf, labeling_function, regex_lf
from labeling.apply import FaultLog, apply_lfs, matrix_dtype
from labeling.config import load_config
from labeling.data import load_split
from labeling.errors import LabelingError, LFError
from labeling.lf.core import PatternLF
from labeling.lf.loader import load_lfs
from labeling.llm import PromptLF


@pytest.fixture(scope="module")
def bundled(repo_root):
    """The bundled splits (loaded as the pipeline loads them) and the example LFs.

    Prompt LFs are left out: snorkel's applier would call them one row at a time, and
    they are tested against the fake endpoint and the local backend in test_llm_*.
    """
    config = load_config(repo_root / "labeling.toml")
    splits = {s: load_split(config, s) for s in ("train", "dev", "test")}
    lfs = [lf for lf in load_lfs([str(repo_root / "functions" / "youtube_spam.py")], repo_root)
           if not isinstance(lf, PromptLF)]
    return config, splits, lfs


def small_df():
    return pd.DataFrame({"id": ["a", "b", "c", "d"],
                         "text": ["subscribe now", "nice song", "boom goes the song",
                                  "boom boom subscribe"]})


# --- the matrix ------------------------------------------------------------------

def test_bundled_matrix_equals_snorkel_pandas_applier(bundled):
    config, splits, lfs = bundled
    kinds = {type(lf).__name__ for lf in lfs}
    assert "PatternLF" in kinds and "LabelingFunction" in kinds  # both code paths run
    for split, df in splits.items():
        ours = apply_lfs(df, lfs, config.cardinality, split=split)
        theirs = PandasLFApplier(lfs).apply(df, progress_bar=False)
        assert ours.shape == (len(df), len(lfs))
        np.testing.assert_array_equal(ours, theirs, err_msg=split)
        # Every LF votes somewhere in train; neither matrix is trivially all-abstain.
        if split == "train":
            assert ((ours != ABSTAIN).sum(axis=0) > 0).all()


def test_matrix_dtype_and_values(bundled):
    config, splits, lfs = bundled
    L = apply_lfs(splits["dev"], lfs, config.cardinality)
    assert L.dtype == np.int8
    assert set(np.unique(L)) <= {-1, 0, 1}
    assert matrix_dtype(2) == np.int8
    assert matrix_dtype(127) == np.int8
    assert matrix_dtype(128) == np.int16


def test_wide_label_set_uses_int16():
    lf = keyword_lf("x", label=150, name="kw_x")
    L = apply_lfs(pd.DataFrame({"text": ["x", "y"]}), [lf], cardinality=200)
    assert L.dtype == np.int16
    assert L[:, 0].tolist() == [150, -1]


def test_columns_follow_lf_order_and_index_is_ignored():
    @labeling_function()
    def short(x):
        return 0 if len(x.text) < 10 else ABSTAIN

    df = small_df().set_index(pd.Index([40, 10, 30, 20]))  # not 0..n-1 and not sorted
    L = apply_lfs(df, [short, keyword_lf("subscribe", label=1)], cardinality=2)
    assert L.tolist() == [[-1, 1], [0, -1], [-1, -1], [-1, 1]]
    np.testing.assert_array_equal(
        L, PandasLFApplier([short, keyword_lf("subscribe", label=1)]).apply(df, progress_bar=False))
    L2 = apply_lfs(df, [keyword_lf("subscribe", label=1), short], cardinality=2)
    np.testing.assert_array_equal(L2, L[:, ::-1])


def test_row_wise_lfs_see_every_column():
    @labeling_function()
    def by_author(x):
        return 1 if x["author"] == "bot" and x.video == "Psy" else ABSTAIN

    df = pd.DataFrame({"text": ["a", "b", "c"], "author": ["bot", "me", "bot"],
                       "video": ["Psy", "Psy", "Katy"]})
    assert apply_lfs(df, [by_author], 2)[:, 0].tolist() == [1, -1, -1]


def test_empty_dataframe_and_no_lfs():
    empty = pd.DataFrame({"id": [], "text": []})
    assert apply_lfs(empty, [keyword_lf("x", label=1)], 2).shape == (0, 1)
    assert apply_lfs(small_df(), [], 2).shape == (4, 0)


def test_integer_like_returns_are_accepted():
    @labeling_function()
    def numpy_votes(x):
        return np.int64(1) if "subscribe" in x.text else np.int8(-1)

    L = apply_lfs(small_df(), [numpy_votes], 2)
    assert L[:, 0].tolist() == [1, -1, -1, 1]


# --- LFs that raise --------------------------------------------------------------

@labeling_function()
def fragile(x):
    if "boom" in x.text:
        raise RuntimeError("kaput")
    return 1 if "subscribe" in x.text else ABSTAIN


@labeling_function()
def fragile_twice(x):
    if x.text.count("boom") >= 2:
        raise KeyError("missing")
    return 0


def test_lf_raising_stops_with_lf_error_naming_lf_and_row():
    with pytest.raises(LFError) as info:
        apply_lfs(small_df(), [keyword_lf("song", label=0), fragile], 2)
    message = str(info.value)
    assert "'fragile'" in message
    assert "row 3" in message and "id=c" in message  # the first failing row (from 1)
    assert "RuntimeError" in message and "kaput" in message
    assert "--fault-tolerant" in message
    assert isinstance(info.value.__cause__, RuntimeError)
    assert isinstance(info.value, LabelingError)


def test_lf_error_names_the_split():
    with pytest.raises(LFError, match=r"dev row 3 \(id=c\)"):
        apply_lfs(small_df(), [fragile], 2, split="dev")


def test_lf_error_without_id_column_names_the_position():
    df = small_df().drop(columns="id")
    with pytest.raises(LFError, match=r"on row 3;"):
        apply_lfs(df, [fragile], 2)


def test_fault_tolerant_abstains_and_counts_faults_per_lf():
    faults = FaultLog()
    L = apply_lfs(small_df(), [fragile, fragile_twice, keyword_lf("song", label=0)], 2,
                  fault_tolerant=True, faults=faults, split="train")
    assert L.tolist() == [[1, 0, -1], [-1, 0, 0], [-1, 0, 0], [-1, -1, -1]]
    assert faults.counts == {"fragile": 2, "fragile_twice": 1}
    assert faults.first["fragile"].startswith("train row 3 (id=c): RuntimeError: kaput")
    assert faults.first["fragile_twice"].startswith("train row 4 (id=d): KeyError")


def test_fault_log_accumulates_across_calls():
    faults = FaultLog()
    for split in ("train", "dev"):
        apply_lfs(small_df(), [fragile], 2, fault_tolerant=True, faults=faults, split=split)
    assert faults.counts == {"fragile": 4}
    assert faults.first["fragile"].startswith("train row 3")


# --- LFs returning bad values ----------------------------------------------------

@pytest.mark.parametrize("bad", [5, 2, -2, "spam", "1", None, True, False, 1.0, 0.5,
                                 np.bool_(True), [1]])
def test_vote_outside_label_set_is_an_error_naming_lf_and_value(bad):
    @labeling_function(name="bad_vote")
    def bad_vote(x):
        return bad if "song" in x.text else ABSTAIN

    with pytest.raises(LFError) as info:
        apply_lfs(small_df(), [bad_vote], 2, split="test")
    message = str(info.value)
    assert "'bad_vote'" in message
    assert f"returned {bad!r}" in message
    assert "test row 2 (id=b)" in message
    assert "0..1" in message


def test_bad_vote_is_an_error_even_when_fault_tolerant():
    @labeling_function()
    def says_spam(x):
        return "spam"

    with pytest.raises(LFError, match="'says_spam' returned 'spam'"):
        apply_lfs(small_df(), [says_spam], 2, fault_tolerant=True)


def test_pattern_lf_with_label_outside_range():
    with pytest.raises(LFError, match=r"'kw_five' votes 5, outside 0\.\.1"):
        apply_lfs(small_df(), [keyword_lf("song", label=5, name="kw_five")], 2)


def test_pattern_lf_reading_a_missing_column():
    lf = regex_lf("bot", label=1, name="re_author", column="author")
    with pytest.raises(LFError, match="'re_author' reads column 'author'"):
        apply_lfs(small_df(), [lf], 2)


# --- duplicate names -------------------------------------------------------------

def test_duplicate_lf_names_are_an_error():
    a = keyword_lf("song", label=0, name="same")
    b = regex_lf("subscribe", label=1, name="same")
    with pytest.raises(LFError, match="repeated: same"):
        apply_lfs(small_df(), [a, b], 2)
    with pytest.raises(LFError, match="repeated: fragile"):
        apply_lfs(small_df(), [fragile, fragile], 2)


# --- what downstream code computes from the matrix ------------------------------

def test_coverage_stats_do_not_depend_on_matrix_dtype(bundled):
    """coverage_stats receives apply_lfs' int8 matrix in the pipeline; its conflict
    rate must be the same as on the same matrix as int64."""
    from labeling.analysis import coverage_stats

    config, splits, lfs = bundled
    L = apply_lfs(splits["dev"], lfs, config.cardinality)
    assert coverage_stats(L) == coverage_stats(L.astype(np.int64))
    # A row with a single vote is covered but cannot be conflicting.
    tiny = np.array([[0, -1], [1, 0], [-1, -1]], dtype=np.int8)
    assert coverage_stats(tiny) == {"coverage": pytest.approx(2 / 3),
                                    "conflict_rate": pytest.approx(1 / 3)}


def test_example_lfs_are_mostly_vectorized(bundled):
    _, _, lfs = bundled
    names = [lf.name for lf in lfs if isinstance(lf, PatternLF)]
    assert {"kw_subscribe", "re_link", "re_check_out"} <= set(names)


# --- the rows LFs see ------------------------------------------------------------
# One LF alone reading the rows (the usual re-run after an edit) is called on one Row
# refilled per row (rows.label_each); these check that no LF can tell.

def many_df(n=300):
    return pd.DataFrame({"id": [f"r{i}" for i in range(n)], "text": [f"t {i}" for i in range(n)]})


def test_rows_an_lf_keeps_keep_their_own_values():
    kept, dicts = [], []

    @labeling_function()
    def keeps_row(x):
        if x.id.endswith("7"):
            kept.append(x)
        return ABSTAIN

    @labeling_function()
    def keeps_dict(x):
        if x.id.endswith("3"):
            dicts.append(vars(x))
        return ABSTAIN

    df = many_df()
    apply_lfs(df, [keeps_row], 2)
    apply_lfs(df, [keeps_dict], 2)
    assert [(r.id, r.text) for r in kept] == [(i, t) for i, t in zip(df.id, df.text)
                                              if i.endswith("7")]
    assert dicts == [{"id": i, "text": t} for i, t in zip(df.id, df.text) if i.endswith("3")]


def test_an_lf_mutating_its_row_does_not_leak_into_the_next_row():
    seen = []

    @labeling_function()
    def mutates(x):
        seen.append(sorted(vars(x)))
        x.extra = 1  # attached
        del x.id  # removed
        x.text = "changed"
        return ABSTAIN

    @labeling_function()
    def reads(x):
        return 1 if x.text.startswith("t ") and "extra" not in x and x.id else 0

    df = many_df()
    apply_lfs(df, [mutates], 2)
    assert seen == [["id", "text"]] * len(df)
    assert (apply_lfs(df, [reads], 2) == 1).all()


def test_rows_pickle_and_memoized_preprocessors_key_by_content():
    import pickle

    from snorkel.preprocess import preprocessor

    from labeling.apply.rows import Row, make_rows

    calls = []

    @preprocessor(memoize=True)
    def tag(x):
        calls.append(x.text)
        x.tag = x.text.upper()
        return x

    @labeling_function(pre=[tag])
    def tagged(x):
        return 1 if x.tag.startswith("T 1") else ABSTAIN

    df = pd.concat([many_df(50)] * 2, ignore_index=True).assign(id="same")
    expected = PandasLFApplier([tagged]).apply(df, progress_bar=False)
    calls.clear()
    tag.reset_cache()
    np.testing.assert_array_equal(apply_lfs(df, [tagged], 2), expected)
    assert len(calls) == 50  # each distinct row once: the memo keys rows by content
    row = make_rows(["id", "text"], [["a"], ["b"]])[0]
    assert isinstance(row, Row) and pickle.loads(pickle.dumps(row)) == row
    assert row["text"] == row.get("text") == "b" and "id" in row
