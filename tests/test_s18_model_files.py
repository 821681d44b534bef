"""A local model folder as users keep them (r148's review of h141, session 18): a
dangling symlink (a hub cache's blob removed) or a symlink loop in it is skipped, not a
traceback on every step; a user's own model is embedded without the shipped model's
package; and a file rewritten within the clock's granularity is hashed again, not served
from the memo of its previous content (same size, same times on an older kernel)."""

from __future__ import annotations

import os
import types

import pytest

from labeling.apply.applied import _model_files
from labeling.llm import embedding_cache, minilm
from labeling.llm.errors import LLMError


def _folder(tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (folder / "model.safetensors").write_bytes(b"weights v1")
    return folder


def test_a_dangling_symlink_and_a_loop_are_skipped(tmp_path):
    folder = _folder(tmp_path)
    os.symlink(tmp_path / "gone.bin", folder / "pytorch_model.bin")  # a removed blob
    (folder / "sub").mkdir()
    os.symlink(folder, folder / "sub" / "again")  # a loop back to the top
    assert minilm.model_files(folder) == ["config.json", "model.safetensors"]
    assert minilm.model_digest(folder) and _model_files(folder)


def test_a_users_own_model_needs_no_shipped_package(tmp_path, monkeypatch):
    folder = _folder(tmp_path)
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / f"{embedding_cache.legacy_key(str(folder))}.npz").write_bytes(b"old build")

    def no_package():
        raise LLMError("the local prompt-LF backend needs the model package")

    monkeypatch.setattr(embedding_cache, "default_model_path", no_package)
    assert embedding_cache.store_key(cache, str(folder)) == embedding_cache.model_key(str(folder))
    assert (cache / f"{embedding_cache.legacy_key(str(folder))}.npz").is_file()  # left alone


def test_a_file_just_written_is_hashed_again_even_with_the_same_size_and_times(
        tmp_path, monkeypatch):
    file = tmp_path / "model.safetensors"
    file.write_bytes(b"dense v1")
    real = os.stat(file)
    # a clock of coarse granularity: the rewrite within one tick keeps size, times, inode
    frozen = types.SimpleNamespace(st_size=real.st_size, st_mtime_ns=real.st_mtime_ns,
                                   st_ctime_ns=real.st_ctime_ns, st_ino=real.st_ino)
    real_stat = os.stat
    monkeypatch.setattr(os, "stat", lambda path, *args, **kwargs: frozen if str(path) == str(
        file) else real_stat(path, *args, **kwargs))
    first = minilm.file_sha256(file)
    file.write_bytes(b"dense v2")
    assert minilm.file_sha256(file) != first


def test_an_old_file_is_read_once(tmp_path, monkeypatch):
    file = tmp_path / "model.safetensors"
    file.write_bytes(b"dense v1")
    os.utime(file, (1_000_000_000, 1_000_000_000))  # written long ago
    minilm.file_sha256(file)
    reads = []
    real = minilm.read_sha256
    monkeypatch.setattr(minilm, "read_sha256", lambda path: reads.append(path) or real(path))
    minilm.file_sha256(file)
    assert reads == []
