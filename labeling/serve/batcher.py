"""Micro-batching: concurrent requests share one ``predict_proba`` call in a worker thread.

Each request puts its texts on a queue and awaits a future. One collector task takes the
first waiting request, then gathers more (those queued, and those still being read,
for at most ``max_wait_ms``) until ``max_batch`` texts, and runs the model on all of
them in ONE worker thread, so:

- the event loop never runs the model (it keeps accepting and parsing requests meanwhile);
- the model is called from a single thread only (the fast TF-IDF path keeps a word
  cache, and an onnxruntime session is best fed one batch at a time);
- while a batch runs, the next requests queue up, so under load batches grow by
  themselves and the per-call overhead is paid once per batch, not once per request;
- no call gets more than ``max_batch`` texts: a request with more (up to ``--max-texts``)
  is run in consecutive calls of ``max_batch``, its last part sharing its call with the
  next requests, and answered once all its rows are in. A call's time (and memory) is
  bounded by ``max_batch``, also when a stop has to wait for the call running;
- a request that no longer waits for its answer (uvicorn cancelled it when a stop ran out
  of time, or its client disconnected: ``gone``) is dropped from the queue: none of its
  texts not yet running reach the model (a client that gives up and retries does not
  have the server run its texts twice).

A model's answer for a text does not depend on the other texts of its batch (rows are
independent), so a request gets the same probabilities as `labeling predict` would give.
"""

from __future__ import annotations

import asyncio
import contextlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from labeling.serve.protocol import RequestError


@dataclass
class _Pending:
    texts: list[str]
    future: asyncio.Future = field(repr=False)
    taken: int = 0  # texts handed to model calls so far
    gone: Callable[[], bool] | None = field(default=None, repr=False)  # client left?
    parts: list = field(default_factory=list, repr=False)  # their rows, in order


class MicroBatcher:
    """``await batcher.predict(texts)`` -> that request's rows of ``predict_proba``.

    ``max_batch``: texts in one model call at most (a longer request is split);
    ``max_queue``: texts waiting at most; beyond it a request is refused with 503 (server
    busy) instead of growing the queue without bound.
    """

    def __init__(self, predict_proba: Callable[[list[str]], np.ndarray], max_batch: int = 256,
                 max_wait_ms: float = 2.0, max_queue: int = 16_384):
        self.predict_proba = predict_proba
        self.max_batch = max_batch
        self.max_wait_ms = max_wait_ms
        self.max_queue = max_queue
        self.batches = 0  # model calls made (the tests read it)
        self._queue: asyncio.Queue | None = None
        self._head: _Pending | None = None  # a request part of which is still to run
        self._queued_texts = 0
        self._arriving = 0  # requests being read or parsed
        self._task: asyncio.Task | None = None
        self._executor: ThreadPoolExecutor | None = None

    async def start(self) -> MicroBatcher:
        """Start the collector on the running loop (the server's lifespan calls this)."""
        self._queue = asyncio.Queue()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="labeling-model")
        self._task = asyncio.create_task(self._collect(), name="labeling-batcher")
        return self

    async def stop(self) -> None:
        """Finish the batches already queued (of the requests still waiting for them),
        then stop the collector and the thread."""
        if self._task is None:
            return
        # every request taken so far gets its answer (unless the collector itself died)
        drained = asyncio.ensure_future(self._queue.join())
        await asyncio.wait([drained, self._task], return_when=asyncio.FIRST_COMPLETED)
        drained.cancel()
        self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            pass
        self._executor.shutdown(wait=True)
        self._task = None

    async def predict(self, texts: list[str],
                      gone: Callable[[], bool] | None = None) -> np.ndarray:
        """``gone()``: whether the client has disconnected (its texts are then dropped)."""
        if self._task is None or self._task.done():
            raise RequestError(503, "the model is not running (server starting or stopping)")
        if not texts:
            return np.zeros((0, 0))
        if self._queued_texts + len(texts) > self.max_queue:
            raise RequestError(503, f"server busy: {self._queued_texts} texts queued "
                                    f"(--max-queue {self.max_queue}); retry later")
        future = asyncio.get_running_loop().create_future()
        self._queued_texts += len(texts)
        self._queue.put_nowait(_Pending(texts, future, gone=gone))
        return await future  # cancelled (the task waiting was), the future is too

    @contextlib.contextmanager
    def arriving(self):
        """Around reading and parsing a request: while any request is arriving, a batch
        may wait (up to ``max_wait_ms``) for it; with none, waiting would only add latency."""
        self._arriving += 1
        try:
            yield
        finally:
            self._arriving -= 1

    def _live(self, item: _Pending) -> bool:
        """Whether ``item`` still waits for its answer; if not (cancelled, its client
        gone, or failed in an earlier call), its texts not yet run are dropped."""
        if not item.future.done():
            if item.gone is None or not item.gone():
                return True
            item.future.set_exception(RequestError(499, "client disconnected"))
        self._queued_texts -= len(item.texts) - item.taken
        self._queue.task_done()
        return False

    async def _next(self, deadline: float) -> _Pending | None:
        """The next live request: one queued, else one arriving before ``deadline``."""
        loop = asyncio.get_running_loop()
        while True:
            if not self._queue.empty():
                item = self._queue.get_nowait()
            elif self._arriving and (remaining := deadline - loop.time()) > 0:
                try:
                    item = await asyncio.wait_for(self._queue.get(), remaining)
                except asyncio.TimeoutError:
                    return None
            else:
                return None
            if self._live(item):
                return item

    async def _gather(self) -> list[tuple[_Pending, int, int]]:
        """Parts ``(request, start, end)`` of one model call, ``max_batch`` texts at most:
        the first waiting request (or the rest of a longer one), then every request
        already queued, then those still arriving, until ``max_batch`` texts or
        ``max_wait_ms`` after the first."""
        item, self._head = self._head, None
        while item is None or not self._live(item):
            item = await self._queue.get()
        deadline = asyncio.get_running_loop().time() + self.max_wait_ms / 1000
        parts, size = [], 0
        while item is not None:
            take = min(len(item.texts) - item.taken, self.max_batch - size)
            parts.append((item, item.taken, item.taken + take))
            item.taken += take
            size += take
            if item.taken < len(item.texts):  # the rest in the next call(s), first
                self._head = item
                break
            if size >= self.max_batch:
                break
            item = await self._next(deadline)
        return parts

    async def _collect(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            parts = await self._gather()
            texts = [text for item, start, end in parts for text in item.texts[start:end]]
            try:
                proba = await loop.run_in_executor(self._executor, self.predict_proba, texts)
            except Exception as exc:  # noqa: BLE001 - a model failure answers its requests
                for item, _, _ in parts:  # (as a 500 with the reason), it must not end the loop
                    if not item.future.done():
                        item.future.set_exception(exc)
            else:
                self.batches += 1
                row = 0
                for item, start, end in parts:
                    if not item.future.done():  # (cancelled: nobody waits for the answer)
                        item.parts.append(proba[row:row + end - start])
                        if end == len(item.texts):
                            item.future.set_result(item.parts[0] if len(item.parts) == 1
                                                   else np.concatenate(item.parts))
                    row += end - start
            finally:
                for item, start, end in parts:
                    self._queued_texts -= end - start
                    if end == len(item.texts):
                        self._queue.task_done()
