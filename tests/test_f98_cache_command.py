"""`labeling cache` (found by a code review, f98): a response cache that another process
holds locked is not called unreadable, and --prune removes the part files of killed
writes."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from conftest import cli  # noqa: E402

from labeling.llm.cache import Entry, ResponseCache  # noqa: E402
from labeling.pipeline import load_task, step_apply  # noqa: E402


def test_a_locked_response_cache_is_not_called_unreadable(make_task):
    # before: every error was "unreadable: not an SQLite database (move it aside to start
    # an empty one)", also "database is locked": a valid, paid-for cache to move aside
    config = make_task()
    step_apply(load_task(config), progress=False)
    path = config.parent / "run" / "cache" / "llm_responses.sqlite"
    cache = ResponseCache(path)
    cache.put(Entry(key="k", lf="lf", model="m", prompt="p", reply="r", answer="spam",
                    reason=None))
    cache.close()
    other = sqlite3.connect(str(path), isolation_level=None)
    try:
        other.execute("PRAGMA journal_mode=DELETE")  # e.g. written by the sqlite3 shell
        other.execute("BEGIN EXCLUSIVE")  # another process holding it
        result = cli("cache", config)
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert result.exit_code == 0, result.output
    line = next(x for x in result.output.splitlines() if x.startswith("LLM responses"))
    assert "database is locked" in line and "keep the file" in line, line
    assert "unreadable" not in line and "move it aside" not in line
    again = cli("cache", config)  # once released: counted, nothing was lost
    assert "1 responses (never pruned: paid for)" in again.output, again.output


def test_prune_removes_temporary_part_files_of_killed_writes(make_task):
    # before: only *.npz names were matched: a `parts/<uuid>.part.npy.<pid>.tmp` left by
    # an apply killed mid-write stayed forever, though the docstring said they go too
    config = make_task()
    step_apply(load_task(config), progress=False)
    parts = config.parent / "run" / "cache" / "lf_columns" / "parts"
    parts.mkdir(parents=True, exist_ok=True)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    killed = parts / f"0123abcd.part.npy.{dead}.tmp"
    killed.write_bytes(b"\x93NUMPY" + bytes(200))
    torn_npz = parts.parent / f"abc.{dead}.tmp.npz"  # a column file's write, killed
    torn_npz.write_bytes(bytes(50))
    mine = parts / f"4567ef.part.npy.{os.getpid()}.tmp"  # a live writer's: left alone
    mine.write_bytes(bytes(10))
    # an unfinished apply's part with a vote of a current LF on a current row: resumed
    # from (a made-up fingerprint's part goes: tests/test_s17_cache_prune.py)
    column = next(p for p in sorted(parts.parent.glob("*.npz")) if ".tmp" not in p.name)
    with np.load(column) as data:
        row = data["hashes"][0]
    resumable = parts / "89ab.part.npy"
    part = np.empty(1, dtype=[("hash", "<u8"), (column.stem, "<i2")])
    part["hash"], part[column.stem] = row, 1
    np.save(resumable, part, allow_pickle=False)
    result = cli("cache", config, "--prune")
    assert result.exit_code == 0, result.output
    assert not killed.exists() and not torn_npz.exists(), result.output
    assert mine.exists() and resumable.exists()
    assert "2 files removed (2 temporary files)" in result.output, result.output
    assert np.load(resumable).tolist() == part.tolist()  # kept as it was


def test_a_cache_that_cannot_be_opened_does_not_blame_another_process(tmp_path,
                                                                      monkeypatch):
    """'another process may be using it' was said of every error, one that cannot be
    opened (permissions) too (r100)."""
    from labeling.cli import cache_commands
    from labeling.errors import LabelingError
    from labeling.llm import cache as llm_cache

    def refuse(path):
        raise LabelingError(f"{path}: LLM response cache: unable to open database file")

    monkeypatch.setattr(llm_cache, "ResponseCache", refuse)
    path = tmp_path / "responses.sqlite"
    path.write_bytes(b"")
    line = cache_commands._llm_count(path)
    assert "unable to open" in line and "another process" not in line, line
