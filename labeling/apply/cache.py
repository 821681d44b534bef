"""The label-matrix cache: per LF fingerprint, the vote for each row content hash.

One ``.npz`` file per fingerprint holds two arrays, row hashes and votes. Keying by
row content (not position) means adding rows computes only the new rows, and
editing an LF computes only that LF. Files are written to a temporary name and
renamed, so a crash mid-apply leaves every file either old or new, never torn.
Rows where an LF raised (fault-tolerant mode) are never cached: they are retried.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path
from typing import NamedTuple

import numpy as np

from labeling.apply.fingerprint import frame_digest, row_hashes


class FrameKeys(NamedTuple):
    """A frame's row content hashes, with their sort order: computed once per run and
    shared by every LF's lookup and store (searches over sorted queries are fast)."""

    hashes: np.ndarray  # uint64 per row
    order: np.ndarray  # argsort(hashes), stable
    sorted: np.ndarray  # hashes[order]

    @classmethod
    def of(cls, hashes: np.ndarray, order: np.ndarray | None = None) -> "FrameKeys":
        order = np.argsort(hashes, kind="stable") if order is None else order
        return cls(hashes, order, hashes[order])


def _read(path: Path, *names: str):
    """The named arrays of an ``.npz`` file, or None when missing or unreadable (a torn
    or foreign file is a cache miss; the next store replaces it)."""
    if not path.is_file():
        return None
    try:
        with np.load(path) as data:
            return tuple(data[n] for n in names)
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None


def _write(path: Path, **arrays) -> None:
    """Write to a temporary name, then rename: readers see the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npz")
    np.savez(tmp, **arrays)
    os.replace(tmp, path)


class ColumnCache:
    def __init__(self, cache_dir: Path | str):
        self.dir = Path(cache_dir)

    def _path(self, fingerprint: str) -> Path:
        return self.dir / f"{fingerprint}.npz"

    def frame_keys(self, df) -> FrameKeys:
        """The :class:`FrameKeys` of ``df``, computed once per distinct frame: an
        unchanged frame (same :func:`frame_digest`) reads them from the cache."""
        digest = frame_digest(df)
        path = self.dir / "frames" / f"{digest}.npz"
        known = _read(path, "hashes", "order") if digest is not None else None
        if known is not None:
            return FrameKeys.of(*known)
        keys = FrameKeys.of(row_hashes(df))
        if digest is not None:
            _write(path, hashes=keys.hashes, order=keys.order)
        return keys

    def lookup(self, fingerprint: str, keys: FrameKeys) -> tuple[np.ndarray, np.ndarray]:
        """``(votes, found)`` for the rows of ``keys``; ``found`` marks rows the cache knew."""
        votes = np.full(len(keys.hashes), -1, dtype=np.int16)
        found = np.zeros(len(keys.hashes), dtype=bool)
        stored = _read(self._path(fingerprint), "hashes", "votes")
        if stored is None or not len(stored[0]):
            return votes, found
        known, known_votes = stored
        if len(known) > 1 and not (known[1:] > known[:-1]).all():  # store() writes sorted
            order = np.argsort(known)
            known, known_votes = known[order], known_votes[order]
        queries, order = keys.sorted, keys.order
        if len(known) == len(queries) and np.array_equal(known, queries):  # same rows
            votes[order] = known_votes
            found[:] = True
            return votes, found
        pos = np.minimum(np.searchsorted(known, queries), len(known) - 1)
        hit = known[pos] == queries
        found[order] = hit
        votes[order[hit]] = known_votes[pos[hit]]
        return votes, found

    def store(self, fingerprint: str, keys: FrameKeys, rows: np.ndarray,
              votes: np.ndarray) -> None:
        """Merge the votes of the rows where ``rows`` is True (``votes`` has one per row
        of the frame) into the fingerprint's file, atomically."""
        pick = rows[keys.order]  # in hash order: the new entries come out sorted
        new_hashes, new_votes = keys.sorted[pick], votes[keys.order][pick].astype(np.int16)
        if len(new_hashes) > 1:  # equal rows (same hash): keep one entry
            first = np.r_[True, new_hashes[1:] != new_hashes[:-1]]
            new_hashes, new_votes = new_hashes[first], new_votes[first]
        path = self._path(fingerprint)
        old = _read(path, "hashes", "votes")
        if old is not None and len(old[0]):
            all_hashes = np.concatenate([new_hashes, old[0].astype(np.uint64)])
            all_votes = np.concatenate([new_votes, old[1].astype(np.int16)])
            new_hashes, first = np.unique(all_hashes, return_index=True)  # new votes win
            new_votes = all_votes[first]
        _write(path, hashes=new_hashes, votes=new_votes)
