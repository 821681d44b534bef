"""Benchmark: labeling.apply_lfs against snorkel's PandasLFApplier, same run, same data.

    python benchmarks/apply.py [--rows 1000000] [--json PATH]

Generated data (seeded): N short texts. Cases, each in a fresh subprocess so its peak
RSS is its own: 10 keyword/regex LFs and 10 plain-Python LFs, with snorkel and with
ours; ours with 2 processes (n_jobs=2) and on a Dask LocalCluster of 2 workers; and
the incremental case: the Python LFs loaded from a module file are applied into an
empty column cache (the "full apply"), then one line of one LF is edited in the file,
the module reloaded and the same call repeated: its time as a fraction of the full
apply's (9 columns come from the cache, checked by fingerprint). Ratios are what to read: the
machine is noisy, absolute times are not comparable across runs.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

WORDS = ("song love great video music best amazing views girl party dance like watch "
         "year still listening beautiful voice lol wow nice cool guys channel").split()
SPAMMY = ("subscribe check out my channel free money http www win click visit follow "
          "please like share gift").split()


def make_data(rows: int, seed: int = 0) -> pd.DataFrame:
    """N short texts, seeded. Built word by word so generating them costs little memory:
    the peak RSS a case reports is then the applier's, not the generator's."""
    rng = np.random.default_rng(seed)
    vocab = WORDS + SPAMMY
    weights = np.r_[np.full(len(WORDS), 4.0), np.ones(len(SPAMMY))]
    lengths = rng.integers(3, 16, size=rows)
    texts = []
    for start in range(0, rows, 100_000):  # bounded temporary arrays
        block = lengths[start:start + 100_000]
        picks = rng.choice(len(vocab), size=int(block.sum()), p=weights / weights.sum())
        bounds = np.r_[0, np.cumsum(block)]
        texts += [" ".join([vocab[i] for i in picks[a:b]]) for a, b in zip(bounds[:-1], bounds[1:])]
    return pd.DataFrame({"id": np.arange(rows).astype(str), "text": texts})


def pattern_lfs():
    from labeling import keyword_lf, regex_lf

    return [keyword_lf(["subscribe"], 1), keyword_lf(["free", "money"], 1, name="kw_money"),
            keyword_lf(["gift", "win"], 1, name="kw_gift"), regex_lf(r"check\s+out", 1),
            regex_lf(r"my\s+channel", 1), regex_lf(r"https?|www", 1, name="re_link"),
            keyword_lf(["song", "music"], 0, name="kw_song"), keyword_lf(["love"], 0),
            regex_lf(r"\b(beautiful|amazing)\s+voice\b", 0, name="re_voice"),
            keyword_lf(["please", "click"], 1, name="kw_please")]


# The 10 Python LFs, as a user's module: the benchmark loads them from a file, as the
# CLI does, and the incremental case edits that file (one line of one LF).
PYTHON_LFS = """
from labeling import labeling_function


@labeling_function()
def short(x):
    return 0 if len(x.text.split()) < 5 else -1


@labeling_function()
def many_words(x):
    return 1 if len(x.text.split()) > 13 else -1


@labeling_function()
def starts_check(x):
    return 1 if x.text.startswith("check") else -1


@labeling_function()
def ends_lol(x):
    return 0 if x.text.endswith("lol") else -1


@labeling_function()
def repeated_word(x):
    words = x.text.split()
    return 0 if len(set(words)) < len(words) - 3 else -1


@labeling_function()
def many_spammy(x):
    return 1 if sum(w in ("free", "win", "click", "gift") for w in x.text.split()) >= 2 else -1


@labeling_function()
def long_text(x):
    return 1 if len(x.text) > 80 else -1


@labeling_function()
def vowel_ratio(x):
    vowels = sum(c in "aeiou" for c in x.text)
    return 0 if vowels / max(len(x.text), 1) > 0.42 else -1


@labeling_function()
def has_digit_word(x):
    return 1 if any(w in ("www", "http") for w in x.text.split()[:3]) else -1


@labeling_function()
def title_like(x):
    return 0 if x.text.count(" ") < 3 else -1
"""
# The edit of the incremental case. It changes the file's size too, so inspect's line
# cache cannot serve the old source whatever the file system's mtime resolution.
EDIT = ("len(x.text.split()) < 5", "len(x.text.split()) <= 3")
_LF_DIR: tempfile.TemporaryDirectory | None = None


def python_lfs(edited: bool = False) -> list:
    """The 10 Python LFs, written to ``bench_python_lfs.py`` (one path per process, so
    the edited version replaces the original like a user's edit) and loaded from it."""
    from labeling.lf.loader import load_lfs

    global _LF_DIR
    if _LF_DIR is None:
        _LF_DIR = tempfile.TemporaryDirectory(prefix="labeling-bench-")
    path = Path(_LF_DIR.name) / "bench_python_lfs.py"
    assert PYTHON_LFS.count(EDIT[0]) == 1
    path.write_text(PYTHON_LFS.replace(*EDIT) if edited else PYTHON_LFS)
    return load_lfs([str(path)], path.parent)


def incremental(df: pd.DataFrame, lfs: list) -> dict:
    """A full apply into an empty cache, then the same call after editing one LF: the
    other nine columns must come from the cache, and the matrix must equal a fresh one."""
    from labeling.apply import apply_lfs
    from labeling.apply.fingerprint import lf_fingerprint

    with tempfile.TemporaryDirectory() as cache:
        before = [lf_fingerprint(lf) for lf in lfs]  # what the full apply stores under
        start = time.perf_counter()
        apply_lfs(df, lfs, 2, cache_dir=cache)
        full = time.perf_counter() - start
        edited = python_lfs(edited=True)
        changed = [lf.name for lf, fp in zip(edited, before) if lf_fingerprint(lf) != fp]
        if changed != ["short"]:
            raise RuntimeError(f"the edit should change one LF's fingerprint, not {changed}")
        start = time.perf_counter()
        L = apply_lfs(df, edited, 2, cache_dir=cache)
        seconds = time.perf_counter() - start
    fresh = apply_lfs(df, edited, 2)  # not timed: checks the cached columns are right
    return {"seconds": seconds, "full_seconds": full,
            "same_as_fresh": same_matrices({"incremental": L, "fresh": fresh})}, L


def run_case(case: str, rows: int) -> tuple[dict, np.ndarray]:
    """Runs in a subprocess: one case, its time and the process's peak RSS, and its matrix."""
    from snorkel.labeling import PandasLFApplier

    from labeling.apply import apply_lfs

    df = make_data(rows)
    baseline_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    lfs = pattern_lfs() if case.startswith("kw_") else python_lfs()
    start = time.perf_counter()
    if case.endswith("snorkel"):
        L = PandasLFApplier(lfs).apply(df, progress_bar=False)
    elif case.endswith("ours"):
        L = apply_lfs(df, lfs, 2)
    elif case == "py_ours_2proc":
        L = apply_lfs(df, lfs, 2, n_jobs=2)
    elif case == "py_dask_2workers":
        L = apply_lfs(df, lfs, 2, engine="dask", n_jobs=2, partition_rows=max(rows // 8, 1000))
    elif case == "py_incremental":
        result, L = incremental(df, lfs)
        return {**result, "data_rss_mb": baseline_mb,
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}, L
    else:
        raise ValueError(case)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "data_rss_mb": baseline_mb}, L


def same_matrices(matrices: dict[str, np.ndarray]) -> bool:
    """Are all these label matrices the same matrix? Element by element: a checksum
    would miss two columns swapped."""
    first, *others = matrices.values()
    return all(np.array_equal(first, other) for other in others)


CASES = ["kw_snorkel", "kw_ours", "py_snorkel", "py_ours", "py_ours_2proc",
         "py_dask_2workers", "py_incremental"]


def main() -> None:
    parser = argparse.ArgumentParser(description="LF application benchmark")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--json", help="write the ratios and peak RSS here")
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--matrix", help=argparse.SUPPRESS)  # where a case saves its L
    args = parser.parse_args()
    if args.case:
        result, L = run_case(args.case, args.rows)
        np.save(args.matrix, L)
        print(json.dumps(result))
        return
    results, matrices = {}, {}
    with tempfile.TemporaryDirectory(prefix="labeling-bench-L-") as matrix_dir:
        for case in CASES:
            matrix = Path(matrix_dir) / f"{case}.npy"
            out = subprocess.run([sys.executable, __file__, "--case", case, "--rows", str(args.rows),
                                  "--matrix", str(matrix)],
                                 check=True, capture_output=True, text=True).stdout
            results[case] = json.loads(out.strip().splitlines()[-1])
            matrices[case] = np.load(matrix)
            r = results[case]
            print(f"{case:18s} {r['seconds']:8.2f} s  {args.rows / r['seconds']:>10,.0f} rows/s  "
                  f"peak RSS {r['peak_rss_mb']:6.0f} MB (data alone {r['data_rss_mb']:.0f} MB)",
                  flush=True)
    # The keyword cases' matrices, then the Python cases' (the incremental one holds the
    # edited LF, so it is compared with a fresh apply of the edited LFs in its process).
    same = {same_matrices({c: matrices[c] for c in ("kw_snorkel", "kw_ours")}),
            same_matrices({c: matrices[c] for c in ("py_snorkel", "py_ours", "py_ours_2proc",
                                                    "py_dask_2workers")}),
            results["py_incremental"]["same_as_fresh"]}
    summary = {
        "rows": args.rows,
        "keyword_speedup": results["kw_snorkel"]["seconds"] / results["kw_ours"]["seconds"],
        "python_speedup": results["py_snorkel"]["seconds"] / results["py_ours"]["seconds"],
        "python_2proc_speedup": results["py_snorkel"]["seconds"] / results["py_ours_2proc"]["seconds"],
        "dask_vs_local_throughput": results["py_ours"]["seconds"] / results["py_dask_2workers"]["seconds"],
        "incremental_fraction": results["py_incremental"]["seconds"] / results["py_incremental"]["full_seconds"],
        "incremental_seconds": results["py_incremental"]["seconds"],
        "full_apply_seconds": results["py_incremental"]["full_seconds"],
        "peak_rss_mb": {c: round(r["peak_rss_mb"]) for c, r in results.items()},
        "same_matrices": same == {True},
    }
    print(f"\nkeyword/regex LFs: {summary['keyword_speedup']:.1f}x snorkel (target >= 20x)")
    print(f"python LFs: {summary['python_speedup']:.1f}x snorkel (target >= 5x); "
          f"2 processes {summary['python_2proc_speedup']:.1f}x")
    print(f"dask LocalCluster (2 workers) throughput vs local engine: "
          f"{summary['dask_vs_local_throughput']:.2f}x")
    print(f"re-apply after editing 1 of 10 LFs: {summary['incremental_fraction']:.1%} of a full "
          f"apply into an empty cache ({summary['incremental_seconds']:.2f} s vs "
          f"{summary['full_apply_seconds']:.2f} s; target <= 15%)")
    print(f"label matrices identical across engines and to snorkel's, incremental one to a fresh "
          f"apply: {summary['same_matrices']}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(summary, f, indent=2)


if __name__ == "__main__":
    main()
