"""Row-wise LFs on a dask.distributed cluster, partition by partition.

Each partition of rows is one task running :func:`~labeling.apply.row_labeler.label_rows`
on a worker and returning int votes, so dask never infers metadata by calling LFs on
placeholder rows (what breaks snorkel's ``DaskLFApplier`` on string LFs). LF modules
loaded from files are not importable on workers, so they are shipped by value.
Vectorized and prompt LFs stay on the driver (prompt LFs share one response cache).
An LF's error comes back from its worker as a value and is raised on the driver, naming
the row by its number in the split.
"""

from __future__ import annotations

import contextlib
import importlib.machinery
import inspect
import sys
import time

import numpy as np

from labeling.apply.row_labeler import label_rows
from labeling.apply.votes import RowNames
from labeling.apply.watch import Watch
from labeling.errors import LabelingError, LFError

PARTITION = 20_000
WORKER_WAIT = 30.0  # seconds for a scheduler to have a worker
POLL = 2.0  # seconds between checks that a cluster still has workers
_SHARED: list[dict] = []  # the LocalCluster of the apply in progress (one_local_cluster)


def _importable_elsewhere(module) -> bool:
    """Could a worker import ``module`` by name? Asks the path finders directly:
    ``importlib.util.find_spec`` would answer from this process's ``sys.modules``,
    where LF modules loaded from files are registered."""
    top = module.__name__.split(".")[0]
    return top in sys.builtin_module_names or importlib.machinery.PathFinder.find_spec(top) is not None


def _ship_user_modules_by_value(row_lfs) -> None:
    import cloudpickle

    for _, lf in row_lfs:
        for f in [lf._f, *(getattr(p, "_f", None) for p in lf._pre)]:
            module = inspect.getmodule(f) if f is not None else None
            if module is not None and not _importable_elsewhere(module):
                cloudpickle.register_pickle_by_value(module)


def local_cluster(n_workers: int):
    """A LocalCluster of single-threaded worker processes that serves no dashboard.

    ``dashboard_address=None`` alone does not do it: the scheduler's HTTP server then
    listens on its default, 127.0.0.1:8787, with its info and proxy pages. So it gets an
    ephemeral loopback port, no Bokeh dashboard and only the health route.
    """
    import dask
    from distributed import LocalCluster

    with dask.config.set({"distributed.scheduler.http.routes": ["distributed.http.health"]}):
        return LocalCluster(n_workers=max(n_workers, 1), threads_per_worker=1,
                            processes=True, dashboard_address="127.0.0.1:0",
                            scheduler_kwargs={"dashboard": False})


@contextlib.contextmanager
def one_local_cluster():
    """Within it, every :func:`label_rows_dask` with no scheduler uses one LocalCluster,
    started when a split first has rows for it and closed on leaving (an error, Ctrl+C
    too). Why: each worker process imports labeling and torch, seconds each; a cluster
    per split took dev and test (264 rows) 9-14 s each."""
    holder: dict = {"cluster": None}
    _SHARED.append(holder)
    try:
        yield
    finally:
        _SHARED.remove(holder)
        if holder["cluster"] is not None:
            holder["cluster"].close()


def _cluster_for(scheduler: str | None, n_jobs: int):
    """(the LocalCluster to use, whether the caller closes it): None with a scheduler;
    the shared one inside :func:`one_local_cluster`, else one of its own."""
    if scheduler is not None:
        return None, False
    if not _SHARED:
        return local_cluster(n_jobs), True
    if _SHARED[-1]["cluster"] is None:
        _SHARED[-1]["cluster"] = local_cluster(n_jobs)
    return _SHARED[-1]["cluster"], False


def _label_partition(part, lfs: bytes, need, cardinality, fault_tolerant, split, row_numbers):
    """``label_rows`` on one partition, on a worker (``lfs``: the row-wise LFs,
    cloudpickled). An LF's error is returned, not raised: a raised one is logged by the
    worker with a traceback ("Compute Failed")."""
    import cloudpickle

    row_lfs = cloudpickle.loads(lfs)
    with Watch(RowNames(part, split, row_numbers), split) as watch:  # says if a row hangs
        try:
            return label_rows(part, np.arange(len(part)), row_lfs, need, cardinality,
                              fault_tolerant, split, row_numbers=row_numbers, watch=watch)
        except LFError as exc:
            return exc


def _connect(scheduler: str | None, cluster):
    """A Client of ``scheduler`` (or ``cluster``); an address that is malformed, or whose
    scheduler does not answer, is one line naming it."""
    from distributed import Client

    try:
        return Client(scheduler or cluster)
    except (OSError, ValueError) as exc:  # refused, timed out, unknown scheme, no port
        raise LabelingError(f"{_cluster_name(scheduler)}: {exc}") from None


class _WorkersGone(Exception):
    """The cluster has had no worker for ``WORKER_WAIT`` seconds; ``args[0]``: the
    futures not done."""


def _as_completed_while_workers(client, futures):
    """``futures`` as they finish, like ``distributed.as_completed``, but raising
    :class:`_WorkersGone` once the cluster has had no worker for ``WORKER_WAIT`` s: the
    scheduler would hold the rest for ever (a local cluster's nannies restart theirs in
    seconds)."""
    from distributed import wait
    from distributed.client import FuturesCancelledError

    pending, idle_since = set(futures), None
    while pending:
        cancelled = {f for f in pending if f.cancelled()}  # `wait` refuses them
        if cancelled:
            pending -= cancelled
            yield from cancelled
            continue
        try:
            done, pending = wait(pending, timeout=POLL, return_when="FIRST_COMPLETED")
        except FuturesCancelledError:
            continue  # cancelled since the check above
        except TimeoutError:
            done = set()
        # a "lost" future (its worker died holding the result) counts as done for `wait`
        # but its result() would block with no worker check: it stays pending
        settled = {f for f in done if f.status in ("finished", "error", "cancelled")}
        pending |= set(done) - settled
        if settled:
            idle_since = None
            yield from settled
            continue
        if done:  # only lost futures, which `wait` returns at once: do not spin
            time.sleep(POLL)
        if client.scheduler_info().get("workers"):
            idle_since = None
        elif idle_since is None:
            idle_since = time.monotonic()
        elif time.monotonic() - idle_since >= WORKER_WAIT:
            raise _WorkersGone(pending) from None


def _cluster_name(scheduler: str | None) -> str:
    return (f"Dask scheduler {scheduler!r} ([apply] scheduler, --scheduler)" if scheduler
            else "the local Dask cluster (--engine dask with no --scheduler)")


def label_rows_dask(df, positions, row_lfs, need, cardinality, fault_tolerant, split,
                    n_jobs: int = 2, scheduler: str | None = None,
                    partition_rows: int = PARTITION, progress=None, on_chunk=None):
    """Same result as ``label_rows``, computed on a cluster (``scheduler`` address, or a
    LocalCluster of ``n_jobs`` single-threaded worker processes).

    Each partition is handed to ``on_chunk(start, stop, votes, faulted)`` and counted on
    ``progress`` as soon as it comes back, in any order: an interrupted run keeps them.
    """
    import cloudpickle

    _ship_user_modules_by_value(row_lfs)
    cluster, owned = _cluster_for(scheduler, n_jobs)
    try:
        client = _connect(scheduler, cluster)
    except BaseException:
        if owned:
            cluster.close()
        raise
    results: dict[int, tuple] = {}
    try:
        try:  # a scheduler without workers would queue the partitions, silently, for ever
            client.wait_for_workers(1, timeout=WORKER_WAIT)
        except TimeoutError:
            raise LabelingError(f"{_cluster_name(scheduler)}: no worker joined it in "
                                f"{WORKER_WAIT:.0f} s; start some (`dask worker "
                                f"{scheduler or 'SCHEDULER'}`)") from None
        # The LFs (a few KB) travel inside every partition's task, pickled here: scattered
        # data is lost with a worker that dies (and every partition cancelled with it),
        # and a task's result moving between workers is pickled without cloudpickle.
        lfs = cloudpickle.dumps(row_lfs)
        futures = {}
        for start in range(0, len(positions), partition_rows):
            stop = min(start + partition_rows, len(positions))
            part_positions = positions[start:stop]
            part = df.iloc[part_positions].reset_index(drop=True)
            # Messages name a row by its number in the split, not in its partition.
            futures[client.submit(
                _label_partition, part, lfs, need[start:stop], cardinality,
                fault_tolerant, split, part_positions, pure=False)] = (start, stop)
        error: tuple[int, LFError] | None = None
        lost: dict[int, tuple[int, BaseException]] = {}  # start -> (stop, the cluster's error)
        try:
            for future in _as_completed_while_workers(client, futures):
                start, stop = futures[future]
                if error is not None and start > error[0]:
                    continue  # cancelled above
                try:
                    result = future.result()
                except Exception as exc:  # an LF's error is a value: this is the cluster's
                    lost[start] = (stop, exc)  # (a killed worker): the other partitions go on
                    continue
                if isinstance(result, LFError):
                    # The first partition's error is reported, as in a run row by row:
                    # later partitions are dropped, earlier ones still finish (and are kept).
                    if error is None or start < error[0]:
                        error = (start, result)
                        client.cancel([f for f, (s, _) in futures.items() if s > start])
                    continue
                if on_chunk is not None:
                    on_chunk(start, stop, result[0], result[1])
                if progress is not None:
                    progress.update(stop - start)
                results[start] = result
        except _WorkersGone as gone:
            pending = gone.args[0]
            rows = sum(futures[f][1] - futures[f][0] for f in pending)
            raise LabelingError(
                f"{_cluster_name(scheduler)}: every worker left and none joined in "
                f"{WORKER_WAIT:.0f} s, with {len(pending)} partition(s) ({rows} rows) of "
                f"{split or 'the data'} not labeled; the {len(results)} partitions done are "
                "kept in the LF cache (when on): start workers and re-run to resume") from None
        if error is not None:
            raise error[1]
        if lost:
            # dask blames every partition queued on a worker that died, not only the one
            # that killed it: the rows are named as candidates
            spans = [f"{positions[a] + 1}-{positions[lost[a][0] - 1] + 1}" for a in sorted(lost)]
            exc = lost[min(lost)][1]
            raise LabelingError(
                f"the Dask cluster failed on {len(lost)} partition(s) of "
                f"{split or 'the data'} (row-wise LFs; the rows at fault are in one of: rows "
                f"{', '.join(spans[:5])}{' ...' if len(spans) > 5 else ''}): "
                f"{type(exc).__name__}: {exc}; the {len(results)} partitions done are kept "
                "in the LF cache (when on): re-run to resume")
    finally:
        client.close()
        if owned:
            cluster.close()
    if not results:
        return (np.zeros((0, len(row_lfs)), np.int16), np.zeros((0, len(row_lfs)), bool), [])
    ordered = [results[start] for start in sorted(results)]
    votes = np.concatenate([r[0] for r in ordered])
    faulted = np.concatenate([r[1] for r in ordered])
    return votes, faulted, [rec for r in ordered for rec in r[2]]
