"""An export folder is written whole or not at all.

The files are written into a new sibling folder, which then takes the place of the
target: a failed export (a converter error, a full disk, Ctrl+C) leaves the earlier export
as it was, never a new ``model.skops`` beside an old card. The target is replaced only
when it is new, empty, or an export folder (it holds export files only, and perhaps the
files an OS file browser leaves, such as ``.DS_Store``): a folder holding anything else
(``--out .``) is refused, never deleted.
"""

from __future__ import annotations

import contextlib
import functools
import shutil
from pathlib import Path

from labeling.errors import LabelingError
from labeling.export.card_schema import CARD_FILE, MODEL_FILE, ONNX_FILE
from labeling.export.transformer_runtime import INT8_FILE, TOKENIZER_FILE
from labeling.files import check_writable, temporary_sibling

CARD_MARKDOWN = "MODEL_CARD.md"
EXPORT_FILES = frozenset({MODEL_FILE, ONNX_FILE, INT8_FILE, TOKENIZER_FILE, CARD_FILE,
                          CARD_MARKDOWN})
# Files a file browser writes into any folder it shows (macOS, Windows): replaced with it
OS_METADATA_FILES = frozenset({".ds_store", "thumbs.db", "desktop.ini"})


def _os_metadata(name: str) -> bool:
    return name.lower() in OS_METADATA_FILES or name.startswith("._")


def _foreign(folder: Path) -> list[str]:
    """Names in ``folder`` that no export writes (a leftover of an atomic write of an
    export file, ``model.skops.<pid>.<random>.tmp``, counts as the export's, and an OS
    metadata file as nobody's)."""
    return sorted(p.name for p in folder.iterdir()
                  if p.name not in EXPORT_FILES and not _os_metadata(p.name) and not (
                      p.name.endswith(".tmp") and p.name.rsplit(".", 3)[0] in EXPORT_FILES))


def occupied(folder: Path) -> bool:
    """Whether ``folder`` exists and holds anything but OS metadata files (an export
    would replace it)."""
    folder = Path(folder)
    return folder.is_dir() and any(not _os_metadata(p.name) for p in folder.iterdir())


def check_replaceable(folder: Path) -> None:
    """Refuse, in one line, a target folder an export may not replace."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise LabelingError(f"{folder}: is a file, not a folder; export to a folder")
    if folder.is_dir():
        foreign = _foreign(folder)
        if foreign:
            from labeling.artifacts import METRICS_FILE  # here: predict and serve need not

            more = f" and {len(foreign) - 3} more" if len(foreign) > 3 else ""
            # an earlier export, or a run folder's own model/ (the user chose no folder)
            fix = ("move them out of it" if (folder / CARD_FILE).exists()
                   or (folder.parent / METRICS_FILE).is_file()
                   else "export to a new or empty folder")
            raise LabelingError(
                f"{folder}: holds files that are not an exported model's "
                f"({', '.join(foreign[:3])}{more}); an export replaces its folder whole: "
                f"{fix}")


def check_target(out: Path, own: Path, force: bool) -> None:
    """Refuse, in one line, exporting to ``out`` when it holds an earlier export and
    ``force`` is not set (``own``, the run's model/ folder, is always replaced), and
    always when it holds files that are not an export's (:func:`check_replaceable`)."""
    if occupied(out) and Path(out).resolve() != Path(own).resolve():
        check_replaceable(out)
        if not force:
            raise LabelingError(f"{out}: already holds an export; --force (force=True in "
                                "the notebook) replaces it, or choose another folder")


def whole_folder(write):
    """Decorates ``write(model, out_dir, ...)``, which then writes into a staged folder
    (:func:`staged_folder`) that replaces ``out_dir`` once ``write`` returns; returns
    ``out_dir``."""
    @functools.wraps(write)
    def wrapper(model, out_dir, *args, **kwargs) -> Path:
        with staged_folder(out_dir) as stage:
            write(model, stage, *args, **kwargs)
        return Path(out_dir)
    return wrapper


@contextlib.contextmanager
def staged_folder(out_dir: Path):
    """Yield a new empty folder beside ``out_dir``; when the block ends without error it
    replaces ``out_dir``, else it is removed. Errors naming the staged folder name
    ``out_dir`` instead."""
    out_dir = Path(out_dir)
    target = out_dir.resolve()  # a link to a folder: replace the folder it names
    check_replaceable(target)
    check_writable(target.parent)
    stage = temporary_sibling(target)
    stage.mkdir()
    try:
        try:
            yield stage
        except LabelingError as exc:  # name the folder the user asked for
            exc.args = tuple(a.replace(str(stage), str(out_dir)) if isinstance(a, str) else a
                             for a in exc.args)
            raise
        _replace(stage, target)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _replace(stage: Path, target: Path) -> None:
    """``stage`` takes the name ``target``; an earlier ``target`` goes only once it has."""
    old = None
    try:
        if target.is_dir():
            check_replaceable(target)  # again: a file may have arrived while exporting
            old = temporary_sibling(target)
            target.rename(old)
        stage.rename(target)
    except BaseException as exc:  # also Ctrl+C, and SIGTERM (labeling.cli: an interrupt)
        if old is not None and not target.exists():
            old.rename(target)  # put the earlier export back
            old = None
        if isinstance(exc, OSError):
            raise LabelingError(f"{target}: could not be replaced "
                                f"({exc.strerror or exc})") from None
        raise
    finally:  # the new export is in place: the earlier one goes, even on an interrupt
        if old is not None and target.exists():
            try:
                shutil.rmtree(old, ignore_errors=True)
            finally:  # a Ctrl+C during the removal: it is finished, then the interrupt raised
                shutil.rmtree(old, ignore_errors=True)
