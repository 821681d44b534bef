"""What loading checks about a model folder besides its card's schema: the sha256 of
every file the card lists, the card's own hashes, and the labeling version that
exported it.

Every listed file that is in the folder is hashed, not only the one the runtime reads:
a ``model.onnx`` swapped in beside a ``model.skops`` (or a ``model.skops`` edited in a
folder served with ``--runtime onnx``) is a folder changed after export, and another
runtime would read it. A listed file that is absent is refused only when the runtime
reads it (a folder shipped with ``model.onnx`` alone serves ``--runtime onnx``).

A folder exported by another minor or major version of labeling loads, with one
warning line naming both versions: the card and the model's own types are read as
this version understands them. A model file whose format this version's skops or
onnxruntime cannot read is refused by them, in one line (skops_io, onnx_io).
"""

from __future__ import annotations

import re
import sys
from importlib import metadata
from pathlib import Path

from labeling.errors import ModelLoadError
from labeling.export.card_schema import CARD_FILE, MODEL_FILE
from labeling.export.skops_io import file_sha256

_MAJOR_MINOR = re.compile(r"(\d+)\.(\d+)(?:[.+-]|$)")


def recorded_sha256(card: dict, name: str) -> str | None:
    """The sha256 the card records for the file ``name`` (None: not listed)."""
    expected = card.get("files", {}).get(name)
    if expected is None and name == card.get("model_file", MODEL_FILE):
        expected = card.get("model_sha256")  # cards written before "files"
    return expected


def _changed(path: Path) -> ModelLoadError:
    return ModelLoadError(f"{path}: sha256 differs from {CARD_FILE}; the model file was "
                          "changed after export, or an export into this folder stopped "
                          "before writing its card: export again")


def verify_files(model_dir: Path, card: dict) -> None:
    """Refuse the folder when a file the card lists is present with another sha256."""
    names = dict.fromkeys([*card.get("files", {}), card.get("model_file", MODEL_FILE)])
    for name in names:
        path, expected = Path(model_dir) / name, recorded_sha256(card, name)
        if expected is not None and path.is_file() and file_sha256(path) != expected:
            raise _changed(path)


def checked_file(model_dir: Path, card: dict, name: str) -> Path:
    """``model_dir / name``, a file the runtime reads: present, recorded in the card,
    and matching its sha256 (already compared when ``verify_files`` ran)."""
    path = Path(model_dir) / name
    if not path.is_file():
        raise ModelLoadError(f"{path}: model file not found")
    if recorded_sha256(card, name) is None:
        raise ModelLoadError(f"{path}: {CARD_FILE} records no sha256 for it; refusing to load")
    return path


def _major_minor(version: str) -> tuple[int, int] | None:
    match = _MAJOR_MINOR.match(version.strip())
    return (int(match.group(1)), int(match.group(2))) if match else None


def installed_version() -> str:
    try:
        return metadata.version("labeling")
    except metadata.PackageNotFoundError:
        return "not installed"


def version_warning(card: dict, card_path: Path, current: str | None = None) -> str | None:
    """The warning line for a card exported by another major or minor version of
    labeling than ``current`` (the installed one); None for the same x.y, or a card that
    records no version (written by hand)."""
    exported = (card.get("versions") or {}).get("labeling")
    current = installed_version() if current is None else current
    if not exported or exported == "not installed":
        return None
    theirs, ours = _major_minor(exported), _major_minor(current)
    if theirs is not None and theirs == ours:
        return None
    newer = theirs is not None and ours is not None and theirs > ours
    remedy = (f"install labeling {theirs[0]}.{theirs[1]}" if newer
              else f"export it again with labeling {current}")
    return (f"warning: {card_path}: exported with labeling {exported}, loaded with labeling "
            f"{current}; its answers may differ from the exported model's: check them on "
            f"texts with known labels, or {remedy}")


def warn_other_version(card: dict, card_path: Path) -> None:
    """Print :func:`version_warning`'s line on stderr, when there is one."""
    line = version_warning(card, card_path)
    if line:
        print(line, file=sys.stderr, flush=True)


def onnx_load_error(path: Path, exc: Exception) -> ModelLoadError:
    """onnxruntime's refusal of ``path`` in one line: its reason without the C++ source
    location and function signature it is wrapped in (a file of a newer IR version or
    opset than this onnxruntime reads: install a newer one, or use the skops file)."""
    import onnxruntime as ort

    reason = " ".join(str(exc).split())
    reason = re.sub(r"^\[ONNXRuntimeError\] : \d+ : \w+ : (Load model from .*? failed:)?",
                    "", reason).strip() or reason
    located = re.search(r"\S+\.(?:cc|cpp|h):\d+ ", reason)
    if located:  # "model.cc:256 onnxruntime::Model::Model(...) Unsupported model IR..."
        rest, depth = reason[located.end():], 0
        for i, char in enumerate(rest):
            depth += (char == "(") - (char == ")")
            if char == ")" and depth == 0:
                reason = rest[i + 1:].strip() or reason
                break
    return ModelLoadError(f"{path}: onnxruntime {ort.__version__} cannot load this ONNX "
                          f"file: {reason}")
