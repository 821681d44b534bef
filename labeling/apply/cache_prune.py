"""Pruning the LF column cache (``labeling cache --prune``): what the task as it is now
can no longer use goes; the next apply gives the same L."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from labeling.apply.cache import ColumnCache, _read, _valid_votes, _write


def prune(cache: ColumnCache, fingerprints: set[str], rows: np.ndarray, frames: set[str],
          cardinality: int) -> dict[str, int]:
    """Keep only what the next apply can use of ``cache``: the column files of
    ``fingerprints`` (the task's LFs now), holding only the row hashes ``rows`` (the
    data's rows now), and the frame-key files ``frames`` (digests of the splits now);
    unreadable files and temporary files of killed writes (their process gone) go too.
    Parts of an unfinished apply stay (the next apply resumes from them). Returns files
    removed, files rewritten and bytes freed."""
    out = {"removed": 0, "rewritten": 0, "bytes_freed": 0}

    def drop(path: Path) -> None:
        out["bytes_freed"] += path.stat().st_size
        path.unlink()
        out["removed"] += 1

    for path in sorted(cache.dir.glob("*.npz")):
        if path.stem not in fingerprints:
            if _writer_gone(path):
                drop(path)
            continue
        stored = _valid_votes(_read(path, "hashes", "votes"), cardinality)
        if stored is None:
            drop(path)
            continue
        keep = np.isin(stored[0], rows)
        if keep.any() and not keep.all():  # none: keys not taken as apply took them
            before = path.stat().st_size
            _write(path, hashes=stored[0][keep], votes=stored[1][keep])
            out["rewritten"] += 1
            out["bytes_freed"] += before - path.stat().st_size
    for path in sorted((cache.dir / "frames").glob("*.npz")):
        if path.stem not in frames and _writer_gone(path):
            drop(path)
    for path in sorted((cache.dir / "parts").glob("*.part.npy.*.tmp")):
        if _writer_gone(path):  # a part's write killed (the part itself is resumed)
            drop(path)
    return out


def _writer_gone(path: Path) -> bool:
    """False for the temporary file (``x.<pid>.tmp.npz``, ``x.part.npy.<pid>.tmp``) of
    a process still running (its write is not over), True for any other file."""
    pid = path.name.removesuffix(".npz").removesuffix(".tmp").rpartition(".")[2]
    if not (path.name.endswith((".tmp", ".tmp.npz")) and pid.isdigit()):
        return True
    try:
        os.kill(int(pid), 0)  # no signal sent: only whether the process runs
    except ProcessLookupError:
        return True
    except OSError:  # PermissionError: another user's process, running
        pass
    return False
