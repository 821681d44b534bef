"""Pruning the LF column cache (``labeling cache --prune``): what the task as it is now
can no longer use goes; the next apply gives the same L."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from labeling.apply.cache import (UNSAVED, ColumnCache, _read, _read_part, _valid_votes,
                                  _write, _write_part)


def prune(cache: ColumnCache, fingerprints: set[str], rows: np.ndarray, frames: set[str],
          cardinality: int) -> dict[str, int]:
    """Keep only what the next apply can use of ``cache``: the column files of
    ``fingerprints`` (the task's LFs now), holding only the row hashes ``rows`` (the
    data's rows now; a file left with none is removed), and the frame-key files
    ``frames`` (digests of the splits now); unreadable files and temporary files of
    killed writes (their process gone) go too. Parts of an unfinished apply keep what
    the next apply resumes from: the votes of ``fingerprints`` on ``rows``
    (:func:`_prune_part`). Returns files removed, files rewritten and bytes freed, and
    per kind the files removed (``columns``, ``frames``, ``parts``, ``temporary``)."""
    out = {"removed": 0, "rewritten": 0, "bytes_freed": 0,
           "columns": 0, "frames": 0, "parts": 0, "temporary": 0}

    def drop(path: Path, kind: str = "columns") -> None:
        out["bytes_freed"] += path.stat().st_size
        path.unlink()
        out["removed"] += 1
        out[kind if not path.name.endswith((".tmp", ".tmp.npz")) else "temporary"] += 1

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
        if not keep.any():  # every row it holds is gone (all re-keyed): as a part would
            drop(path)
        elif not keep.all():
            before = path.stat().st_size
            _write(path, hashes=stored[0][keep], votes=stored[1][keep])
            out["rewritten"] += 1
            out["bytes_freed"] += before - path.stat().st_size
    for path in sorted((cache.dir / "frames").glob("*.npz")):
        if path.stem not in frames and _writer_gone(path):
            drop(path, "frames")
    for path in sorted((cache.dir / "parts").glob("*.part.npy.*.tmp")):
        if _writer_gone(path):  # a part's write killed (the part itself is resumed)
            drop(path, "parts")
    for path in sorted((cache.dir / "parts").glob("*.part.npy")):
        before = path.stat().st_size
        if _prune_part(path, fingerprints, rows):
            out["rewritten"] += 1
            out["bytes_freed"] += before - path.stat().st_size
        elif not path.exists():
            out["removed"] += 1
            out["parts"] += 1
            out["bytes_freed"] += before
    return out


def _prune_part(path: Path, fingerprints: set[str], rows: np.ndarray) -> bool:
    """Keep of a part file (an unfinished apply's chunk) only what the next apply reads
    from it: the votes of ``fingerprints`` (an LF edited or removed since is never looked
    up again) on the row hashes ``rows``. Removes the file when nothing is left, or when
    it does not read back (the next apply ignores it); True when it was rewritten."""
    part = _read_part(path)
    if part is None:
        path.unlink()
        return False
    kept = [name for name in part.dtype.names if name in fingerprints]
    keep = np.isin(part["hash"], rows)
    if kept:
        keep &= (np.stack([part[name] for name in kept]) != UNSAVED).any(axis=0)
    if not kept or not keep.any():
        path.unlink()
        return False
    if keep.all() and len(kept) == len(part.dtype.names) - 1:
        return False  # all of it is still of use
    _write_part(path, part["hash"][keep], {name: part[name][keep] for name in kept})
    return True


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
