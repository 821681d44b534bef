"""Loading users' LF modules (``functions/<task>.py``) named in the config."""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import re
import sys
import traceback
from pathlib import Path

from snorkel.labeling import LabelingFunction
from snorkel.slicing import SlicingFunction

from labeling.errors import LFLoadError
from labeling.lf.core import name_part


def _import(entry: str, base_dir: Path):
    if entry.endswith(".py"):
        path = Path(entry) if Path(entry).is_absolute() else base_dir / entry
        if not path.is_file():
            raise LFLoadError(f"{path}: LF module not found")
        # The module may import its helpers from beside it (`from my_words import WORDS`,
        # as a script does) or from the task's folder (`from functions.my_words import
        # ...`); appended, so a helper never shadows the standard library or a package.
        for folder in (str(path.resolve().parent), str(base_dir)):
            if folder not in sys.path:
                sys.path.append(folder)
        # A unique module name per file keeps two tasks' modules apart.
        digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:8]
        spec = importlib.util.spec_from_file_location(f"lfs_{path.stem}_{digest}", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        return module
    if str(base_dir) not in sys.path:
        sys.path.insert(0, str(base_dir))
    return importlib.import_module(entry)


def _module_file(entry: str, base_dir: Path) -> Path | None:
    """The file ``entry`` (a config's ``lfs`` item) is imported from, when it is known."""
    if entry.endswith(".py"):
        return (Path(entry) if Path(entry).is_absolute() else base_dir / entry).resolve()
    try:
        spec = importlib.util.find_spec(entry)
    except Exception:  # noqa: BLE001 (a parent package failing to import again)
        return None
    return Path(spec.origin).resolve() if spec is not None and spec.origin else None


def _same_file(filename: str, path: Path) -> bool:
    try:
        return Path(filename).resolve() == path
    except OSError:
        return False


def lfs_of_module(module, entry: str | None = None) -> list[LabelingFunction]:
    """The module's ``LFS`` list if it defines one, else every LF in definition order:
    its LF variables and the LFs in its top-level lists, tuples and dicts (a family
    built in a loop, ``SPAM_LFS = [keyword_lf(w, ...) for w in WORDS]``, was left out).

    ``entry`` (the config's name for the module) names it in errors.
    """
    if hasattr(module, "LFS"):
        where = entry or module.__name__
        try:
            lfs = list(module.LFS)
        except TypeError:
            raise LFLoadError(f"{where}: LFS is a {type(module.LFS).__name__}, "
                              "not a list of labeling functions") from None
        for i, lf in enumerate(lfs):
            if isinstance(lf, SlicingFunction):  # a LabelingFunction subclass in snorkel
                raise LFLoadError(f"{where}: LFS[{i}] is a slicing function "
                                  f"('{lf.name}', snorkel's @slicing_function), not a "
                                  "labeling function")
            if not isinstance(lf, LabelingFunction):
                hint = " (decorate it with @labeling_function())" if callable(lf) else ""
                raise LFLoadError(f"{where}: LFS[{i}] is a {type(lf).__name__}, "
                                  f"not a labeling function{hint}")
        return lfs
    seen, lfs = set(), []
    for value in vars(module).values():
        items = (value.values() if isinstance(value, dict) else value
                 if isinstance(value, (list, tuple)) else (value,))
        for item in items:
            if (isinstance(item, LabelingFunction) and not isinstance(item, SlicingFunction)
                    and id(item) not in seen):
                seen.add(id(item))
                lfs.append(item)
    return lfs


def load_lfs(entries: list[str], base_dir: Path,
             labels: list[str] | None = None) -> list[LabelingFunction]:
    """Import each module (a ``.py`` path or a dotted name) and collect its LFs (a
    multi-label prompt LF as its label columns). Given a single-label task's ``labels``,
    each module's label constants are checked against them (:func:`check_constants`)."""
    lfs: list[LabelingFunction] = []
    where: dict[str, list[str]] = {}  # LF name -> the modules defining it
    for entry in entries:
        # a file path as the config resolves it: the command may run from another folder
        shown = str(base_dir / entry) if entry.endswith(".py") else entry
        try:
            module = _import(entry, base_dir)
        except LFLoadError:
            raise
        except Exception as exc:
            if isinstance(exc, SyntaxError) and "codec can't decode" in str(exc):
                raise LFLoadError(_not_utf8(exc, shown)) from None
            # the module's own line: not a library's file of the same name (snorkel's
            # preprocess/nlp.py raising for functions/nlp.py's SpacyPreprocessor)
            own = _module_file(entry, base_dir)
            frames = [f for f in traceback.extract_tb(exc.__traceback__)
                      if own is not None and _same_file(f.filename, own)]
            line = f" (line {frames[-1].lineno})" if frames else ""
            raise LFLoadError(f"{shown}: failed to import{line}: "
                              f"{type(exc).__name__}: {exc}") from None
        if labels is not None:
            check_constants(module, labels, shown)
        found = lfs_of_module(module, entry)
        if not found:
            raise LFLoadError(f"{shown}: defines no labeling functions")
        # An LF standing for several L columns (a multi-label prompt LF: one per label)
        # is replaced by its columns.
        columns = [c for lf in found for c in (getattr(lf, "label_columns", None) or [lf])]
        lfs.extend(columns)
        for lf in columns:
            where.setdefault(lf.name, []).append(entry)
    dupes = sorted((name, entries) for name, entries in where.items() if len(entries) > 1)
    if dupes:
        more = f"; and {len(dupes) - 5} more" if len(dupes) > 5 else ""
        raise LFLoadError("LF names must be unique across modules; repeated: "
                          + "; ".join(f"{name} ({_defined_in(entries)})"
                                      for name, entries in dupes[:5]) + more
                          + "; give each LF its own name (name=f\"...\" in a loop)")
    return lfs


def check_constants(module, labels: list[str], where: str) -> None:
    """A module's label constants must be the labels' positions: snorkel code carries
    ``HAM, SPAM = 0, 1``, and a config listing ``["spam", "ham"]`` would swap the classes
    without a word. A constant is an upper-case module name spelling a label
    (``NOT_SPAM`` for "not spam") bound to another label's position."""
    spelled = [name_part(label).upper() for label in labels]
    # a name two labels spell ("ok" and "OK") says nothing: labeling init and suggest
    # give those labels other constants (OK_0, LABEL_1)
    position = {name: k for k, name in enumerate(spelled) if spelled.count(name) == 1}
    for name, value in vars(module).items():
        k = position.get(name)
        if (k is not None and type(value) is int and 0 <= value < len(labels)
                and value != k):
            raise LFLoadError(f"{where}: {name} = {value}, but '{labels[k]}' is label {k} "
                              f"in labeling.toml's labels {labels}: LFs voting {name} would "
                              f"vote '{labels[value]}'; set {name} = {k} (a vote is a "
                              "position in labels)")


def _not_utf8(exc: SyntaxError, entry: str) -> str:
    """A module saved in another encoding (a Windows editor's cp1252 "ß" is byte 0xdf)."""
    byte = re.search(r"byte (0x[0-9a-f]{2})", str(exc))
    return (f"{exc.filename or entry}: line {exc.lineno}: not valid UTF-8"
            f"{f' (byte {byte.group(1)})' if byte else ''}: Python reads LF modules as "
            "UTF-8; save it as UTF-8")


def _defined_in(entries: list[str]) -> str:
    """``a.py, 2 times`` or ``a.py and b.py``: where a repeated LF name comes from."""
    if len(set(entries)) == 1:
        return f"{entries[0]}, {len(entries)} times"
    return " and ".join(entries)
