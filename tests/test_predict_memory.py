"""`labeling predict` on a long stdin keeps its memory flat (issue 12, item 23).

Before the fix all of stdin was read, decoded and split before the first prediction, so
peak RSS grew with the input (about 2x its size, 472 MB at 100k lines). The check runs the
real CLI twice in subprocesses, on a short and on a long stdin, and compares their peak RSS:
the growth must stay well under the added input size (a generous bound; no timing).

Only APIs that already existed before the fix are used (train_end_model, export_model,
the CLI), so the test also runs against the old code and fails there.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from labeling.export import export_model
from labeling.train.end_model import train_end_model

TEXTS = ["subscribe to my channel", "check out my channel", "free money on my channel",
         "love this song", "great song", "this song is beautiful"]
WORDS = ["subscribe", "channel", "song", "love", "free", "money", "great", "beautiful"]

# A small interpreter forks the CLI and reports its peak RSS (ru_maxrss, KiB on Linux).
# Not forked from pytest itself: Linux counts the RSS a child had before exec (this big
# process, when forked) in the child's ru_maxrss.
_RSS_LAUNCHER = ("import os, subprocess, sys\n"
                 "proc = subprocess.Popen(sys.argv[1:])\n"
                 "_, status, usage = os.wait4(proc.pid, 0)\n"
                 "print('peak_rss_kib', usage.ru_maxrss, os.waitstatus_to_exitcode(status),"
                 " file=sys.stderr)")


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    model = train_end_model(TEXTS, np.eye(2)[[1, 1, 1, 0, 0, 0]], np.ones(6, bool))
    return export_model(model, tmp_path_factory.mktemp("export") / "model",
                        {"task": "tiny", "labels": ["ham", "spam"]})


def write_lines(path: Path, n: int) -> Path:
    """``n`` distinct 12-word lines over 8 words: the input grows, the vocabulary does not
    (so the fast path's bounded per-word cache is not what is measured)."""
    with open(path, "w", encoding="utf-8") as out:
        for i in range(n):
            out.write(" ".join(WORDS[(i >> k) % 8] for k in range(0, 36, 3)) + "\n")
    return path


def peak_rss_bytes(model_dir: Path, stdin_path: Path, out_path: Path) -> int:
    command = [sys.executable, "-m", "labeling.cli", "predict", "--model", str(model_dir)]
    with open(stdin_path, "rb") as stdin, open(out_path, "wb") as stdout:
        done = subprocess.run([sys.executable, "-c", _RSS_LAUNCHER, *command], stdin=stdin,
                              stdout=stdout, stderr=subprocess.PIPE, text=True, timeout=1200)
    report = done.stderr.strip().splitlines()[-1].split() if done.stderr.strip() else []
    assert len(report) == 3 and report[0] == "peak_rss_kib" and report[2] == "0", done.stderr
    return int(report[1]) * 1024


def count_lines(path: Path) -> int:
    with open(path, "rb") as f:
        return sum(1 for _ in f)


def test_peak_rss_stays_flat_as_stdin_grows(tiny_model, tmp_path):
    short = write_lines(tmp_path / "short.txt", 1_000)
    long = write_lines(tmp_path / "long.txt", 200_000)  # ~20 MB more input
    short_peak = peak_rss_bytes(tiny_model, short, tmp_path / "short.out")
    long_peak = peak_rss_bytes(tiny_model, long, tmp_path / "long.out")
    # every line was predicted: the small peak is not from giving up early
    assert count_lines(tmp_path / "short.out") == 1_000
    assert count_lines(tmp_path / "long.out") == 200_000
    added_input = long.stat().st_size - short.stat().st_size
    growth = long_peak - short_peak
    # reading it all held ~2.2x the added input (45 MB here); streaming holds one batch
    assert growth < 0.5 * added_input, (
        f"peak RSS grew {growth / 1e6:.1f} MB for {added_input / 1e6:.1f} MB more stdin "
        f"({short_peak / 1e6:.0f} -> {long_peak / 1e6:.0f} MB)")
