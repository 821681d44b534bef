"""The applier's engines and column cache: same matrix as snorkel, less work on re-runs."""

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from snorkel.labeling import PandasLFApplier

from labeling import labeling_function
from labeling.apply import FaultLog, apply_lfs
from labeling.errors import LFError
from labeling.lf.loader import load_lfs
from labeling.llm import PromptLF

sys.path.insert(0, str(Path(__file__).parent))
from conftest import load_benchmark  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def _benchmark_module():
    return load_benchmark("apply")


@pytest.fixture(scope="module")
def generated():
    bench = _benchmark_module()
    return bench.make_data(6000, seed=7), bench.pattern_lfs() + bench.python_lfs()


@pytest.fixture(scope="module")
def example_lfs():
    return [lf for lf in load_lfs(["functions/youtube_spam.py"], REPO)
            if not isinstance(lf, PromptLF)]


def test_generated_data_matches_snorkel_in_process_and_forked(generated):
    df, lfs = generated
    expected = PandasLFApplier(lfs).apply(df, progress_bar=False)
    np.testing.assert_array_equal(apply_lfs(df, lfs, 2), expected)
    np.testing.assert_array_equal(apply_lfs(df, lfs, 2, n_jobs=2), expected)  # > 1 chunk


def test_dask_local_cluster_with_processes_matches_local(example_lfs):
    df = pd.read_csv(REPO / "data" / "youtube" / "dev.csv", dtype=str, keep_default_na=False)
    local = apply_lfs(df, example_lfs, 2)
    # LFs from a file module (not importable on workers) and spaCy LFs cross the wire.
    dask = apply_lfs(df, example_lfs, 2, engine="dask", n_jobs=2, partition_rows=100)
    np.testing.assert_array_equal(dask, local)


def test_dask_engine_reports_faults_by_lf_and_row():
    @labeling_function()
    def breaks_on_b(x):
        if x.text == "b":
            raise ValueError("boom")
        return 0

    df = pd.DataFrame({"id": ["r1", "r2", "r3"], "text": ["a", "b", "c"]})
    with pytest.raises(LFError, match=r"breaks_on_b.*id=r2"):
        apply_lfs(df, [breaks_on_b], 2, engine="dask", n_jobs=1)
    faults = FaultLog()
    L = apply_lfs(df, [breaks_on_b], 2, engine="dask", n_jobs=1, fault_tolerant=True,
                  faults=faults)
    assert L[:, 0].tolist() == [0, -1, 0] and faults.counts == {"breaks_on_b": 1}


def counting_lfs(calls: dict, threshold: int = 3):
    @labeling_function(name="long_text")
    def long_text(x):
        calls["long_text"] = calls.get("long_text", 0) + 1
        return 1 if len(x.text) > threshold else -1

    @labeling_function(name="has_a")
    def has_a(x):
        calls["has_a"] = calls.get("has_a", 0) + 1
        return 0 if "a" in x.text else -1

    return [long_text, has_a]


def test_cache_recomputes_only_the_edited_lf_and_new_rows(tmp_path):
    df = pd.DataFrame({"id": list("abcd"), "text": ["aa", "bbbbb", "ca", "dddddd"]})
    calls = {}
    first = apply_lfs(df, counting_lfs(calls), 2, cache_dir=tmp_path)
    assert calls == {"long_text": 4, "has_a": 4}

    calls.clear()
    again = apply_lfs(df, counting_lfs(calls), 2, cache_dir=tmp_path)
    assert calls == {} and (again == first).all()

    calls.clear()
    edited = apply_lfs(df, counting_lfs(calls, threshold=5), 2, cache_dir=tmp_path)
    assert calls == {"long_text": 4}  # only the edited LF's column
    assert edited[:, 0].tolist() == [-1, -1, -1, 1] and (edited[:, 1] == first[:, 1]).all()

    calls.clear()
    more = pd.concat([df, pd.DataFrame({"id": ["e"], "text": ["eeeeeeee"]})], ignore_index=True)
    grown = apply_lfs(more, counting_lfs(calls), 2, cache_dir=tmp_path)
    assert calls == {"long_text": 1, "has_a": 1}  # only the new row
    assert (grown[:4] == first).all() and grown[4].tolist() == [1, -1]


def test_cache_survives_a_torn_file_and_no_cache_is_identical(tmp_path, generated):
    df, lfs = generated
    expected = apply_lfs(df, lfs, 2)
    apply_lfs(df, lfs, 2, cache_dir=tmp_path)
    for path in sorted(tmp_path.glob("*.npz"))[:3]:
        path.write_bytes(path.read_bytes()[:50])  # as if killed mid-write without rename
    np.testing.assert_array_equal(apply_lfs(df, lfs, 2, cache_dir=tmp_path), expected)
    assert not list(tmp_path.glob("*.tmp*"))


def test_faulted_rows_are_not_cached(tmp_path):
    state = {"fail": True}

    @labeling_function()
    def flaky(x):
        if state["fail"] and x.text == "b":
            raise RuntimeError("flaky")
        return 1

    df = pd.DataFrame({"id": ["1", "2"], "text": ["a", "b"]})
    faults = FaultLog()
    L = apply_lfs(df, [flaky], 2, cache_dir=tmp_path, fault_tolerant=True, faults=faults)
    assert L[:, 0].tolist() == [1, -1] and faults.counts == {"flaky": 1}
    state["fail"] = False  # same source: same fingerprint, the faulted row is retried
    assert apply_lfs(df, [flaky], 2, cache_dir=tmp_path)[:, 0].tolist() == [1, 1]


def test_fingerprint_follows_the_code_loaded_not_the_file_now(tmp_path):
    """A module edited after its LFs were loaded: the old LF objects still run the old
    code, so their fingerprint must not take the edited file's source."""
    from labeling.apply.fingerprint import lf_fingerprint

    path = tmp_path / "lfs.py"
    source = ("from labeling import labeling_function\n\n\n@labeling_function()\n"
              "def short(x):\n    return 0 if len(x.text) < 5 else -1\n")
    path.write_text(source)
    [old] = load_lfs([str(path)], tmp_path)
    loaded = lf_fingerprint(old)
    path.write_text(source.replace("< 5", "< 40"))
    [new] = load_lfs([str(path)], tmp_path)
    assert lf_fingerprint(new) != loaded
    assert lf_fingerprint(old) == loaded  # old code, new file on disk: unchanged
    assert lf_fingerprint(old) != lf_fingerprint(new)
    [again] = load_lfs([str(path)], tmp_path)
    assert lf_fingerprint(again) == lf_fingerprint(new)
