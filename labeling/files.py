"""Writing run artifacts: atomically, and failing with one line that names the path.

A run is minutes of work; a read-only folder or a full disk must not surface as a
traceback after all of it, nor leave a half-written file behind. So every step checks
its output folder first (:func:`check_writable`), and every artifact is written to a
temporary sibling that replaces the target only when complete (:func:`atomic_write`).

>>> import tempfile, pathlib
>>> out = pathlib.Path(tempfile.mkdtemp()) / "run"
>>> check_writable(out)
>>> with atomic_write(out / "a.txt") as tmp:
...     _ = tmp.write_text("done")
>>> (out / "a.txt").read_text(), sorted(p.name for p in out.iterdir())
('done', ['a.txt'])
"""

from __future__ import annotations

import contextlib
import os
import secrets
import time
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no run-folder lock
    fcntl = None

from labeling.errors import LabelingError


def _describe(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def check_writable(directory: Path) -> None:
    """Create ``directory`` if needed and prove a file can be written in it."""
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        probe = directory / f".write-check-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise LabelingError(f"{directory}: output folder is not writable "
                            f"({_describe(exc)})") from None


def temporary_sibling(path: Path) -> Path:
    """A temporary name next to ``path``, unique to this write: two processes writing
    the same file (``labeling dev`` and ``labeling fit`` on one run folder, filling the
    same cache entry) must not write into, or rename away, each other's file."""
    return path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")


@contextlib.contextmanager
def atomic_write(path: Path):
    """Yield a temporary path next to ``path``; on success it replaces ``path``.
    On any error the temporary file is removed; an OSError becomes a LabelingError
    naming ``path``."""
    path = Path(path)
    tmp = temporary_sibling(path)
    try:
        yield tmp
        tmp.replace(path)
    except OSError as exc:
        raise LabelingError(f"{path}: could not be written ({_describe(exc)})") from None
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


LOCK_FILE = ".lock"


@contextlib.contextmanager
def run_folder_lock(directory: Path, command: str, create: bool = True):
    """Hold ``directory`` (a run folder) for one command that writes it, or stop with one
    line naming the process that holds it: two commands on one run folder (a nightly
    ``labeling run`` still going when the next starts) interleave their steps, each
    reading what the other half-wrote. An OS lock (flock), so a process killed in any
    way leaves no stale lock behind; ``.lock`` keeps the holder's pid and command.
    ``create=False``: a missing folder is not created (nor locked)."""
    directory = Path(directory)
    if not create and not directory.is_dir():
        yield
        return
    check_writable(directory)
    if fcntl is None:
        yield
        return
    path = directory / LOCK_FILE
    try:
        handle = open(path, "a+", encoding="utf-8")
    except OSError as exc:
        raise LabelingError(f"{path}: could not be opened ({_describe(exc)})") from None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise LabelingError(f"{directory}: in use by {holder}; run one labeling "
                                "command at a time on a run folder (wait for it, or stop "
                                "it)") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"`labeling {command}` (pid {os.getpid()}, since "
                     f"{time.strftime('%Y-%m-%d %H:%M:%S')})\n")
        handle.flush()
        yield  # closing the file releases the lock
