"""The run folder's artifacts: metrics.json (merged, never overwritten), the label
matrix L.parquet, the label model's probs.parquet and the end model's end_probs.parquet,
read back checked against the task's current data. ``task`` arguments are loaded tasks (:class:`labeling.pipeline.Task`).
"""

from __future__ import annotations

import functools
import hashlib
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from labeling.data import leakage_report, leakage_warnings
from labeling.errors import LabelingError
from labeling.files import atomic_write, file_sha256
from labeling.lf.core import as_lfs_see_it

L_FILE, PROBS_FILE, METRICS_FILE = "L.parquet", "probs.parquet", "metrics.json"
END_PROBS_FILE = "end_probs.parquet"  # written with end_model.skops by `labeling train`
ANNOTATIONS_USED_FILE = "annotations_used.json"
LABEL_MODEL_FILE = "label_model.json"  # the fitted label model, written by fit
EMBEDDING_CACHE_DIR = "embedding_cache"  # the end model's MiniLM vectors by text hash


def read_metrics(run_dir: Path) -> dict:
    """metrics.json, or ``{}`` before the first step; a damaged one (a bad copy, an edit
    by hand) stops with one line naming it, not a JSON traceback from every step."""
    path = Path(run_dir) / METRICS_FILE
    if not path.is_file():
        return {}
    try:
        metrics = json.loads(path.read_text(encoding="utf-8"))
        reason = None if isinstance(metrics, dict) else "not a JSON object"
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
        reason = str(exc)
    if reason:
        raise LabelingError(f"{path}: not a readable metrics file ({reason}); move it aside "
                            "and run `labeling run` again (every step records its part "
                            "there)")
    return metrics


def read_lf_summary(path: Path) -> pd.DataFrame:
    """``lf_summary.csv``, index ``lf``. LF names and ``polarity`` (the label names an LF
    votes) stay strings: labels named "1", "2" would otherwise read as floats 1.0, 2.0."""
    return pd.read_csv(path, index_col="lf", dtype={"lf": str, "polarity": str})


def update_metrics(run_dir: Path, **sections) -> dict:
    metrics = read_metrics(run_dir) | sections
    with atomic_write(Path(run_dir) / METRICS_FILE) as tmp:
        tmp.write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    return metrics


def leakage_section(task) -> dict:
    """metrics.json's ``leakage`` (dev or test rows also in an earlier split inflate its
    scores): ``pairs``, ``warnings`` and the digest of every split's ids and texts, so
    that an apply while the data stay the same (every save in `labeling dev`) reuses the
    recorded report: a hash takes ~0.07 s on 74k train rows, the report ~2 s."""
    digest = hashlib.sha256()
    for split, df in task.splits.items():
        if df is not None:
            digest.update(split.encode())
            digest.update(pd.util.hash_pandas_object(df[["id", "text"]].astype(str),
                                                     index=False).to_numpy().tobytes())
    recorded = read_metrics(task.run_dir).get("leakage") or {}
    if recorded.get("data_sha256") == digest.hexdigest():
        return recorded
    report = leakage_report(task.splits)
    return {"pairs": report, "warnings": leakage_warnings(report),
            "data_sha256": digest.hexdigest()}


def record_annotations(task) -> None:
    """The annotations merged into the gold a step scored against: the app rebuilds the
    run's splits from them (apply, and fit and train, which read the annotations anew)."""
    with atomic_write(task.run_dir / ANNOTATIONS_USED_FILE) as tmp:
        tmp.write_text(json.dumps(task.annotation_gold), encoding="utf-8")
    data = read_metrics(task.run_dir).get("data") or {}
    if "dev" in data and data["dev"].get("annotations") != task.annotation_report:
        # what `report` warns about (annotations not used) is this step's, not apply's
        data["dev"]["annotations"] = task.annotation_report
        update_metrics(task.run_dir, data=data)


def gold_digests(task) -> dict[str, str]:
    """sha256 of each split's gold (dev with the annotations merged in, test), as the
    step that reads it sees it: recorded by ``fit`` and ``train`` so that ``evaluate``
    never reprints scores computed against gold since corrected."""
    out = {}
    for split in ("dev", "test"):
        gold = task.gold(split)
        if gold is not None:  # multi-label: tuples of class indices, one per row
            data = (json.dumps([list(map(int, s)) for s in gold]).encode()
                    if task.config.multi_label else np.asarray(gold, dtype=np.int64).tobytes())
            out[split] = hashlib.sha256(data).hexdigest()
    return out


def check_gold_unchanged(task, metrics: dict) -> None:
    """Stop when a split's gold differs from the one ``fit`` or ``train`` scored against
    (a label corrected in the file, or an annotation): their scores are the old gold's."""
    current = gold_digests(task)
    for key, step in (("gold_at_fit", "fit"), ("gold_at_train", "train")):
        recorded = metrics.get(key) or {}  # absent: a run from before the record
        changed = [s for s in recorded if current.get(s) != recorded[s]]
        if changed and changed[0] == "dev" and _annotated_since(task):  # in the app
            raise LabelingError(f"{task.config.annotations_path}: annotations given since "
                                f"the last `labeling {step}` change the dev gold, and its "
                                f"scores are the old gold's; run `labeling {step}` again "
                                "(or `labeling run`)")
        if changed:
            path = task.config.resolve(getattr(task.config.data, changed[0]))
            raise LabelingError(f"{path}: the {changed[0]} gold changed since the last "
                                f"`labeling {step}`, whose scores are the old gold's; run "
                                f"`labeling {step}` again (or `labeling run`)")


def check_annotations_unchanged(task, metrics: dict) -> None:
    """For a run from before ``fit`` and ``train`` recorded their gold (2026-12-06), which
    :func:`check_gold_unchanged` cannot check: stop when the annotations the next run
    would merge into dev are not the ones its ``annotations_used.json`` records (given in
    the app since), as the scores on disk are the old gold's. ``task``: loaded with its
    annotations (:func:`labeling.pipeline.load_task`)."""
    if metrics.get("gold_at_fit") or metrics.get("gold_at_train"):
        return
    if _annotated_since(task):
        raise LabelingError(f"{task.config.annotations_path}: annotations given since the "
                            "run's last fit change its dev gold, and its scores are the old "
                            "gold's; run `labeling fit` and `labeling train` again (or "
                            "`labeling run`)")


def _annotated_since(task) -> bool:
    """Whether the annotations ``task`` merged into dev are not the ones the run's
    ``annotations_used.json`` records (given in the app since its last step); False
    when there is no record, or one this cannot compare (unreadable, or from before
    annotations were keyed by split: reading it says what to run)."""
    path = Path(task.run_dir) / ANNOTATIONS_USED_FILE
    try:
        used = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(used, dict) or any(not isinstance(v, dict) for v in used.values()):
        return False
    now = json.loads(json.dumps(task.annotation_gold))  # ids as JSON keys, as recorded
    return {s: v for s, v in used.items() if v} != {s: v for s, v in now.items() if v}


def metrics_to_evaluate(task, end_model_file: str, stale_note: str) -> dict:
    """metrics.json as ``evaluate`` (the CLI's and the notebook's) reprints it: refused
    when the gold changed since the scores were computed, and the end model marked
    ``stale`` (``stale_note``) when ``end_model_file`` was made from another fit than the
    last, which runs from older versions did not mark."""
    metrics = read_metrics(task.run_dir)
    check_gold_unchanged(task, metrics)
    check_annotations_unchanged(task, metrics)  # a run from before the gold was recorded
    end = metrics.get("end_model")
    if end and not end.get("stale") and made_from_another(task.run_dir, PROBS_FILE,
                                                          end_model_file):
        metrics["end_model"] = end | {"stale": stale_note}
    return metrics


def check_dev_gold_at_fit(task, step: str) -> None:
    """Stop ``step`` (train) when the dev gold changed since the fit whose probabilities
    it would learn from: it would train on the old gold's label model, and ``evaluate``
    would then refuse its scores."""
    recorded = (read_metrics(task.run_dir).get("gold_at_fit") or {}).get("dev")
    if recorded is not None and recorded != gold_digests(task).get("dev"):
        where = (task.config.annotations_path if _annotated_since(task)  # in the app
                 else task.config.resolve(task.config.data.dev))
        raise LabelingError(f"{where}: the dev gold changed since the last fit, whose "
                            f"probabilities {step} would learn from; run `labeling fit` "
                            f"before `labeling {step}`")


def _write_table(frame: pd.DataFrame, path: Path) -> None:
    with atomic_write(path) as tmp:
        if path.suffix == ".parquet":
            frame.to_parquet(tmp)
        else:
            frame.to_csv(tmp)


def _require(task, name: str, step: str) -> Path:
    path = task.run_dir / name
    if not path.is_file():
        raise LabelingError(f"{path}: not found; run `labeling {step}` first")
    return path


def read_table(task, name: str, step: str) -> pd.DataFrame:
    """The run's Parquet file ``name``, written by ``labeling step``: missing or damaged
    (cut short by a full disk, a bad copy), one line naming it and the step to run."""
    path = _require(task, name, step)
    try:
        return pd.read_parquet(path)
    except (ValueError, OSError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        reason = " ".join(str(exc).split()).replace(f"'{path}'", "").replace(f"{path}", "")
        raise LabelingError(f"{path}: unreadable ({reason[:160]}); run `labeling {step}` "
                            "again") from None


def input_digests(run_dir, names: list[str]) -> dict[str, str]:
    """sha256 of the files ``names`` of ``run_dir`` a step is about to read: taken before
    reading, so that a file rewritten meanwhile (a refit in the app during a train) is
    recorded as the version the step did not read, and the next check refuses."""
    run_dir = Path(run_dir)
    return {name: file_sha256(run_dir / name) for name in names if (run_dir / name).is_file()}


def record_inputs(run_dir, output: str, inputs: dict[str, str]) -> None:
    """After a step wrote ``output`` (a path in ``run_dir``) from the files whose
    :func:`input_digests` are ``inputs``, record them with the output's own sha256
    (metrics.json's ``inputs_sha256``), for :func:`check_step_order`."""
    run_dir = Path(run_dir)
    lineage = read_metrics(run_dir).get("inputs_sha256") or {}
    lineage[output] = {output: file_sha256(run_dir / output), **inputs}
    update_metrics(run_dir, inputs_sha256=lineage)


def record_export(run_dir, out_dir, model_dir: str, inputs: dict[str, str]) -> None:
    """After an export to the run's own ``model_dir`` (the folder ``labeling report``
    reads), record the trained model file its card was made from (``inputs``)."""
    run_dir = Path(run_dir)
    if Path(out_dir).resolve() == (run_dir / model_dir).resolve():
        record_inputs(run_dir, f"{model_dir}/model_card.json", inputs)


def _made_from_another(run_dir: Path, earlier: str, later: str, lineage: dict) -> bool:
    """``later`` was made from another ``earlier`` than the one on disk. By content where
    the step that wrote ``later`` recorded its inputs (and ``later`` is still the file it
    wrote): a run folder copied or checked out gets new modification times in any order,
    and an apply that rewrote the same votes leaves the fit valid. Otherwise (runs from
    before the record) by modification time."""
    a, b = run_dir / earlier, run_dir / later
    recorded = lineage.get(later) or {}
    if earlier in recorded and recorded.get(later) == file_sha256(b):
        return recorded[earlier] != file_sha256(a)
    return b.stat().st_mtime_ns < a.stat().st_mtime_ns


def made_from_another(run_dir, earlier: str, later: str) -> bool:
    """Whether the file ``later`` of ``run_dir`` was made from another ``earlier`` than the
    one there now (both present): ``evaluate`` marks an end model stale so, as runs from
    before ``fit`` marked it in metrics.json (2026-12-02) do not say."""
    run_dir = Path(run_dir)
    if not ((run_dir / earlier).is_file() and (run_dir / later).is_file()):
        return False
    lineage = read_metrics(run_dir).get("inputs_sha256") or {}
    return _made_from_another(run_dir, earlier, later, lineage)


def check_step_order(run_dir, chain: list[tuple[str, str]], step: str) -> None:
    """Stop ``step`` when a file of ``chain`` (``(file name, the command writing it)``,
    in pipeline order) was made from another version of the one before it: the step that
    wrote it ran on what the earlier step wrote before its last run (``labeling train``
    after an apply that changed the votes and no fit would train on the old votes'
    probabilities)."""
    run_dir = Path(run_dir)
    lineage = read_metrics(run_dir).get("inputs_sha256") or {}
    for (earlier, earlier_step), (later, later_step) in zip(chain, chain[1:]):
        if not ((run_dir / earlier).is_file() and (run_dir / later).is_file()):
            continue
        if _made_from_another(run_dir, earlier, later, lineage):
            raise LabelingError(f"{run_dir / later}: older than the last `labeling "
                                f"{earlier_step}`; run `labeling {later_step}` before "
                                f"`labeling {step}`")


def rows_digests(task) -> dict[str, str]:
    """sha256 of each split's rows as the LFs see them (every column but the gold label,
    and the columns' names), recorded by apply (metrics.json's ``rows_at_apply``): ids
    alone do not tell that a row's text was edited under the same id, and its votes are
    the old text's; pandas hashes values only, so a column renamed in the data (which an
    LF reading ``getattr(x, "author", None)`` no longer finds) needs its name hashed too."""
    # kept on the task per frame object: ~3.7 s on 500k rows, and every step reading the
    # votes checks them (the LF loop twice per save)
    memo = task.__dict__.setdefault("_rows_digests", {})
    out = {}
    for split, df in task.splits.items():
        if df is None:
            continue
        if split not in memo or memo[split][0] is not df:
            seen = as_lfs_see_it(df).astype(str)
            digest = hashlib.sha256(repr([str(c) for c in seen.columns]).encode())
            digest.update(pd.util.hash_pandas_object(seen, index=False).to_numpy().tobytes())
            memo[split] = (df, digest.hexdigest())
        out[split] = memo[split][1]
    return out


def read_label_matrices(task, table: pd.DataFrame | None = None) -> dict[str, np.ndarray]:
    """L per split from L.parquet (or its already read ``table``), checked against the
    current data: its ids, and its rows' content where the apply recorded it."""
    if table is None:
        table = read_table(task, L_FILE, "apply")
    applied_rows = read_metrics(task.run_dir).get("rows_at_apply") or {}
    now = rows_digests(task) if applied_rows else {}
    matrices = {}
    for split, df in task.splits.items():
        if df is None:
            continue
        part = table.xs(split, level="split") if split in table.index.get_level_values("split") else None
        if part is None or list(part.index) != list(df["id"]):
            raise LabelingError(f"{task.run_dir / L_FILE}: does not match the current {split} "
                                "data; run `labeling apply` again")
        if split in applied_rows and applied_rows[split] != now[split]:
            raise LabelingError(f"{task.run_dir / L_FILE}: a {split} row's text (or another "
                                "field, or a column's name) changed since the apply; run "
                                "`labeling apply` again")
        matrices[split] = part.to_numpy()
    return matrices


def read_probs(task, split: str = "train") -> pd.DataFrame:
    table = read_table(task, PROBS_FILE, "fit")
    part = table.xs(split, level="split")
    if list(part.index) != list(task.splits[split]["id"]):
        raise LabelingError(f"{task.run_dir / PROBS_FILE}: does not match the current {split} "
                            "data (rows added, removed or moved since the apply); run `labeling "
                            "apply` and `labeling fit` again")
    return part


def write_end_probs(run_dir: Path, labels: list[str], frames: dict, proba: dict) -> None:
    """The end model's probabilities on every split, indexed by (split, id): the app shows
    them instead of predicting every row again (MiniLM embeddings take minutes on 5k+
    rows)."""
    parts = [pd.DataFrame(p, columns=[f"p_{name}" for name in labels],
                          index=pd.MultiIndex.from_arrays(
                              [[split] * len(p), list(frames[split]["id"])],
                              names=["split", "id"]))
             for split, p in proba.items()]
    _write_table(pd.concat(parts), Path(run_dir) / END_PROBS_FILE)
    update_metrics(run_dir, end_probs_texts={split: _texts_digest(frames[split])
                                             for split in proba if "text" in frames[split]})


def _texts_digest(frame: pd.DataFrame) -> str:
    return hashlib.sha256(pd.util.hash_pandas_object(
        frame["text"].astype(str), index=False).to_numpy().tobytes()).hexdigest()


def read_end_probs(run_dir: Path, labels: list[str], frames: dict) -> dict | None:
    """Split -> (rows x classes) end-model probabilities as ``labeling train`` stored them,
    or None when the file is missing or does not match ``frames`` (other ids, labels or
    splits, or a text edited under the same id since: metrics.json's
    ``end_probs_texts``): the caller then predicts instead of showing something stale."""
    path = Path(run_dir) / END_PROBS_FILE
    if not path.is_file():
        return None
    table = pd.read_parquet(path)
    columns = [f"p_{name}" for name in labels]
    if list(table.columns) != columns:
        return None
    texts = read_metrics(run_dir).get("end_probs_texts") or {}  # absent: an older run
    out = {}
    for split, frame in frames.items():
        if split not in table.index.get_level_values("split"):
            return None
        part = table.xs(split, level="split")
        if list(part.index) != list(frame["id"]):
            return None
        if split in texts and "text" in frame and texts[split] != _texts_digest(frame):
            return None
        out[split] = part.to_numpy()
    return out


def timed(step: str):
    """Record a step's wall-clock seconds in metrics.json (``timings_s``) when it succeeds."""

    def decorate(function):
        @functools.wraps(function)
        def wrapper(task, *args, **kwargs):
            start = time.perf_counter()
            result = function(task, *args, **kwargs)
            seconds = round(time.perf_counter() - start, 3)
            timings = read_metrics(task.run_dir).get("timings_s", {})
            update_metrics(task.run_dir, timings_s=timings | {step: seconds})
            return result

        return wrapper

    return decorate
