"""Apply labeling functions to a DataFrame, giving the label matrix ``L``.

``L`` has one row per example and one column per LF (in the order given), holding a
class index or -1 for abstain, as int8 (int16 beyond 127 classes). It equals what
snorkel's ``PandasLFApplier`` gives, faster:

- keyword/regex LFs run over the whole column at once;
- LFs with ``apply_frame(df)`` (prompt LFs) label the whole frame in one call;
- other LFs are called on lightweight rows (:class:`~labeling.apply.rows.Row`), in
  this process or, with ``n_jobs > 1``, in forked worker processes; spaCy docs are
  parsed in batches and shared across LFs;
- with ``cache_dir``, each LF's votes are cached per row content under the LF's
  fingerprint: editing one LF recomputes one column, new rows only are computed; each
  chunk's votes are saved as soon as computed, so a killed run resumes. Each LF is
  called on its own refilled Row (``rows.label_each``): what an LF does to its row
  never reaches another LF, so a column's votes are the same whichever LFs run.

An LF that raises stops the run with an :class:`LFError` naming the LF and the row,
unless ``fault_tolerant=True``: then it abstains there and the faults are counted.
The error is also an instance of the LF's exception class (``except ValueError``
still catches an LF's ValueError, as with snorkel). An LF returning something other
than -1 or a class index always stops the run. The gold column (``label``) is dropped
before any LF sees a row. A row taking long, and Ctrl+C, are reported with the LF and
row (:mod:`labeling.apply.watch`).

>>> import pandas as pd
>>> from labeling.lf import keyword_lf, labeling_function
>>> @labeling_function()
... def short(x):
...     return 0 if len(x.text) < 10 else -1
>>> df = pd.DataFrame({"id": ["a", "b"], "text": ["nice", "subscribe to my channel"]})
>>> apply_lfs(df, [keyword_lf("subscribe", label=1), short], cardinality=2).tolist()
[[-1, 0], [1, -1]]
"""

from __future__ import annotations

import multiprocessing
import signal
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
from snorkel.labeling import LabelingFunction
from tqdm.auto import tqdm

from labeling.apply.cache import CachedColumns
from labeling.apply.row_labeler import CHUNK, label_rows
from labeling.apply.votes import FaultLog, RowNames, check_vote, matrix_dtype
from labeling.apply.watch import Watch
from labeling.errors import LFError
from labeling.lf.core import (ABSTAIN, GOLD_COLUMN, GOLD_HIDDEN, PatternLF, TextColumn,
                              as_lfs_see_it)

ENGINES = ("local", "dask")


def _is_vectorizable(lf) -> bool:
    return isinstance(lf, PatternLF) and not lf._pre


def _is_batch_lf(lf) -> bool:
    """LFs that label a whole DataFrame at once (prompt LFs: batched, asynchronous calls)."""
    return callable(getattr(lf, "apply_frame", None))


_FORKED: dict = {}  # state inherited by forked workers (user LFs need not be picklable)


def _ignore_interrupts() -> None:
    """Workers leave Ctrl+C to the parent, which ends them: no traceback per worker."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _label_rows_forked(bounds):
    start, stop = bounds
    s = _FORKED
    with Watch(RowNames(s["df"], s["split"]), s["split"]) as watch:  # says if a row hangs
        return label_rows(s["df"], s["positions"][start:stop], s["row_lfs"],
                          s["need"][start:stop], s["cardinality"], s["fault_tolerant"],
                          s["split"], watch=watch)


def _label_rows_parallel(df, positions, row_lfs, need, cardinality, fault_tolerant, split,
                         n_jobs, progress, on_chunk=None):
    bounds = [(s, min(s + CHUNK, len(positions))) for s in range(0, len(positions), CHUNK)]
    _FORKED.update(df=df, positions=positions, row_lfs=row_lfs, need=need,
                   cardinality=cardinality, fault_tolerant=fault_tolerant, split=split)
    try:
        with multiprocessing.get_context("fork").Pool(n_jobs, _ignore_interrupts) as pool:
            parts = []
            for (start, stop), part in zip(bounds, pool.imap(_label_rows_forked, bounds)):
                parts.append(part)
                if on_chunk is not None:
                    on_chunk(start, stop, part[0], part[1])
                if progress is not None:
                    progress.update(len(part[0]))
    finally:
        _FORKED.clear()
    votes = np.concatenate([p[0] for p in parts]) if parts else np.zeros((0, len(row_lfs)), np.int16)
    faulted = np.concatenate([p[1] for p in parts]) if parts else np.zeros(votes.shape, bool)
    return votes, faulted, [r for p in parts for r in p[2]]


def apply_lfs(df: pd.DataFrame, lfs: list, cardinality: int | None = None, *,
              engine: str = "local", n_jobs: int = 1, cache_dir: Path | str | None = None,
              fault_tolerant: bool = False, faults: FaultLog | None = None,
              split: str | None = None, progress: bool = False,
              cache_use: dict | None = None, **engine_options) -> np.ndarray:
    """Label matrix of ``lfs`` over ``df`` (columns in ``lfs`` order).

    ``cardinality`` bounds the allowed votes (default: anything int8 holds).
    ``engine="dask"`` runs row-wise LFs on a dask.distributed cluster
    (``scheduler="tcp://host:port"``, else a LocalCluster with ``n_jobs`` workers).
    ``faults`` collects fault counts in fault-tolerant mode; ``split`` names the split
    in messages. ``cache_use`` (a dict) gets ``{split: {"reused": n, "computed": m}}``:
    LF columns served whole by the cache, and the others (:func:`cache_use_line`).
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, not {engine!r}")
    cardinality = cardinality or 127
    for j, lf in enumerate(lfs):
        if not isinstance(lf, LabelingFunction):
            raise LFError(f"lfs[{j}] is a {type(lf).__name__}, not a labeling function")
    counts = Counter(lf.name for lf in lfs)
    dupes = sorted(n for n, c in counts.items() if c > 1)
    if dupes:  # LFs made in a loop without a name each repeat theirs by the hundred
        more = f", and {len(dupes) - 5} more" if len(dupes) > 5 else ""
        raise LFError("LF names must be unique; repeated: "
                      + ", ".join(f"{n} ({counts[n]} times)" for n in dupes[:5]) + more
                      + "; give each LF its own name (name=f\"...\" in a loop)")
    faults = faults if faults is not None else FaultLog()
    # Gold never reaches an LF: one reading x.label would score itself on its answer key
    # on dev, and carry test gold into the test scores.
    df = as_lfs_see_it(df)
    L = np.full((len(df), len(lfs)), ABSTAIN, dtype=matrix_dtype(cardinality))
    need = np.ones(L.shape, dtype=bool, order="F")  # read and written column by column

    # Prompt LFs are not cached here: their votes depend on the backend; they cache
    # responses instead.
    cache = (CachedColumns(cache_dir, df, lfs, cardinality, lambda lf: not _is_batch_lf(lf))
             if cache_dir is not None else None)
    if cache is not None:
        cache.fill(L, need)
    if cache_use is not None:
        reused = int((~need.any(axis=0)).sum()) if cache is not None and len(df) else 0
        cache_use[split or "data"] = {"reused": reused, "computed": len(lfs) - reused}
    faulted = np.zeros(L.shape, dtype=bool)

    row_names = RowNames(df, split)
    # The watch says which LF runs on which row when one takes long, and on Ctrl+C.
    with Watch(row_names, split) as watch:
        row_wise = []
        columns: dict[str, TextColumn] = {}  # prepared once per column, shared by pattern LFs
        for j, lf in enumerate(lfs):
            rows = np.flatnonzero(need[:, j])
            if not len(rows):
                continue
            watch.follow(lf.name)
            if _is_vectorizable(lf):
                if lf.column == GOLD_COLUMN:
                    raise LFError(f"LF '{lf.name}' reads column '{lf.column}': {GOLD_HIDDEN}")
                if lf.column not in df.columns:
                    raise LFError(f"LF '{lf.name}' reads column '{lf.column}', which the data lacks")
                if not ABSTAIN <= lf.label < cardinality:
                    raise LFError(f"LF '{lf.name}' votes {lf.label}, outside 0..{cardinality - 1}")
                if lf.column not in columns:
                    columns[lf.column] = TextColumn(df[lf.column].tolist())
                column = columns[lf.column]
                L[rows, j] = lf.apply_column(column if len(rows) == len(df) else
                                             [column.texts[i] for i in rows])
                if cache is not None:
                    cache.save(j, rows, L[rows, j])
            elif _is_batch_lf(lf):
                votes = np.asarray(lf.apply_frame(df.iloc[rows]))
                for i in np.flatnonzero((votes < ABSTAIN) | (votes >= cardinality))[:1]:
                    check_vote(votes[i], lf, cardinality, row_names, int(rows[i]))
                L[rows, j] = votes
            else:
                row_wise.append((j, lf))

        if row_wise:
            cols = [j for j, _ in row_wise]
            positions = np.flatnonzero(need[:, cols].any(axis=1))
            sub_need = need[np.ix_(positions, cols)]
            on_chunk = None if cache is None else (  # saved at once: a killed run resumes
                lambda start, stop, votes, bad: cache.save_chunk(
                    cols, positions[start:stop], sub_need[start:stop], votes, bad))
            bar = tqdm(total=len(positions), desc=f"applying LFs{f' ({split})' if split else ''}",
                       unit="row", leave=False, disable=not progress)
            with bar:
                args = (df, positions, row_wise, sub_need, cardinality, fault_tolerant, split)
                rows_of = f"row-wise LFs on {split or 'the data'}"
                if engine == "dask":
                    # dask is an optional extra (pip install labeling[dask]): imported only
                    # when asked for; dask_engine imports it at its top
                    from labeling.apply.dask_engine import label_rows_dask

                    watch.follow_elsewhere(f"{rows_of} on the Dask cluster")
                    votes, bad, records = label_rows_dask(*args, n_jobs=n_jobs, progress=bar,
                                                          on_chunk=on_chunk, **engine_options)
                elif n_jobs > 1 and len(positions) > CHUNK:
                    watch.follow_elsewhere(f"{rows_of} in {n_jobs} worker processes")
                    votes, bad, records = _label_rows_parallel(*args, n_jobs, bar, on_chunk)
                else:
                    votes, bad, records = label_rows(*args, progress=bar, watch=watch,
                                                     on_chunk=on_chunk)
            for k, j in enumerate(cols):
                rows = positions[sub_need[:, k]]
                L[rows, j] = votes[sub_need[:, k], k]
                faulted[rows, j] = bad[sub_need[:, k], k]
            for name, where, message in records:
                faults.record(name, where, message)

    if cache is not None:
        cache.finish(L, need, faulted)
    return L


def cache_use_line(cache_use: dict) -> str:
    """One line for ``labeling apply``: per split, the LF columns the cache served whole
    and those computed (some of them for new or edited rows only)."""
    if not cache_use:
        return "LF columns: all computed (cache off)"
    return "LF columns: " + "; ".join(f"{split} {n['reused']} from the cache, {n['computed']} "
                                      "computed" for split, n in cache_use.items())
