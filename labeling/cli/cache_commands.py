"""``labeling cache``: what a run folder's caches hold, and ``--prune`` to drop what the
task as it is now can no longer use (docs/lf_cache.md#inspecting-and-pruning).

Why: every LF edit leaves the old fingerprint's column file behind, and every data
refresh leaves the votes and frame keys of rows since removed or edited (and the
embeddings of texts since removed): months of a project grow the caches without bound.
Pruning keeps exactly what the next apply reads, and the embeddings of the texts the
task embeds now; the LLM responses (paid for) are only shown. Showing the caches needs
neither the data nor LF modules that import (a broken one is named under the table).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from labeling.cli.common import CONFIG_ARG, RUN_DIR_OPT, app, holding, open_task, user_errors
from labeling.errors import LabelingError, LFLoadError


def human_size(n: float) -> str:
    """``n`` bytes as ``512 B``, ``1.5 KiB``, ``3.2 MiB``, ``1.1 GiB``."""
    for unit in ("B", "KiB", "MiB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


def _files(*paths: Path) -> list[Path]:
    out = []
    for path in paths:
        if path.is_file():
            out.append(path)
        elif path.is_dir():
            out += [p for p in path.rglob("*") if p.is_file()]
    return out


def _column_dir(task) -> Path:
    """Where apply keeps LF columns: ``cache/lf_columns``; a multi-label task's apply
    keeps them in ``cache`` itself (beside its other caches)."""
    cache = task.run_dir / "cache"
    return cache if task.config.multi_label else cache / "lf_columns"


def _column_files(folder: Path) -> list[Path]:
    return [p for p in folder.glob("*.npz") if p.is_file()] + _files(folder / "frames",
                                                                   folder / "parts")


def _cardinality(task) -> int:
    return 2 if task.config.multi_label else task.config.cardinality


def _fingerprints(task) -> set[str]:
    """The fingerprints of the task's LFs now: the column files the next apply reads."""
    from labeling.apply.fingerprint import NotFingerprintable, lf_fingerprint

    out = set()
    for lf in task.lfs:
        try:
            out.add(lf_fingerprint(lf, _cardinality(task)))
        except NotFingerprintable:  # never cached (apply warns)
            pass
    return out


# what `--prune` says it removed from the LF columns, by kind (cache_prune.prune's counts)
_KINDS = (("columns", "column files"), ("frames", "frame keys"),
          ("parts", "parts of an unfinished apply"), ("temporary", "temporary files"))


def _prune(task, folder: Path) -> dict[str, int]:
    import numpy as np

    from labeling.apply import as_lfs_see_it
    from labeling.apply.cache import ColumnCache, frame_digest
    from labeling.apply.cache_prune import prune

    frames = [as_lfs_see_it(df) for df in task.splits.values() if df is not None]
    cache = ColumnCache(folder)
    rows = np.unique(np.concatenate([cache.frame_keys(df).hashes for df in frames]))
    digests = {d for d in (frame_digest(df) for df in frames) if d is not None}
    return prune(cache, _fingerprints(task), rows, digests, _cardinality(task))


def _embedding_folders(task) -> list[Path]:
    """The run's MiniLM vector caches; the local prompt LFs' one only when it is in the
    run folder: beside a response cache shared by tasks (``[llm] cache_path``) it holds
    other tasks' vectors too."""
    from labeling.artifacts import EMBEDDING_CACHE_DIR  # not pipeline: seconds of imports

    local = task.config.llm_cache_path.parent / "local_embeddings"
    return [task.run_dir / EMBEDDING_CACHE_DIR] + (
        [local] if local.resolve().is_relative_to(task.run_dir.resolve()) else [])


def _prune_embeddings(task) -> list[tuple[Path, dict[str, int]]]:
    """Keep the vectors of what the task embeds now: the texts of the data, and of each
    prompt LF its rows' template columns (labeling.llm.local.row_texts) and descriptions."""
    from labeling.apply import as_lfs_see_it
    from labeling.llm.embedding_cache import prune, text_keys
    from labeling.llm.local import row_texts
    from labeling.llm.multilabel import prompt_lfs

    frames = [as_lfs_see_it(df) for df in task.splits.values() if df is not None]
    texts = {str(t) for df in frames for t in df["text"]}
    for lf in prompt_lfs(task.lfs):
        texts.update(lf.local_descriptions(task.config.labels).values())
        texts.update(t for df in frames if set(lf.fields) <= set(df.columns)
                     for t in row_texts(lf, df))
    keep = set(text_keys(sorted(texts)).tolist())
    return [(folder, prune(folder, keep)) for folder in _embedding_folders(task)
            if folder.is_dir()]


def _without_data(config, run_dir):
    """What showing the caches needs: the config, and the LFs when their modules import
    (``(task, None)``; else ``(task without LFs, the loader's one-line error)``)."""
    from types import SimpleNamespace

    from labeling.config import load_config
    from labeling.lf.loader import load_lfs

    cfg = load_config(config).with_run_dir(run_dir)
    try:
        lfs, error = load_lfs(cfg.lfs, cfg.base_dir, None if cfg.multi_label else cfg.labels), None
    except LFLoadError as exc:
        lfs, error = [], str(exc)
    return SimpleNamespace(config=cfg, run_dir=cfg.run_dir, lfs=lfs), error


def _prune_fits(task) -> tuple[int, int]:
    """Remove the label-model fits written before the last apply (every `labeling dev`
    save that changed a vote added some): the next fit of votes seen before fits again,
    in seconds. Returns files removed and bytes freed."""
    from labeling.artifacts import L_FILE

    applied = task.run_dir / L_FILE
    if not applied.is_file():
        return 0, 0
    since = applied.stat().st_mtime_ns
    old = [p for p in _files(task.run_dir / "cache" / "label_models")
           if p.stat().st_mtime_ns < since]
    freed = sum(p.stat().st_size for p in old)
    for path in old:
        path.unlink()
    return len(old), freed


def _caches(task) -> list[tuple[str, list[Path]]]:
    cache, llm = task.run_dir / "cache", task.config.llm_cache_path
    from labeling.artifacts import EMBEDDING_CACHE_DIR  # not pipeline: seconds of imports

    return [("LF columns", _column_files(_column_dir(task))),
            ("label-model fits", _files(cache / "label_models")),
            ("LLM responses", _files(*(llm.with_name(llm.name + s) for s in ("", "-wal", "-shm")))),
            ("embeddings (local prompt LFs)", _files(llm.parent / "local_embeddings")),
            ("embeddings (end model)", _files(task.run_dir / EMBEDDING_CACHE_DIR))]


def _llm_count(path: Path, prices: dict | None = None) -> str:
    """How many replies the response cache holds and what they cost, per model: the
    ledger of what the task paid over all its runs (metrics.json holds the last run's)."""
    from labeling.llm.cache import ResponseCache, UnreadableCache
    from labeling.llm.plan import price_of

    if not path.is_file():
        return ""
    try:
        cache = ResponseCache(path)
        try:
            models = cache.spend()
        finally:
            cache.close()
        n = sum(m[1] for m in models)
        paid = ", ".join(f"{model} {k:,} ({tokens:,} tokens, "
                         + (f"${cost:.4f})" if price_of(model, prices or {}) is not None or cost
                            else "$? no price)") for model, k, tokens, cost in models)
        return f"{n:,} responses (never pruned: paid for)" + (f": {paid}" if paid else "")
    except UnreadableCache:  # shown here, not raised: this is where one looks
        return "unreadable: not an SQLite database (move it aside to start an empty one)"
    except LabelingError as exc:  # locked past the timeout, cannot open: the file is fine
        why = str(exc).split("LLM response cache: ", 1)[-1]
        who = "another process may be using it; " if "locked" in why else ""
        return f"not counted now ({why}): {who}keep the file and try again"


@app.command("cache")
@user_errors
def cache_command(config: Optional[Path] = CONFIG_ARG,
                  prune: bool = typer.Option(False, "--prune",
                                             help="Remove LF columns (and parts of an "
                                                  "unfinished apply) of LFs edited or removed "
                                                  "since, votes of rows no longer in the "
                                                  "data, label-model fits from before "
                                                  "the last apply and embeddings of texts "
                                                  "no longer in the data."),
                  run_dir: Optional[Path] = RUN_DIR_OPT):
    """What the run folder's caches hold (files, size); --prune drops the LF-column
    cache's entries the task as it is now cannot use (docs/lf_cache.md)."""
    unloaded = None
    if prune:  # which columns to keep is the task's LFs' and data's: both are needed
        try:
            task = open_task(config, run_dir)
        except LFLoadError as exc:
            raise LFLoadError(f"{exc}; --prune keeps the columns of the task's LFs, so "
                              "they must import (`labeling cache` alone shows the caches)"
                              ) from None
    else:
        task, unloaded = _without_data(config, run_dir)
    if not task.run_dir.is_dir():
        typer.echo(f"{task.run_dir}: no run folder yet: nothing cached")
        return
    folder = _column_dir(task)
    if prune:
        with holding(task, "cache"):  # not while an apply writes the columns
            done = _prune(task, folder)
            fits, freed = _prune_fits(task)
            vectors = _prune_embeddings(task)
        kinds = ", ".join(f"{done[k]} {what}" for k, what in _KINDS if done.get(k))
        typer.echo(f"pruned {folder}: {done['removed']} files removed"
                   + (f" ({kinds})" if kinds else "") + f", {done['rewritten']} rewritten "
                   f"without old rows or LFs, {human_size(done['bytes_freed'])} freed")
        if fits:
            typer.echo(f"pruned {task.run_dir / 'cache' / 'label_models'}: {fits} fits from "
                       f"before the last apply removed, {human_size(freed)} freed")
        for where, n in vectors:
            if n["removed"] or n["rewritten"]:
                typer.echo(f"pruned {where}: {n['removed']} files removed, {n['rewritten']} "
                           f"rewritten without texts no longer embedded, "
                           f"{human_size(n['bytes_freed'])} freed")
    total = 0
    for name, files in _caches(task):
        size = sum(p.stat().st_size for p in files)
        total += size
        note = ""
        if name == "LF columns" and files and unloaded:
            note = "LF modules did not import (below): the task's LFs' columns not counted"
        elif name == "LF columns" and files:
            fingerprints = _fingerprints(task)
            columns = [p for p in folder.glob("*.npz") if p.is_file()]
            stale = sum(p.stem not in fingerprints for p in columns)
            note = (f"{len(columns) - stale} of the task's LFs, {stale} of LFs edited or "
                    "removed (or whose labeling code an upgrade changed)")
        elif name == "LLM responses":
            note = _llm_count(task.config.llm_cache_path, task.config.llm.prices)
        typer.echo(f"{name:<30} {len(files):>6} files {human_size(size):>10}  {note}".rstrip())
    typer.echo(f"{'total':<30} {'':>12} {human_size(total):>10}")
    if unloaded:
        typer.echo(f"LF modules: {unloaded}")
    if not prune:
        typer.echo("`labeling cache --prune` removes the LF columns (and unfinished applies' "
                   "parts) of LFs edited or removed, "
                   "the votes of rows no longer in the data, label-model fits from before "
                   "the last apply and the embeddings of texts no longer in the data; "
                   "deleting a cache folder is safe too (the next run recomputes it; LLM "
                   "responses are asked again)")
