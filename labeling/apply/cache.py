"""The label-matrix cache: per LF fingerprint, the vote for each row content hash.

One ``.npz`` file per fingerprint holds two arrays: row hashes (sorted, unique uint64)
and votes. Keying by row content (not position) means adding rows computes only the
new rows, and editing an LF computes only that LF. While an apply runs, every column
part it finishes (a vectorized column, a chunk of rows) is written at once as a raw
``.npy`` part file under ``parts/``, so a run killed mid-split resumes from there; the
end of the apply merges the parts into the column's file. Files are written to a
temporary name and renamed, so a crash leaves every file either old or new, never torn.

A file that is unreadable or inconsistent (lengths, dtypes, unsorted or duplicate
keys, votes outside the label set) is a miss, as is a cached frame-key file whose
hashes do not match a sample of the frame's rows. Rows where an LF raised
(fault-tolerant mode) are never cached: they are retried. An LF whose inputs cannot be
fingerprinted is not cached at all, and a warning says so once.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import uuid
import warnings
import zipfile
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np
import pandas as pd

from labeling.apply.fingerprint import NotFingerprintable, lf_fingerprint
from labeling.errors import LabelingError
from labeling.lf.core import ABSTAIN

KEY_SAMPLE = 64  # rows of a frame re-hashed to check its cached keys
UNSAVED = -2  # in a part file: the LF has no vote for this row there


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


def row_hashes(df: pd.DataFrame) -> np.ndarray:
    """A uint64 content hash per row (all columns and their names, not the index): pandas
    hashes the values only, so a column renamed in the data (which an LF reading
    ``getattr(x, "author", None)`` then no longer finds) kept every row's key."""
    if len(df) == 0:
        return np.zeros(0, dtype=np.uint64)
    names = hashlib.blake2b(repr([str(c) for c in df.columns]).encode(), digest_size=8)
    salt = np.frombuffer(names.digest(), dtype=np.uint64)[0]
    return pd.util.hash_pandas_object(df, index=False).to_numpy(dtype=np.uint64) ^ salt


def frame_digest(df: pd.DataFrame) -> str | None:
    """A digest of ``df``'s content from its raw Arrow/NumPy buffers (fast: no per-row
    work), or None when a column has no such buffers (object dtype). Equal digests mean
    equal content; equal content stored differently may digest differently, which only
    costs a cache miss."""
    digest = hashlib.blake2b(digest_size=20)
    digest.update(repr([(str(c), str(t)) for c, t in df.dtypes.items()]).encode())
    digest.update(str(len(df)).encode())
    for column in df.columns:
        array = df[column].array
        if hasattr(array, "__arrow_array__"):
            chunked = array.__arrow_array__()
            for chunk in getattr(chunked, "chunks", [chunked]):
                digest.update(f"{chunk.offset}:{len(chunk)}".encode())
                for buffer in chunk.buffers():
                    if buffer is not None:
                        digest.update(memoryview(buffer))
        elif df[column].dtype != object and hasattr(array, "to_numpy"):
            values = np.ascontiguousarray(array.to_numpy())
            if values.dtype.hasobject:  # a category or tz-aware column: Python objects
                return None
            digest.update(values.view(np.uint8))
        else:
            return None
    return digest.hexdigest()


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
    with _written(tmp, path):
        np.savez(tmp, **arrays)
        os.replace(tmp, path)


@contextlib.contextmanager
def _written(tmp: Path, path: Path):
    """A failed write (a full disk) removes its temporary file and stops with one line
    naming the cache file: numpy's OSError names no file."""
    try:
        yield
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise LabelingError(f"{path}: could not be written ({exc.strerror or exc}); free "
                            "disk space (`labeling cache --prune` drops what the task no "
                            "longer uses) or apply with --no-cache") from None


def _valid_votes(stored, cardinality: int, keys_sorted: bool = True):
    """``(hashes, votes)`` as :meth:`ColumnCache.store` (sorted unique keys) or
    :meth:`ColumnCache.append` (``keys_sorted=False``) writes them, or None."""
    if stored is None:
        return None
    hashes, votes = stored
    if (hashes.ndim != 1 or votes.ndim != 1 or len(hashes) != len(votes)
            or hashes.dtype != np.uint64 or votes.dtype.kind != "i"):
        return None
    if keys_sorted and len(hashes) > 1 and not (hashes[1:] > hashes[:-1]).all():
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


def _read_part(path: Path) -> np.ndarray | None:
    """A part file: one record per row, its ``hash`` and one int16 field per
    fingerprint (:data:`UNSAVED` where that LF did not vote); None if unreadable."""
    try:
        part = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError):
        return None
    if not isinstance(part, np.ndarray):  # an .npz under this name
        return None
    names = part.dtype.names or ()
    if part.ndim != 1 or "hash" not in names or part.dtype["hash"] != np.uint64 or any(
            part.dtype[name] != np.int16 for name in names if name != "hash"):
        return None
    return part


def _fingerprints_in(part: np.ndarray) -> set[str]:
    return {name for name in part.dtype.names if name != "hash"}


def _part_votes(part: np.ndarray, fingerprint: str, cardinality: int):
    """The ``(hashes, votes)`` a part holds for ``fingerprint``, or None."""
    if fingerprint not in part.dtype.names:
        return None
    votes = part[fingerprint]
    saved = votes != UNSAVED
    return _valid_votes((part["hash"][saved], votes[saved]), cardinality, keys_sorted=False)


def _write_part(path: Path, hashes: np.ndarray, columns: dict[str, np.ndarray]) -> None:
    """A raw ``.npy`` (no zip: one per chunk must be cheap), written atomically."""
    part = np.empty(len(hashes), dtype=[("hash", "<u8"), *((fp, "<i2") for fp in columns)])
    part["hash"] = hashes
    for fingerprint, votes in columns.items():
        part[fingerprint] = votes
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    with _written(tmp, path):
        with open(tmp, "wb") as out:
            np.save(out, part, allow_pickle=False)
        os.replace(tmp, path)


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

    def parts(self) -> list[tuple[Path, np.ndarray]]:
        """The part files left by applies that have not finished (killed, or running)."""
        found = ((path, _read_part(path)) for path in sorted((self.dir / "parts").glob("*.part.npy")))
        return [(path, part) for path, part in found if part is not None]

    def _known(self, fingerprint: str, cardinality: int, parts):
        """Everything known for ``fingerprint``: its column file and ``parts``."""
        stored = [_part_votes(part, fingerprint, cardinality) for _, part in parts]
        stored.append(_valid_votes(_read(self._path(fingerprint), "hashes", "votes"), cardinality))
        stored = [s for s in stored if s is not None]
        if len(stored) == 1:
            return stored[0]
        return _merge([s[0] for s in stored], [s[1] for s in stored])

    def lookup(self, fingerprint: str, keys: FrameKeys, cardinality: int,
               parts=()) -> tuple[np.ndarray, np.ndarray]:
        """``(votes, found)`` for the rows of ``keys``; ``found`` marks rows the cache
        knew (from the column file or ``parts``, see :meth:`parts`)."""
        votes = np.full(len(keys.hashes), ABSTAIN, dtype=np.int16)
        found = np.zeros(len(keys.hashes), dtype=bool)
        known, known_votes = self._known(fingerprint, cardinality, parts)
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

    def append(self, keys: FrameKeys, rows: np.ndarray, columns: dict[str, np.ndarray]) -> Path:
        """Record, as one part file, the votes of several LFs (by fingerprint; UNSAVED
        where an LF has none) on the rows at positions ``rows``: cheap (no merge), and
        what a killed run leaves for the next one. Returns its path."""
        path = self.dir / "parts" / f"{uuid.uuid4().hex}.part.npy"
        _write_part(path, keys.hashes[rows], columns)
        return path

    def store(self, fingerprint: str, keys: FrameKeys, rows: np.ndarray, votes: np.ndarray,
              cardinality: int, parts=()) -> None:
        """Merge the votes of the rows where ``rows`` is True (``votes`` has one per row
        of the frame), and what ``parts`` hold, into the fingerprint's file, atomically."""
        old_hashes, old_votes = self._known(fingerprint, cardinality, parts)
        merged = _merge([keys.hashes[rows], old_hashes],
                        [np.asarray(votes[rows], np.int16), old_votes])
        _write(self._path(fingerprint), hashes=merged[0], votes=merged[1])


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
        self._leftovers = self.cache.parts()  # usually none: read once, here
        self._written: list[Path] = []  # parts this apply saved: L holds their votes

    def _fingerprint(self, lf) -> str | None:
        try:
            return lf_fingerprint(lf, self.cardinality)
        except NotFingerprintable as exc:
            if (lf.name, str(exc)) not in _warned:
                _warned.add((lf.name, str(exc)))
                warnings.warn(f"LF '{lf.name}' is not cached (recomputed every run): {exc}",
                              UncachedLFWarning, stacklevel=2)
            return None

    def fill(self, L: np.ndarray, need: np.ndarray) -> None:
        """Cached votes into ``L``; ``need`` is cleared where they were found."""
        for j, fingerprint in enumerate(self.fingerprints):
            if fingerprint is None:
                continue
            votes, found = self.cache.lookup(fingerprint, self.keys, self.cardinality,
                                             self._leftovers)
            if found.all():  # the usual re-run: whole columns, no masked copies
                L[:, j], need[:, j] = votes, False
            elif found.any():
                L[found, j] = votes[found]
                need[:, j] = ~found

    def save(self, j: int, rows: np.ndarray, votes: np.ndarray) -> None:
        """Column ``j``'s votes at frame positions ``rows``, just computed."""
        if self.fingerprints[j] is not None and len(rows):
            self._written.append(self.cache.append(self.keys, rows, {self.fingerprints[j]: votes}))

    def save_chunk(self, columns: list[int], positions: np.ndarray, need: np.ndarray,
                   votes: np.ndarray, faulted: np.ndarray) -> None:
        """A chunk of row-wise votes (``votes[i, k]`` for frame row ``positions[i]`` and
        column ``columns[k]``, computed where ``need``), as one part file; faulted rows
        are not saved."""
        saved = {self.fingerprints[j]: np.where(need[:, k] & ~faulted[:, k], votes[:, k], UNSAVED)
                 for k, j in enumerate(columns) if self.fingerprints[j] is not None}
        if saved and len(positions):
            self._written.append(self.cache.append(self.keys, positions, saved))

    def finish(self, L: np.ndarray, need: np.ndarray, faulted: np.ndarray) -> None:
        """Merge every column computed in this apply, and what parts left by an
        unfinished apply hold for these LFs, into the column files; then drop the parts
        (a leftover part also holding other LFs' votes stays for their next apply)."""
        leftover = {fp for _, part in self._leftovers for fp in _fingerprints_in(part)}
        for j, fingerprint in enumerate(self.fingerprints):
            if fingerprint is None:
                continue
            fresh = need[:, j] & ~faulted[:, j]  # faulted rows are retried next time
            if fresh.any() or fingerprint in leftover:
                self.cache.store(fingerprint, self.keys, fresh, L[:, j], self.cardinality,
                                 self._leftovers)
        ours = set(self.fingerprints)
        for path, part in self._leftovers:
            if _fingerprints_in(part) <= ours:
                path.unlink(missing_ok=True)
        for path in self._written:
            path.unlink(missing_ok=True)
