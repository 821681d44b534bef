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

import numpy as np

from labeling.apply.fingerprint import frame_digest, row_hashes


class ColumnCache:
    def __init__(self, cache_dir: Path | str):
        self.dir = Path(cache_dir)

    def _path(self, fingerprint: str) -> Path:
        return self.dir / f"{fingerprint}.npz"

    def frame_hashes(self, df) -> tuple[np.ndarray, np.ndarray]:
        """``(row_hashes(df), argsort of them)``, computed once per distinct frame: an
        unchanged frame (same :func:`frame_digest`) reads them from the cache."""
        digest = frame_digest(df)
        path = self.dir / "frames" / f"{digest}.npz"
        if digest is not None and path.is_file():
            try:
                with np.load(path) as data:
                    return data["hashes"], data["order"]
            except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
                pass
        hashes = row_hashes(df)
        order = np.argsort(hashes, kind="stable")
        if digest is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f"{digest}.{os.getpid()}.tmp.npz")
            np.savez(tmp, hashes=hashes, order=order)
            os.replace(tmp, path)
        return hashes, order

    def lookup(self, fingerprint: str, hashes: np.ndarray,
               order: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(votes, found)`` for ``hashes``; ``found`` marks rows the cache knew.

        ``order`` (``argsort(hashes)``, shared by all LFs of a run) makes the search
        run over sorted queries, which is several times faster on large frames.
        """
        votes = np.full(len(hashes), -1, dtype=np.int16)
        found = np.zeros(len(hashes), dtype=bool)
        path = self._path(fingerprint)
        if not path.is_file():
            return votes, found
        try:
            with np.load(path) as data:
                known, known_votes = data["hashes"], data["votes"]
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
            return votes, found  # unreadable: recompute, and the next store replaces it
        if len(known) > 1 and not (known[1:] > known[:-1]).all():  # store() writes sorted
            order = np.argsort(known)
            known, known_votes = known[order], known_votes[order]
        if not len(known):
            return votes, found
        order = np.argsort(hashes, kind="stable") if order is None else order
        queries = hashes[order]
        if len(known) == len(queries) and np.array_equal(known, queries):  # same rows
            votes[order] = known_votes
            found[:] = True
            return votes, found
        pos = np.minimum(np.searchsorted(known, queries), len(known) - 1)
        hit = known[pos] == queries
        found[order] = hit
        votes[order[hit]] = known_votes[pos[hit]]
        return votes, found

    def store(self, fingerprint: str, hashes: np.ndarray, votes: np.ndarray) -> None:
        """Merge ``hashes -> votes`` into the fingerprint's file, atomically."""
        self.dir.mkdir(parents=True, exist_ok=True)
        path = self._path(fingerprint)
        old_hashes, old_votes = np.zeros(0, np.uint64), np.zeros(0, np.int16)
        if path.is_file():
            try:
                with np.load(path) as data:
                    old_hashes, old_votes = data["hashes"], data["votes"]
            except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
                pass
        all_hashes = np.concatenate([hashes.astype(np.uint64), old_hashes])
        all_votes = np.concatenate([votes.astype(np.int16), old_votes])
        all_hashes, first = np.unique(all_hashes, return_index=True)  # new votes win
        tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npz")
        np.savez(tmp, hashes=all_hashes, votes=all_votes[first])
        os.replace(tmp, path)
