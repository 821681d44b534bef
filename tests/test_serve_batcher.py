"""MicroBatcher: a request queued one event-loop iteration after the first one of a batch
joins that batch (one model call), instead of paying for a model call of its own right
after it; a request alone is still answered without any timed wait.

No timing asserts: timeouts below only keep a broken batcher from hanging the suite."""

from __future__ import annotations

import asyncio

import numpy as np

from labeling.serve import MicroBatcher

TIMEOUT = 30  # seconds: a hang guard only


def _recording():
    calls = []
    batcher = MicroBatcher(lambda texts: calls.append(list(texts)) or np.zeros((len(texts), 2)),
                           max_wait_ms=10**7)  # ~3 hours: a timed wait would hit the guard
    return batcher, calls


def test_a_request_one_loop_iteration_behind_joins_the_batch():
    batcher, calls = _recording()

    async def scenario():
        await batcher.start()
        try:
            await asyncio.sleep(0)  # the collector waits for the first request

            async def one_iteration_later():
                await asyncio.sleep(0)  # read from its connection one loop turn later
                return await batcher.predict(["second"])

            results = await asyncio.wait_for(asyncio.gather(
                batcher.predict(["first"]), one_iteration_later()), TIMEOUT)
            assert [len(r) for r in results] == [1, 1]
        finally:
            await batcher.stop()

    asyncio.run(scenario())
    assert calls == [["first", "second"]]  # one model call (before: [["first"], ["second"]])


def test_a_request_alone_is_answered_at_once():
    batcher, calls = _recording()

    async def scenario():
        await batcher.start()
        try:
            for text in ("a", "b", "c"):
                await asyncio.wait_for(batcher.predict([text]), TIMEOUT)
        finally:
            await batcher.stop()

    asyncio.run(scenario())
    assert calls == [["a"], ["b"], ["c"]]
