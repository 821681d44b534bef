"""What a notebook :class:`labeling.session.Session` watches: the task's own modules and
files, and their modification stamps (a step reloads when one changed since the load)."""

from __future__ import annotations

import functools
import sys
from pathlib import Path


@functools.lru_cache(maxsize=None)
def _resolved(path: str) -> str:
    """``path`` with symlinks resolved, once per process: `labeling dev` asks for every
    loaded module's file (thousands) at each poll, and resolving them all took 0.3-0.5 s
    of each save's answer (and of the idle loop's CPU)."""
    return str(Path(path).resolve())


def user_modules(base_dir: Path) -> list[str]:
    """Names of imported modules whose file lies under ``base_dir`` (the task's own
    helper modules): re-imported on reload, so an edit to a helper takes effect."""
    base = _resolved(str(base_dir)) + "/"
    venv = _resolved(sys.prefix)
    names = []
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if path and _resolved(path).startswith(base) and not _resolved(path).startswith(venv):
            names.append(name)
    return names


def file_stamp(paths) -> dict[str, tuple | None]:
    # size and inode too: an edit within one timestamp tick, or a file copied in keeping
    # its modification time, changes one of them (found in review)
    return {str(p): ((s.st_mtime_ns, s.st_size, s.st_ino) if (s := _stat(p)) else None)
            for p in paths}


def _stat(path):
    return Path(path).stat() if Path(path).is_file() else None
