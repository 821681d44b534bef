"""`labeling cache` with an LF module that does not import (the caches are still shown;
--prune stops with one line naming the module), and --prune on the MiniLM embedding
caches (docs/lf_cache.md#inspecting-and-pruning)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from conftest import DEFAULT_LFS, cli, default_frames, one_error_line  # noqa: E402
from labeling.llm.embedding_cache import DIM, EmbeddingCache, text_keys  # noqa: E402
from labeling.pipeline import load_task, step_apply  # noqa: E402

PROMPT_LF = DEFAULT_LFS + '''
from labeling.llm import prompt_lf

asks = prompt_lf("llm_asks", "Comment {id}: {text}", answers={"yes": SPAM, "no": ABSTAIN},
                 descriptions={"yes": "asks to subscribe", "no": "talks about the song"})
'''


def _applied(make_task, lf_source=DEFAULT_LFS) -> Path:
    config = make_task(lf_source=DEFAULT_LFS)
    step_apply(load_task(config), progress=False)
    (config.parent / "lfs.py").write_text(lf_source, encoding="utf-8")
    return config


def test_the_caches_are_shown_when_an_lf_module_does_not_import(make_task):
    config = _applied(make_task)
    (config.parent / "lfs.py").write_text(DEFAULT_LFS + "\ndef broken(:\n", encoding="utf-8")
    result = cli("cache", config)
    # before: "error: .../lfs.py: failed to import ..." and nothing else, exit status 2
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    columns = next(x for x in lines if x.startswith("LF columns"))
    assert "files" in columns and "did not import" in columns, columns
    assert any(x.startswith("LF modules:") and "lfs.py" in x and "SyntaxError" in x
               for x in lines), result.output


def test_the_caches_are_shown_when_a_data_file_is_missing(make_task):
    config = _applied(make_task)
    (config.parent / "dev.csv").unlink()  # showing sizes needs no data
    result = cli("cache", config)
    assert result.exit_code == 0, result.output
    assert "of the task's LFs" in result.output


def test_prune_with_an_lf_module_that_does_not_import_names_it(make_task):
    config = _applied(make_task)
    (config.parent / "lfs.py").write_text("import no_such_module_h106\n", encoding="utf-8")
    one_error_line(cli("cache", config, "--prune"), "lfs.py", "no_such_module_h106",
                   "`labeling cache` alone shows the caches")


def _vectors(folder: Path, texts: list[str]) -> Path:
    cache = EmbeddingCache(folder, "minilm-test")
    cache.table = {k: np.full(DIM, i, np.float32) for i, k in enumerate(text_keys(texts))}
    cache.save()
    return cache.path


def test_prune_drops_embeddings_of_texts_no_longer_in_the_data(make_task):
    config = _applied(make_task, PROMPT_LF)
    run = config.parent / "run"
    frames = default_frames()
    data = [t for df in frames.values() for t in df["text"]]
    gone = ["a comment deleted in the last refresh", "another one"]
    end_model = _vectors(run / "embedding_cache", data + gone)
    # the local prompt LF embeds its template's columns, joined, and its descriptions
    rows = [f"{i}\n{t}" for df in frames.values() for i, t in zip(df["id"], df["text"])]
    local = _vectors(run / "cache" / "local_embeddings",
                     rows + ["asks to subscribe", "talks about the song"] + gone)
    only_gone = _vectors(run / "embedding_cache" / "old", gone)  # another folder: untouched
    stale_model = EmbeddingCache(run / "embedding_cache", "minilm-old")
    stale_model.table = {k: np.zeros(DIM, np.float32) for k in text_keys(gone)}
    stale_model.save()

    before = EmbeddingCache(end_model.parent, "minilm-test").table
    result = cli("cache", config, "--prune")
    assert result.exit_code == 0, result.output
    # before: both kept every text ever embedded (only LF columns and fits were pruned)
    kept = EmbeddingCache(end_model.parent, "minilm-test").table
    assert set(kept) == set(text_keys(data).tolist())
    key = text_keys([data[3]])[0]
    assert kept[key][0] == before[key][0]  # vectors kept as they were
    local_kept = EmbeddingCache(local.parent, "minilm-test").table
    assert set(local_kept) == set(text_keys(rows + ["asks to subscribe",
                                                    "talks about the song"]).tolist())
    assert not stale_model.path.exists()  # nothing in it is embedded now
    assert only_gone.exists()
    assert f"pruned {run / 'embedding_cache'}: 1 files removed, 1 rewritten" in result.output


def test_a_shared_local_embedding_cache_is_not_pruned(make_task, tmp_path):
    shared = tmp_path / "shared" / "responses.sqlite"
    config = make_task(config={"llm": {"cache_path": str(shared)}})
    step_apply(load_task(config), progress=False)
    other_task = _vectors(shared.parent / "local_embeddings", ["another task's text"])
    assert cli("cache", config, "--prune").exit_code == 0
    assert EmbeddingCache(other_task.parent, "minilm-test").table  # not this task's to drop
