"""Suggestions for a task's fitted run: what ``labeling suggest`` and ``Session.suggest`` run.

    result = suggest_for_task(task, n=10)            # scored on dev, remembered
    accept(task, "3f2a91bc")                         # -> functions/<task>_suggested.py
    reject(task, "77c0d1e2")                         # never proposed again

The context holds the run's train and dev label matrices (L.parquet, which must be the
task's current LFs': after accepting, `labeling apply` and `labeling fit` first) and dev
gold; the test split is never read.
"""

from __future__ import annotations

import contextlib

import numpy as np
import pandas as pd

from labeling import llm
from labeling.apply import applied, apply_lfs
from labeling.artifacts import LABEL_MODEL_FILE, PROBS_FILE, check_step_order
from labeling.errors import LabelingError
from labeling.lf.core import PatternLF
from labeling.lf.loader import load_lfs
from labeling.models import load as load_label_model
from labeling.pipeline import EMBEDDING_CACHE_DIR, L_FILE, Task
import labeling.suggest.codegen as codegen
from labeling.suggest.context import Context
from labeling.suggest.engine import Result, suggest
from labeling.suggest.llm_source import LLMSource
from labeling.suggest.proposal import Proposal, validate
from labeling.suggest.store import SuggestionStore

SOURCES = ("offline", "llm", "all")


def context_for(task: Task, embeddings: bool = True) -> Context:
    """The suggester's view of a fitted run: train and dev only."""
    cfg = task.config
    if cfg.multi_label:
        raise LabelingError(f"{cfg.source}: suggestions support single-label tasks only")
    path = task.run_dir / L_FILE
    if not path.is_file():
        raise LabelingError(f"{path}: not found; run `labeling apply` and `labeling fit` first")
    table = pd.read_parquet(path)
    names = [lf.name for lf in task.lfs]
    if list(table.columns) != names:
        new = sorted(set(names) - set(table.columns))
        raise LabelingError(f"{path}: holds the votes of other LFs than the task's"
                            f"{' (new: ' + ', '.join(new) + ')' if new else ''}; run "
                            "`labeling apply` and `labeling fit` first")
    # same names are not same votes: an LF edited since the apply, or a fit older than
    # it, would score every proposal against the old votes and the old label model
    applied.check(task, "suggest")
    check_step_order(task.run_dir, [(L_FILE, "apply"), (PROBS_FILE, "fit")], "suggest")
    L, texts, ids = {}, {}, {}
    for split in ("train", "dev"):
        df = task.splits.get(split)
        if df is None:
            raise LabelingError(f"{cfg.source}: suggestions are scored on dev gold; the "
                                "config names no data.dev")
        part = table.xs(split, level="split")
        if list(part.index) != list(df["id"]):
            raise LabelingError(f"{path}: does not match the current {split} data; run "
                                "`labeling apply` again")
        L[split], texts[split], ids[split] = part.to_numpy(), df["text"].tolist(), list(df["id"])
    return Context(labels=list(cfg.labels), texts=texts, L=L, y_dev=task.gold("dev"),
                   lf_names=names, ids=ids,
                   label_model=(cfg.label_model.name, dict(cfg.label_model.params)),
                   chosen=_chosen(task, len(names)),
                   metric="f1" if cfg.positive_label is not None else "accuracy",
                   pos_label=cfg.positive_index, lfs=task.lfs,
                   embed_dir=task.run_dir / EMBEDDING_CACHE_DIR, use_embeddings=embeddings)


def _chosen(task: Task, n_lfs: int) -> str | None:
    """The candidate ``auto`` chose at the last ``labeling fit``, if it fits these LFs
    (saves re-running its choice: up to a minute on 5k rows)."""
    path = task.run_dir / LABEL_MODEL_FILE
    if task.config.label_model.name != "auto" or not path.is_file():
        return None
    try:
        model = load_label_model(path)
    except Exception:  # unreadable or from another version: choose again
        return None
    weights = getattr(model.model_, "weights_", None)
    if weights is not None and len(weights) != n_lfs:
        return None
    return getattr(model, "chosen_", None)


@contextlib.contextmanager
def runtime_for(task: Task, source: str):
    """The task's LLM runtime (its response cache and budget) for an LLM source, else None."""
    if source == "offline":
        yield None
        return
    cfg = task.config
    settings = cfg.llm.model_copy(update={"progress": False})
    with llm.use(settings, labels=cfg.labels, cache_path=cfg.llm_cache_path) as runtime:
        yield runtime


def suggest_for_task(task: Task, n: int = 10, label: str | None = None,
                     source: str = "offline", runtime=None, embeddings: bool = True) -> Result:
    """The ``n`` best proposals for ``task`` (for ``label``), scored on dev, remembered in
    the run folder for accept/reject. ``source``: ``offline``, ``llm`` or ``all``; the LLM
    source needs ``runtime`` (a :class:`labeling.llm.Runtime` with cache and budget)."""
    if source not in SOURCES:
        raise LabelingError(f"--source must be one of {', '.join(SOURCES)}, not {source!r}")
    if n < 1:
        raise LabelingError(f"--n must be at least 1, got {n}")
    if label is not None and label not in task.config.labels:
        raise LabelingError(f"--label {label!r} is not one of the task's labels "
                            f"{task.config.labels}")
    store = SuggestionStore(task.run_dir)
    ctx = context_for(task, embeddings)
    sources = ("offline", "llm") if source == "all" else (source,)
    llm = None
    if "llm" in sources:
        if runtime is None:
            raise LabelingError("LLM suggestions need an LLM runtime (cache and budget); "
                                "`labeling suggest --source llm` opens the task's")
        llm = LLMSource(runtime, n=max(n, 5))
    result = suggest(ctx, n=n, label=label, sources=sources, exclude=store.excluded,
                     llm_source=llm)
    store.remember(result.rows)
    return result


def reject(task: Task, proposal_id: str) -> dict:
    """Remember that ``proposal_id`` (of the last suggestions) is not wanted."""
    return SuggestionStore(task.run_dir).reject(proposal_id)


def accept(task: Task, proposal_id: str) -> tuple[str, str]:
    """Append the proposal's LF to the task's suggested-LF module (created and added to
    the config's ``lfs`` if needed); returns (LF name, module entry). The written module
    is imported back and its LF must vote as the proposal does on dev, else nothing is
    changed."""
    store = SuggestionStore(task.run_dir)
    rec = store.get(proposal_id)
    cfg = task.config
    proposal = validate(Proposal.from_dict(rec["proposal"]), cfg.labels)
    if proposal.id != proposal_id:
        raise LabelingError(f"{store.path}: proposal {proposal_id} was altered; run "
                            "`labeling suggest` again")
    path, entry = codegen.module_path(cfg)
    taken = {lf.name for lf in task.lfs} | _names_in(path, cfg)
    name = codegen.unique_name(proposal, taken)
    block = (codegen.origin(rec, cfg.labels, "f1" if cfg.positive_label else "accuracy")
             + "\n" + codegen.lf_code(proposal, name, cfg.labels))
    old = codegen.append_lf(path, cfg.name, cfg.labels, block)
    try:
        _check_written(path, name, proposal, task)
        codegen.add_to_config(cfg.source, entry)
    except Exception:
        codegen.restore(path, old)
        raise
    store.mark_accepted(proposal_id, name, entry)
    return name, entry


def _names_in(path, cfg) -> set[str]:
    if not path.is_file():
        return set()
    return {lf.name for lf in load_lfs([str(path)], cfg.base_dir)}


def _check_written(path, name: str, proposal: Proposal, task: Task) -> None:
    """Import the written module afresh: the LF ``name`` must exist and vote as the
    proposal's own LF on dev (pattern LFs; a prompt LF must carry the same prompt)."""
    lfs = {lf.name: lf for lf in load_lfs([str(path)], task.config.base_dir)}
    lf, mine = lfs.get(name), proposal.to_lf(name)
    if lf is None:
        raise LabelingError(f"{path}: the written LF {name} did not load")
    if isinstance(mine, PatternLF):
        dev = task.splits["dev"]
        same = np.array_equal(apply_lfs(dev, [lf], task.config.cardinality, cache_dir=None,
                                        progress=False),
                              apply_lfs(dev, [mine], task.config.cardinality, cache_dir=None,
                                        progress=False))
    else:
        same = (lf.template, lf.descriptions, lf.raw_answers) == (
            mine.template, mine.descriptions, mine.raw_answers)
    if not same:
        raise LabelingError(f"{path}: the written LF {name} does not vote as proposed; "
                            "nothing was accepted")
