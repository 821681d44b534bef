"""Row-wise LFs over the rows of a DataFrame: the loop every engine runs.

The in-process engine, forked workers and Dask workers all call :func:`label_rows`
on their rows, so an LF gives the same votes (and the same error naming its row)
wherever it runs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from labeling.apply.rows import label_each, make_rows
from labeling.apply.votes import RowNames, check_vote
from labeling.apply.watch import Watch
from labeling.errors import lf_error_from
from labeling.lf.core import ABSTAIN

# What to do about an LF raising on a row, in the words of where it ran: the error says
# the CLI's; the notebook (labeling.session) and `labeling dev` say theirs instead.
FAULT_ADVICE = {
    "cli": "use --fault-tolerant (or [apply] fault_tolerant = true, which `labeling dev` "
           "reads)",
    "notebook": "call apply(fault_tolerant=True) (or set [apply] fault_tolerant = true, "
                "which `labeling dev` reads)",
    "dev": "set [apply] fault_tolerant = true in the config (the loop reads it on save)",
}


def fault_advice_for(text: str, where: str) -> str:
    """``text`` (an error's) with any other place's fault advice said as ``where`` says it."""
    for place, words in FAULT_ADVICE.items():
        if place != where:
            text = text.replace(words, FAULT_ADVICE[where])
    return text


CHUNK = 2000  # rows per spaCy batch and per unit of work for worker processes


def label_rows(df: pd.DataFrame, positions: np.ndarray, row_lfs: list, need: np.ndarray,
               cardinality: int, fault_tolerant: bool, split: str | None, progress=None,
               row_numbers: np.ndarray | None = None, watch: Watch | None = None,
               on_chunk=None):
    """Votes of the row-wise LFs on ``df.iloc[positions]`` where ``need`` (rows x LFs).

    Returns ``(votes, faulted, fault_records)``; runs in a worker process too.
    ``row_numbers`` are the rows' numbers in their split for messages (default: their
    positions in ``df``); ``watch`` is told each LF and rows as they run.
    ``on_chunk(start, stop, votes, faulted)`` gets each finished chunk of positions.
    """
    names = RowNames(df, split, row_numbers)
    votes = np.full((len(positions), len(row_lfs)), ABSTAIN, dtype=np.int16)
    faulted = np.zeros(votes.shape, dtype=bool)
    records = []
    primers = {id(p): p for _, lf in row_lfs for p in lf._pre if hasattr(p, "prime")}.values()
    # snorkel's LabelingFunction.__call__ is preprocessors, then f(x, **resources); without
    # preprocessors, calling f directly is the same and skips a layer per row.
    calls = [lf if lf._pre else lf._f if not lf._resources else
             (lambda x, f=lf._f, r=lf._resources: f(x, **r)) for _, lf in row_lfs]
    columns = [str(c) for c in df.columns]
    for start in range(0, len(positions), CHUNK):
        chunk = positions[start:start + CHUNK]
        contiguous = len(chunk) and chunk[-1] - chunk[0] == len(chunk) - 1
        part = df.iloc[chunk[0]:chunk[-1] + 1] if contiguous else df.iloc[chunk]
        values = [part[c].tolist() for c in part.columns]
        for pre in primers:
            pre.prime(part["text"].tolist() if "text" in part else [])
        chunk_need = need[start:start + len(chunk)]
        # No rows are shared across LFs (snorkel shares one Series per row): an LF that
        # mutates its row would change the votes of the LFs after it, so a column's
        # votes would depend on which other LFs ran, and the cache would serve others.
        # Column-major within the chunk: each LF runs over the rows it needs.
        for k, (j, lf) in enumerate(row_lfs):
            wanted = chunk_need[:, k]
            if not wanted.any():
                continue
            every = wanted.all()
            indices = range(len(chunk)) if every else np.flatnonzero(wanted).tolist()
            call = calls[k]
            out: list = []  # filled as the LF runs: the watch reads its length
            if watch is not None:
                watch.follow(lf.name, chunk if every else chunk[indices], out)
            try:  # fast path: no exception, plain ints (checked below, vectorized)
                label_each(call, columns, values if every else
                           [[column[i] for i in indices] for column in values], out)
                valid = _plain_votes(out, cardinality)
            except Exception:
                valid = False
            if not valid:  # find the faulty row, and name it
                rows = make_rows(columns, values)  # this LF's own
                out = _label_slowly(call, lf, rows, indices, chunk, names, cardinality,
                                    fault_tolerant, faulted[start:, k], records, watch)
            votes[start + np.asarray(indices, dtype=np.int64), k] = out
        for pre in primers:
            pre.clear()
        if progress is not None:
            progress.update(len(chunk))
        if on_chunk is not None:
            stop = start + len(chunk)
            on_chunk(start, stop, votes[start:stop], faulted[start:stop])
    return votes, faulted, records


def _plain_votes(out: list, cardinality: int) -> bool:
    """Are all of ``out`` plain ints in -1..cardinality-1 (bools and NumPy ints are not)?"""
    return not out or (set(map(type, out)) == {int}
                       and ABSTAIN <= min(out) and max(out) < cardinality)


def _label_slowly(call, lf, rows, indices, chunk, names, cardinality, fault_tolerant,
                  faulted, records, watch) -> list[int]:
    """Row by row, checking each vote: names the LF and row of a fault or a bad vote."""
    out = []
    if watch is not None:
        watch.follow(lf.name, chunk[indices], out)
    for i in indices:
        try:
            value = call(rows[i])
        except Exception as exc:  # an LF is user code: any exception is its fault
            where = names(int(chunk[i]))
            if not fault_tolerant:
                # Also an instance of the LF's exception class: snorkel code catches that.
                raise lf_error_from(exc, (
                    f"LF '{lf.name}' raised {type(exc).__name__}: {exc} on {where}; "
                    f"{FAULT_ADVICE['cli']} to count such faults and abstain instead"
                )) from exc
            faulted[i] = True
            records.append((lf.name, where, f"{type(exc).__name__}: {exc}"))
            value = ABSTAIN
        out.append(check_vote(value, lf, cardinality, names, int(chunk[i])))
    return out
