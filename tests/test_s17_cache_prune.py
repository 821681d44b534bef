"""`labeling cache --prune` and the part files of an unfinished apply (h133): a part is
read back only for the fingerprints of the task's LFs now and for the rows of the data
now, so the votes of LFs edited or removed since (and of rows gone) go; before, every
readable part stayed whatever it held, also one of a made-up fingerprint."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from conftest import cli  # noqa: E402

from labeling.apply.cache import UNSAVED, _write_part  # noqa: E402
from labeling.pipeline import load_task, step_apply  # noqa: E402

STALE = "0" * 32  # the fingerprint of an LF since edited: no LF of the task has it


def _part(path: Path, hashes, columns: dict) -> Path:
    _write_part(path, np.asarray(hashes, np.uint64), columns)  # as apply writes them
    return path


def _applied(make_task):
    """The task applied: (config, lf_columns folder, a current LF's fingerprint, two
    row hashes of its data)."""
    config = make_task()
    step_apply(load_task(config), progress=False)
    folder = config.parent / "run" / "cache" / "lf_columns"
    column = sorted(folder.glob("*.npz"))[0]
    with np.load(column) as data:
        rows = data["hashes"][:2].copy()
    return config, folder, column.stem, rows


def test_prune_drops_parts_of_lfs_no_longer_in_the_task_and_keeps_what_apply_resumes(
        make_task):
    config, folder, current, rows = _applied(make_task)
    parts = folder / "parts"
    gone_row = np.uint64(12345)  # a row no longer in the data
    stale = _part(parts / "a.part.npy", rows, {STALE: [1, 0]})
    resumable = _part(parts / "b.part.npy", rows, {current: [1, 0]})
    mixed = _part(parts / "c.part.npy", [rows[0], rows[1], gone_row],
                  {current: [1, UNSAVED, 0], STALE: [0, 1, 1]})
    old_rows = _part(parts / "d.part.npy", [gone_row], {current: [1]})
    torn = parts / "e.part.npy"
    torn.write_bytes(b"\x93NUMPY" + bytes(30))
    unchanged = resumable.read_bytes()
    L_before = pd.read_parquet(config.parent / "run" / "L.parquet")

    result = cli("cache", config, "--prune")
    assert result.exit_code == 0, result.output
    assert not stale.exists() and not old_rows.exists() and not torn.exists()
    assert resumable.read_bytes() == unchanged  # all of it is of use: left as it is
    part = np.load(mixed)
    assert part.dtype.names == ("hash", current)  # the stale LF's votes gone
    assert part["hash"].tolist() == [int(rows[0])] and part[current].tolist() == [1]
    assert ("3 files removed (3 parts of an unfinished apply), 1 rewritten without old "
            "rows or LFs, ") in result.output, result.output
    # the next apply reads what the parts hold, and then drops them, as before
    step_apply(load_task(config), progress=False)
    assert not list(parts.glob("*.part.npy"))
    L_after = pd.read_parquet(config.parent / "run" / "L.parquet")
    assert L_after.columns.tolist() == L_before.columns.tolist()


def test_the_freed_bytes_count_the_parts_removed(make_task):
    config, folder, _, rows = _applied(make_task)
    stale = _part(folder / "parts" / "a.part.npy", np.repeat(rows, 600),
                  {STALE: np.ones(1200, np.int16)})
    size = stale.stat().st_size
    result = cli("cache", config, "--prune")
    assert result.exit_code == 0, result.output
    from labeling.cli.cache_commands import human_size

    line = next(x for x in result.output.splitlines() if x.startswith("pruned") and
                "lf_columns" in x)
    assert f"{human_size(size)} freed" in line, line
