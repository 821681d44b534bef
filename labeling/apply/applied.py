"""Which LFs an apply runs, and which LFs the run's label matrix was applied with.

``apply`` records each LF's name and fingerprint in metrics.json (``applied_lfs``);
``fit`` and ``export`` check them against the LFs the task loads now. An LF edited,
added, renamed or removed since the last apply then stops them with one line, instead
of a label model fit on the old votes and a model card listing LFs that were never
applied. A prompt LF is recorded by what its requests are made of
(:func:`prompt_definition`); an LF without a fingerprint is checked by name only.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from pathlib import Path

import pandas as pd

from labeling.apply.fingerprint import NotFingerprintable, lf_fingerprint
from labeling.artifacts import L_FILE, read_label_matrices, read_metrics, update_metrics
from labeling.errors import LabelingError
from labeling.llm.minilm import model_files

# metrics.json: {fingerprint: {"labeling": build, "own": own part, "modules": sha256}}, the
# build of labeling (code_identity) each recorded fingerprint was taken with: a
# fingerprint covers labeling's code too, so an upgrade alone changes it
CODE_KEY = "applied_code"


@functools.lru_cache(maxsize=1)
def code_identity() -> str:
    """This build of labeling: its version and a digest of its package's source files,
    ``0.1.0+3f2a9c1d04be`` (the version number alone stays the same across builds).
    Read once per process."""
    from labeling import __version__

    return f"{__version__}+{source_digest(Path(__file__).resolve().parents[1])[:12]}"


def source_digest(root: Path) -> str:
    """sha256 of the ``.py`` files under ``root``, by path and content."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        for part in (path.relative_to(root).as_posix().encode(), path.read_bytes()):
            digest.update(len(part).to_bytes(8, "little") + part)
    return digest.hexdigest()


def modules_digest(config) -> str:
    """sha256 of the task's LF module files (what a user edits to change an LF)."""
    digest = hashlib.sha256()
    for entry in getattr(config, "lfs", None) or []:
        path = config.resolve(entry)
        digest.update(path.read_bytes() if path.is_file() else str(entry).encode())
    return digest.hexdigest()


def code_records(lfs, fps: dict, config) -> dict[str, dict]:
    """{fingerprint: its :data:`CODE_KEY` entry} for ``lfs`` (fingerprints ``fps``) now;
    prompt LFs and LFs without a fingerprint have none."""
    out, build, modules = {}, code_identity(), None
    for lf in lfs:
        fp = fps.get(lf.name)
        if fp is None or fp.startswith("prompt:"):
            continue
        try:
            own = lf_fingerprint(lf, config.cardinality, own=True)
        except NotFingerprintable:
            own = None
        modules = modules or modules_digest(config)
        out[fp] = {"labeling": build, "own": own, "modules": modules}
    return out


def fingerprints(lfs, config) -> dict[str, str | None]:
    """{LF name: fingerprint or None} for the task ``config`` (a TaskConfig)."""
    out = {}
    for lf in lfs:
        out[lf.name] = prompt_definition(lf, config.cardinality, config.llm, config.labels)
        if out[lf.name] is None:
            try:
                out[lf.name] = lf_fingerprint(lf, config.cardinality)
            except NotFingerprintable:
                pass
    return out


PROMPT_FIELDS = ("template", "raw_answers", "label_descriptions", "descriptions", "model",
                 "params", "system", "many")
# the [llm] settings that shape a prompt LF's answers (not timeouts, retries, budget, cache
# or the key's variable): as written in the config, not resolved from the environment
LLM_ANSWER_SETTINGS = ("backend", "base_url", "model", "params", "structured_output",
                       "local_model", "local_margin")


def prompt_definition(lf, cardinality: int, llm=None, labels=None) -> str | None:
    """A prompt LF's record: a hash of what its requests are made of (the template,
    answers, descriptions, model, params, system message and local margin, and the task's
    ``llm`` settings that shape its answers: the model it falls back to, the backend), so an
    edited question or another model is a changed LF; None for other LFs. Its code reads
    the LLM runtime's lock, which has no fingerprint, and its answers are cached per
    request, not per column. A prompt answering by label name also records the task's
    ``labels`` in their order (a reordered or renamed label moves its votes), and a
    ``local_model`` folder its files (a model retrained in place answers otherwise)."""
    asked = getattr(lf, "prompt_lf", lf)  # a multi-label prompt's column: its prompt's
    if not callable(getattr(lf, "apply_frame", None)) or not isinstance(
            getattr(asked, "template", None), str):
        return None
    settings = {key: getattr(llm, key, None) for key in LLM_ANSWER_SETTINGS} if llm else {}
    fields = {field: getattr(asked, field, None) for field in PROMPT_FIELDS}
    if getattr(asked, "local_margin", None) is not None:
        # only when set (multi-label prompts): every other prompt keeps its fingerprint
        fields["local_margin"] = asked.local_margin
    if labels is not None and _answers_by_name(asked):
        fields["labels"] = [str(name) for name in labels]
    if settings.get("local_model") and settings.get("backend") in ("local", "auto"):
        # only when set: the shipped model's files never change, and the key costs a read
        settings["local_model_files"] = _model_files(settings["local_model"])
    definition = [type(lf).__qualname__, lf.name, cardinality, fields, settings]
    text = json.dumps(definition, sort_keys=True, default=repr, ensure_ascii=False)
    return "prompt:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def _model_files(folder) -> str | None:
    """The local model folder's files by name, size and modification time: read at every
    step's check, so not their content (the embedding cache's key hashes it); a
    model retrained or replaced in place changes them. None when the folder cannot be
    read (apply names it then; a record taken with its files differs, as it should)."""
    try:
        stats = [(name, os.stat(os.path.join(folder, name))) for name in model_files(folder)]
    except OSError:
        return None
    listing = [(name, st.st_size, st.st_mtime_ns) for name, st in stats]
    return hashlib.sha256(json.dumps(listing).encode()).hexdigest()


def _answers_by_name(asked) -> bool:
    """Whether a prompt's votes depend on the task's label names and order: it names
    the labels it answers (``labels={...}``), or an answer votes a label by name."""
    return bool(getattr(asked, "multiclass", False)) or any(
        isinstance(vote, str) for vote in (getattr(asked, "raw_answers", None) or {}).values())


def record(task, applied: list) -> list:
    """Set ``task.applied_lfs`` (what apply records) before applying ``applied``,
    a subset of ``task.lfs`` when only some LFs are re-applied: the others keep what the
    last apply recorded. Taken before the LFs run, as a fresh load sees them. Returns
    ``applied``."""
    metrics = read_metrics(task.run_dir)
    before = metrics.get("applied_lfs") or {}
    now = fingerprints(applied, task.config)
    rest = [lf for lf in task.lfs if lf.name not in now]
    task.unapplied_edits = _edited_since(task, rest, before) if before else []
    task.applied_lfs = {lf.name: now[lf.name] if lf.name in now else before.get(lf.name)
                        for lf in task.lfs}
    # which build took each fingerprint: those of the last record (the apply may still
    # fail) and of the last train (compare) are kept, with this apply's
    keep = {fp for fps in (before, metrics.get("lfs_at_train"), task.applied_lfs)
            if isinstance(fps, dict) for fp in fps.values()}
    known = {fp: e for fp, e in (metrics.get(CODE_KEY) or {}).items() if fp in keep}
    Path(task.run_dir).mkdir(parents=True, exist_ok=True)
    update_metrics(task.run_dir, **{CODE_KEY: known | code_records(applied, now, task.config)})
    return applied


def _edited_since(task, rest: list, recorded: dict) -> list[str]:
    """The LFs of ``rest`` (kept, not re-applied) that are not the ones ``recorded``: their
    old columns stay in L.parquet, and their old fingerprints in the record, so the same
    task's next step would take them for applied (:func:`check`). An LF this task applied
    itself is its loaded code and is not fingerprinted again (a memoizing LF
    fingerprints otherwise once it has run); one it kept edited stays edited."""
    mine = task.applied_lfs or {}
    kept = set(getattr(task, "unapplied_edits", ()))
    unsure = [lf for lf in rest if lf.name in kept or lf.name not in mine
              or lf.name not in recorded or mine[lf.name] != recorded[lf.name]]
    now = fingerprints(unsure, task.config)
    return [name for name, fp in now.items() if name in kept or name not in recorded
            or None not in (fp, recorded[name]) and fp != recorded[name]]


def lfs_to_apply(task, only: list[str] | None):
    """(LFs to apply, the current label matrices to splice them into, or None); their
    fingerprints, as loaded, go to ``task.applied_lfs``."""
    if only is None:
        return record(task, task.lfs), None
    names = [lf.name for lf in task.lfs]
    unknown = [n for n in only if n not in names]
    if unknown:
        raise LabelingError(f"no LF named {', '.join(map(repr, unknown))}; the task's LFs: "
                            f"{', '.join(names)}")
    path = task.run_dir / L_FILE
    table = pd.read_parquet(path) if path.is_file() else None
    # a run from before the record: the other LFs' columns are of unknown (older) code
    if table is None or list(table.columns) != names or read_metrics(
            task.run_dir).get("applied_lfs") is None:
        raise LabelingError(f"{path}: applying some LFs needs a full apply of the current "
                            "LFs first (run `labeling apply`)")
    lfs = record(task, [lf for lf in task.lfs if lf.name in only])
    return lfs, read_label_matrices(task, table)


def differences(recorded: dict, lfs, config, code: dict | None = None,
                llm_used: dict | None = None, now: dict | None = None) -> list[str]:
    """``["changed: a, b", "new: c", "gone: d"]``: how ``lfs`` (of the task ``config``)
    differ from the ``recorded`` {name: fingerprint or None} (None: compared by name
    only); empty when they do not. With ``code`` (the run's :data:`CODE_KEY`), LFs
    that differ through a labeling upgrade are told from edited ones
    (:func:`explain`); with ``llm_used`` (the run's metrics.json ``llm.settings``),
    prompt LFs that differ only by the ``[llm]`` settings say which (:func:`_llm_edit`).
    ``now``: :func:`fingerprints` of ``lfs``, when the caller has them."""
    now = fingerprints(lfs, config) if now is None else now
    changed = [n for n, fp in now.items() if n in recorded
               and None not in (fp, recorded[n]) and fp != recorded[n]]
    parts = [f"changed: {', '.join(changed)}"] if changed else []
    edit = _llm_edit(changed, recorded, lfs, config, llm_used)
    if edit:  # prompt LFs only: none has a code record to tell an upgrade by
        parts = [f"changed: {', '.join(changed)} ({edit})"]
    elif changed and code is not None:
        parts = _told_apart(changed, recorded, [lf for lf in lfs if lf.name in changed],
                            now, config, code)
    return parts + [f"{what}: {', '.join(names)}" for what, names in (
        ("new", [n for n in now if n not in recorded]),
        ("gone", [n for n in recorded if n not in now])) if names]


def _llm_edit(names, recorded: dict, lfs, config, used: dict | None) -> str | None:
    """``"the [llm] model: a -> b"`` when the LFs ``names`` are prompt LFs whose
    ``recorded`` fingerprints are theirs with the ``[llm]`` settings the run ``used``
    (:meth:`LLMSettings.as_asked`): only those settings were edited since; else None."""
    llm = getattr(config, "llm", None)
    if not (names and used and llm):
        return None
    then = llm.as_asked(used)
    keys = [k for k in ("model", "params", "structured_output")
            if getattr(then, k) != getattr(llm, k)]
    by_name = {lf.name: lf for lf in lfs}
    if not keys or any(n not in by_name or prompt_definition(
            by_name[n], config.cardinality, then, config.labels) != recorded[n] for n in names):
        return None
    return "; ".join(f"the [llm] {k}: {getattr(then, k)} -> {getattr(llm, k)}" for k in keys)


def _told_apart(names, recorded: dict, lfs, now: dict, config, code: dict) -> list[str]:
    """:func:`explain` of ``names``, whose ``recorded`` fingerprints are not ``now``'s."""
    records = code_records(lfs, now, config)
    then = {n: code.get(recorded.get(n)) for n in names}
    # a prompt LF has no record: this build's when it was a code LF with one, else none
    return explain(names, then, {n: records.get(now.get(n)) or (
        {"labeling": code_identity()} if then[n] else None) for n in names})


def kept_changed(task, metrics: dict | None = None) -> list[str]:
    """The LFs a partial apply kept with their old votes although they changed since
    (``unapplied_edits``), told apart as :func:`explain` does: an edit, or a labeling
    upgrade (``["labeling was upgraded (x -> y); these LFs' votes may differ: a"]``)."""
    kept = list(getattr(task, "unapplied_edits", None) or [])
    if not kept:
        return []
    metrics = read_metrics(task.run_dir) if metrics is None else metrics
    lfs = [lf for lf in task.lfs if lf.name in kept]
    return _told_apart(kept, metrics.get("applied_lfs") or {}, lfs,
                       fingerprints(lfs, task.config), task.config,
                       metrics.get(CODE_KEY) or {})


def _build(entry) -> str | None:
    return entry.get("labeling") if isinstance(entry, dict) else None


def explain(changed: list[str], then: dict, now: dict, modules_same: bool = False) -> list[str]:
    """The ``changed`` LFs (their fingerprints differ) told apart by the :data:`CODE_KEY`
    entries of ``then`` and ``now`` ({name: entry or None}; None: taken by a build that
    recorded none, older than this record): an LF whose own part (or whose LF modules,
    or ``modules_same``) is the same while labeling's build is not changed with the
    upgrade, not by an edit: ``["labeling was upgraded (x -> y); these LFs' votes may
    differ: a", "changed: b"]``."""
    upgraded, unsure, edited, builds = [], [], [], {}
    for name in changed:
        a, b = then.get(name), now.get(name)
        if _build(a) == _build(b):  # the same build, or neither recorded one
            edited.append(name)
            continue
        builds.setdefault(f"{_build(a) or 'an earlier build'} -> "
                          f"{_build(b) or 'an earlier build'}", None)
        same = modules_same or a and b and any(
            a.get(key) and a.get(key) == b.get(key) for key in ("own", "modules"))
        if same and a and b and a.get("own") and b.get("own") and a["own"] != b["own"]:
            unsure.append(name)  # own part changed, LF modules not: a helper or data file
            continue             # edited, as much as labeling's LF classes (r128)
        (upgraded if same else unsure if not (a and b) else edited).append(name)
    upgrade = f"labeling was upgraded ({', '.join(builds)}); these LFs' votes may differ"
    return [text for text, names in (
        (upgrade, upgraded), (upgrade + " (or they were edited)", unsure),
        ("changed", edited)) if names for text in [f"{text}: {', '.join(names)}"]]


def check(task, step: str) -> None:
    """Stop ``step`` when the task's LFs are not the ones L.parquet was applied with.
    For the task that ran that apply itself, its LFs are the applied ones (and an LF
    memoizing in a global no longer fingerprints as it did before it ran), except those
    its partial apply kept with their old votes after an edit (``unapplied_edits``)."""
    metrics = read_metrics(task.run_dir)
    recorded = metrics.get("applied_lfs")
    if recorded is None:  # a run from before the record (2026-12-06): whose votes it holds
        # cannot be told, and an upgrade changes LFs' votes (keyword_lf's spacing rules)
        if not (Path(task.run_dir) / L_FILE).is_file():
            return  # nothing applied yet: the step's own check says to run apply
        raise LabelingError(f"{Path(task.run_dir) / L_FILE}: applied by an older version "
                            "of labeling, which did not record the LFs it applied (this "
                            "version's LFs may vote otherwise); run `labeling apply` before "
                            f"`labeling {step}`")
    if recorded == task.applied_lfs:  # but those a partial apply kept, changed
        parts = kept_changed(task, metrics)
    else:
        parts = differences(recorded, task.lfs, task.config, metrics.get(CODE_KEY) or {},
                            (metrics.get("llm") or {}).get("settings"))
    if parts:
        what = "; ".join(parts)  # an upgrade alone: no "other LFs", the user's are the same
        if not all(p.startswith("labeling was upgraded") for p in parts):
            what = f"applied with other LFs than the task's now ({what})"
        raise LabelingError(f"{Path(task.run_dir) / L_FILE}: {what}; run `labeling apply` "
                            f"before `labeling {step}`")
