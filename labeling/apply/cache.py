"""The label-matrix cache: per LF fingerprint, the vote for each row content hash.

One ``.npz`` file per fingerprint holds two arrays: row hashes (sorted, unique uint64)
and votes. Keying by row content (not position) means adding rows computes only the
new rows, and editing an LF computes only that LF. While an apply runs, every column
part it finishes (a vectorized column, a chunk of rows) is written at once as a part
file under ``parts/<fingerprint>/``, so a run killed mid-split resumes from there; the
end of the apply merges the parts into the column's file. Files are written to a
temporary name and renamed, so a crash leaves every file either old or new, never torn.

A file that is unreadable or inconsistent (lengths, dtypes, unsorted or duplicate
keys, votes outside the label set) is a miss, as is a cached frame-key file whose
hashes do not match a sample of the frame's rows. Rows where an LF raised
(fault-tolerant mode) are never cached: they are retried. An LF whose inputs cannot be
fingerprinted is not cached at all, and a warning says so once.
"""

from __future__ import annotations

import os
import uuid
import warnings
import zipfile
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np

from labeling.apply.fingerprint import NotFingerprintable, frame_digest, lf_fingerprint, row_hashes
from labeling.lf.core import ABSTAIN

KEY_SAMPLE = 64  # rows of a frame re-hashed to check its cached keys


class UncachedLFWarning(UserWarning):
    """An LF's votes depend on something without a fingerprint: it is recomputed each run."""


_warned: set[tuple[str, str]] = set()  # (LF, reason) already said in this process


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


def _valid_votes(stored, cardinality: int):
    """``(hashes, votes)`` as :meth:`ColumnCache.store` writes them, or None."""
    if stored is None:
        return None
    hashes, votes = stored
    if (hashes.ndim != 1 or votes.ndim != 1 or len(hashes) != len(votes)
            or hashes.dtype != np.uint64 or votes.dtype.kind != "i"):
        return None
    if len(hashes) > 1 and not (hashes[1:] > hashes[:-1]).all():
        return None
    if len(votes) and (votes.min() < ABSTAIN or votes.max() >= cardinality):
        return None  # e.g. written before a label was removed
    return hashes, votes.astype(np.int16)


def _valid_keys(stored, df) -> FrameKeys | None:
    """Cached frame keys if consistent with ``df`` (checked on a sample of rows), or None."""
    if stored is None:
        return None
    hashes, order = stored
    n = len(df)
    if (hashes.ndim != 1 or order.ndim != 1 or len(hashes) != n or len(order) != n
            or hashes.dtype != np.uint64 or order.dtype.kind not in "iu"):
        return None
    if n and (order.min() < 0 or order.max() >= n):
        return None
    covered = np.zeros(n, dtype=bool)
    covered[order] = True
    keys = FrameKeys.of(hashes, order)
    if not covered.all() or (n > 1 and (keys.sorted[1:] < keys.sorted[:-1]).any()):
        return None
    sample = np.unique(np.linspace(0, n - 1, min(n, KEY_SAMPLE)).astype(np.int64))
    if n and not np.array_equal(row_hashes(df.iloc[sample]), hashes[sample]):
        return None
    return keys


def _merge(hashes: list[np.ndarray], votes: list[np.ndarray]):
    """One sorted, duplicate-free ``(hashes, votes)``; earlier arrays win on equal hashes."""
    all_hashes = np.concatenate(hashes) if hashes else np.zeros(0, np.uint64)
    all_votes = np.concatenate(votes) if votes else np.zeros(0, np.int16)
    unique, first = np.unique(all_hashes, return_index=True)
    return unique, all_votes[first].astype(np.int16)


class ColumnCache:
    def __init__(self, cache_dir: Path | str):
        self.dir = Path(cache_dir)

    def _path(self, fingerprint: str) -> Path:
        return self.dir / f"{fingerprint}.npz"

    def _parts_dir(self, fingerprint: str) -> Path:
        return self.dir / "parts" / fingerprint

    def frame_keys(self, df) -> FrameKeys:
        """The :class:`FrameKeys` of ``df``, computed once per distinct frame: an
        unchanged frame (same :func:`frame_digest`) reads them from the cache."""
        digest = frame_digest(df)
        path = self.dir / "frames" / f"{digest}.npz"
        if digest is not None:
            known = _valid_keys(_read(path, "hashes", "order"), df)
            if known is not None:
                return known
        keys = FrameKeys.of(row_hashes(df))
        if digest is not None:
            _write(path, hashes=keys.hashes, order=keys.order)
        return keys

    def _entries(self, fingerprint: str, cardinality: int):
        """Everything known for ``fingerprint`` (the column file and the parts left by a
        run that has not finished), and the part files read."""
        parts = sorted(self._parts_dir(fingerprint).glob("*.part.npz"))
        stored = [_valid_votes(_read(p, "hashes", "votes"), cardinality)
                  for p in [*parts, self._path(fingerprint)]]
        stored = [s for s in stored if s is not None]
        if len(stored) == 1:
            return stored[0], parts
        return _merge([s[0] for s in stored], [s[1] for s in stored]), parts

    def has_parts(self, fingerprint: str) -> bool:
        return self._parts_dir(fingerprint).is_dir()

    def lookup(self, fingerprint: str, keys: FrameKeys,
               cardinality: int) -> tuple[np.ndarray, np.ndarray]:
        """``(votes, found)`` for the rows of ``keys``; ``found`` marks rows the cache knew."""
        votes = np.full(len(keys.hashes), ABSTAIN, dtype=np.int16)
        found = np.zeros(len(keys.hashes), dtype=bool)
        (known, known_votes), _ = self._entries(fingerprint, cardinality)
        if not len(known):
            return votes, found
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

    def append(self, fingerprint: str, keys: FrameKeys, rows: np.ndarray,
               votes: np.ndarray) -> None:
        """Record the votes of the rows at positions ``rows`` as a part file: cheap (no
        merge), and what a killed run leaves for the next one."""
        if len(rows):
            hashes, part_votes = _merge([keys.hashes[rows]], [np.asarray(votes, np.int16)])
            _write(self._parts_dir(fingerprint) / f"{uuid.uuid4().hex}.part.npz",
                   hashes=hashes, votes=part_votes)

    def store(self, fingerprint: str, keys: FrameKeys, rows: np.ndarray, votes: np.ndarray,
              cardinality: int) -> None:
        """Merge the votes of the rows where ``rows`` is True (``votes`` has one per row
        of the frame), and the parts, into the fingerprint's file, atomically; then drop
        the parts merged (parts another process writes meanwhile stay for later)."""
        (old_hashes, old_votes), parts = self._entries(fingerprint, cardinality)
        merged = _merge([keys.hashes[rows], old_hashes],
                        [np.asarray(votes[rows], np.int16), old_votes])
        _write(self._path(fingerprint), hashes=merged[0], votes=merged[1])
        for part in parts:
            part.unlink(missing_ok=True)
        if parts:
            try:
                self._parts_dir(fingerprint).rmdir()  # only if empty: others' parts stay
            except OSError:
                pass


class CachedColumns:
    """The cache's part in one ``apply_lfs`` call over one frame.

    :meth:`fill` serves what the cache knows, :meth:`save` and :meth:`save_chunk`
    record column parts as soon as they are computed, :meth:`finish` merges them.
    LFs for which ``cacheable`` is False, or whose fingerprint cannot be taken, are
    left alone (a warning, once per process, names the LF and the reason).
    """

    def __init__(self, cache_dir: Path | str, df, lfs: list, cardinality: int,
                 cacheable: Callable[[object], bool]):
        self.cache = ColumnCache(cache_dir)
        self.keys = self.cache.frame_keys(df)
        self.cardinality = cardinality
        self.fingerprints = [self._fingerprint(lf) if cacheable(lf) else None for lf in lfs]

    def _fingerprint(self, lf) -> str | None:
        try:
            return lf_fingerprint(lf, self.cardinality)
        except NotFingerprintable as exc:
            if (lf.name, str(exc)) not in _warned:
                _warned.add((lf.name, str(exc)))
                warnings.warn(f"LF '{lf.name}' is not cached (recomputed every run): {exc}",
                              UncachedLFWarning, stacklevel=4)
            return None

    def fill(self, L: np.ndarray, need: np.ndarray) -> None:
        """Cached votes into ``L``; ``need`` is cleared where they were found."""
        for j, fingerprint in enumerate(self.fingerprints):
            if fingerprint is None:
                continue
            votes, found = self.cache.lookup(fingerprint, self.keys, self.cardinality)
            if found.all():  # the usual re-run: whole columns, no masked copies
                L[:, j], need[:, j] = votes, False
            elif found.any():
                L[found, j] = votes[found]
                need[:, j] = ~found

    def save(self, j: int, rows: np.ndarray, votes: np.ndarray) -> None:
        """Column ``j``'s votes at frame positions ``rows``, just computed."""
        if self.fingerprints[j] is not None:
            self.cache.append(self.fingerprints[j], self.keys, rows, votes)

    def save_chunk(self, columns: list[int], positions: np.ndarray, need: np.ndarray,
                   votes: np.ndarray, faulted: np.ndarray) -> None:
        """A chunk of row-wise votes (``votes[i, k]`` for frame row ``positions[i]`` and
        column ``columns[k]``, computed where ``need``); faulted rows are not saved."""
        for k, j in enumerate(columns):
            picked = need[:, k] & ~faulted[:, k]
            self.save(j, positions[picked], votes[picked, k])

    def finish(self, L: np.ndarray, need: np.ndarray, faulted: np.ndarray) -> None:
        """Merge every column computed in this apply (and any parts) into its file."""
        for j, fingerprint in enumerate(self.fingerprints):
            if fingerprint is None:
                continue
            fresh = need[:, j] & ~faulted[:, j]  # faulted rows are retried next time
            if fresh.any() or self.cache.has_parts(fingerprint):
                self.cache.store(fingerprint, self.keys, fresh, L[:, j], self.cardinality)
