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
import hashlib
import os
import secrets
import sys
import time
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no run-folder lock
    fcntl = None

from labeling.errors import LabelingError


def file_sha256(path: Path | str) -> str:
    """sha256 of a file's bytes, read in 1 MB blocks (a model file of hundreds of MB is
    never whole in memory)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _describe(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def check_writable(directory: Path) -> None:
    """Create ``directory`` if needed and prove a file can be written in it."""
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        # a new file of an unguessable name (O_EXCL): a fixed name was followed through a
        # link another user of a shared folder planted there, emptying the file it named
        probe = temporary_sibling(directory / ".write-check")
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        probe.unlink()
    except OSError as exc:
        file = file_in_the_way(directory)
        if file is not None:  # mkdir's "File exists" read as a permission problem
            raise LabelingError(f"{directory}: output folder"
                                + ("" if file == directory else f" under {file}, which")
                                + " is a file, not a folder") from None
        raise LabelingError(f"{directory}: output folder is not writable "
                            f"({_describe(exc)})") from None


def file_in_the_way(folder: Path) -> Path | None:
    """``folder`` or the first of its parents that exists as a file, not a folder."""
    return next((p for p in (folder, *folder.parents) if p.exists() and not p.is_dir()),
                None)


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
    try:  # never through a link: another user of a shared run folder may have planted
        # one at .lock, and the holder line below would overwrite the file it names
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
        handle = open(fd, "r+", encoding="utf-8")
    except OSError as exc:
        if path.is_symlink():
            raise LabelingError(f"{path}: is a symbolic link; refusing to write the run "
                                "folder's lock through it (remove it)") from None
        raise LabelingError(f"{path}: could not be opened ({_describe(exc)})") from None
    with handle:
        try:
            _lock_soon(handle)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise LabelingError(f"{directory}: in use by {holder}; run one labeling "
                                "command at a time on a run folder (wait for it, or stop "
                                "it)") from None
        except OSError as exc:  # a file system without locks (NFS without lockd, FUSE)
            sys.stderr.write(f"warning: {path}: cannot be locked ({_describe(exc)}); two "
                             "commands on this run folder at once would not be stopped\n")
            yield
            return
        handle.seek(0)
        handle.truncate()
        handle.write(f"`labeling {command}` (pid {os.getpid()}, since "
                     f"{time.strftime('%Y-%m-%d %H:%M:%S')})\n")
        handle.flush()
        _HELD_LOCKS.add(handle.fileno())
        try:
            yield  # closing the file releases the lock
        finally:
            _HELD_LOCKS.discard(handle.fileno())


def _lock_soon(handle) -> None:
    """flock ``handle`` exclusively, trying again for a moment: where the kernel does not
    list its locks (macOS), :func:`run_folder_holder` looks by taking a shared lock for an
    instant, which a command starting then must not take for a writer's."""
    for attempt in range(5):
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if attempt == 4:
                raise
            time.sleep(0.05)


def run_folder_holder(directory: Path) -> str | None:
    """Who is writing ``directory`` (a run folder) now: its ``.lock`` line (``"`labeling
    run` (pid 4242, since ...)"``), or None when no command holds its lock. Read without
    taking the lock (Linux: ``/proc/locks``), so a command starting at that moment is
    never refused because someone looked (the app asks on every rerun)."""
    path = Path(directory) / LOCK_FILE
    try:
        stat = path.lstat()
    except OSError:
        return None
    if path.is_symlink() or not _flocked(path, stat):
        return None
    try:
        holder = path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        holder = ""
    return holder or "another process"


def _holds(line: str, path: Path, stat: os.stat_result) -> bool:
    """Whether a ``/proc/locks`` line (``1: FLOCK ADVISORY WRITE <pid> <maj:min:inode>
    0 EOF``) is a lock on ``path``: its inode, and its device or else the pid the
    ``.lock`` line names. The device alone missed on btrfs, whose stat() gives a
    subvolume's device and /proc/locks the file system's; on NFS a flock is listed as
    POSIX."""
    parts = line.replace("->", " ").split()
    if not ({"FLOCK", "POSIX"} & set(parts)):
        return False
    device = f"{os.major(stat.st_dev):02x}:{os.minor(stat.st_dev):02x}"
    for pid, where in zip(parts, parts[1:]):
        major_minor, _, inode = where.rpartition(":")
        if inode == str(stat.st_ino) and major_minor.count(":") == 1:
            if major_minor == device:
                return True
            try:
                return f"(pid {pid}," in path.read_text(encoding="utf-8", errors="replace")
            except OSError:
                return False
    return False


def _flocked(path: Path, stat: os.stat_result) -> bool:
    try:
        with open("/proc/locks", encoding="ascii", errors="replace") as locks:
            lines = locks.read().splitlines()
    except OSError:
        lines = None
    if lines is not None:
        return any(_holds(line, path, stat) for line in lines)
    if fcntl is None:
        return False
    try:  # elsewhere (macOS): a shared lock, taken and dropped at once
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(fd)
    return False


# The fds of the run-folder locks this process holds. A forked child (apply --n-jobs)
# shares the lock with its copy of the fd: after a SIGKILL of the parent, orphaned
# workers would hold it until they end. The child points its copy at /dev/null instead
# (not closed: the number stays taken, so no file the child opens can reuse it).
_HELD_LOCKS: set[int] = set()


def _release_in_child() -> None:
    if not _HELD_LOCKS:
        return
    null = os.open(os.devnull, os.O_RDWR)
    for fd in _HELD_LOCKS:
        os.dup2(null, fd)
    os.close(null)
    _HELD_LOCKS.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_release_in_child)
