"""`labeling serve`'s batcher (session 16): ``--max-batch`` bounds every model call, also
for one request with more texts (split into calls of ``max_batch``, answered once all its
rows are in), and a request cut off by a stop (uvicorn cancelled it) takes none of its
queued texts to the model. Real servers on 127.0.0.1 where HTTP matters; no timing
asserts (timeouts only guard against a hang)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_serve import (TIMEOUT, HeldModel, ThreadServer, model_dir, post,  # noqa: E402,F401
                        request)

from labeling.serve import Limits, MicroBatcher, build_server  # noqa: E402


@contextlib.contextmanager
def uvicorn_thread(config_of, logged=contextlib.nullcontext()):
    """uvicorn in a thread on a free 127.0.0.1 port, ``config_of()``'s settings; yields
    (uvicorn server, URL); a stop on leaving (a hang guard, no time bound). ``logged``
    (a context manager) is entered once uvicorn has set its loggers up (which removes
    any handler given to them before) and left after the thread ended."""
    import uvicorn

    from labeling.serve.server import bind

    sock = bind("127.0.0.1", 0)
    uv = uvicorn.Server(config_of())
    thread = threading.Thread(target=uv.run, kwargs={"sockets": [sock]}, daemon=True)
    with logged:
        yield from _running(uv, thread, sock)


def _running(uv, thread, sock):
    thread.start()
    try:
        for _ in range(TIMEOUT * 20):
            if uv.started:
                break
            thread.join(0.05)
        assert uv.started
        yield uv, "http://127.0.0.1:%d" % sock.getsockname()[1]
    finally:
        uv.should_exit = True
        thread.join(TIMEOUT)
        sock.close()
    assert not thread.is_alive()


def rows(texts):
    """A stand-in model whose row names its text (so a misplaced row shows)."""
    return np.array([[len(t), int(t.split()[-1])] for t in texts], dtype=float)


def run(scenario, batcher):
    async def main():
        await batcher.start()
        try:
            return await asyncio.wait_for(scenario(), TIMEOUT)
        finally:
            await batcher.stop()
    return asyncio.run(main())


def test_one_request_over_max_batch_runs_in_calls_of_max_batch():
    # before: a request of 600 texts was one model call of 600 (max_batch 256)
    calls = []
    batcher = MicroBatcher(lambda texts: calls.append(len(texts)) or rows(texts), max_batch=256)
    texts = [f"text {i}" for i in range(600)]
    answer = run(lambda: batcher.predict(texts), batcher)
    assert calls == [256, 256, 88]
    assert np.array_equal(answer, rows(texts))
    assert batcher._queued_texts == 0


def test_no_call_exceeds_max_batch_with_requests_of_every_size():
    # before: a batch took whole requests while it had fewer than max_batch texts, so the
    # last one taken could carry it past (10 + 10 > 16)
    calls = []
    batcher = MicroBatcher(lambda texts: calls.append(len(texts)) or rows(texts), max_batch=16)
    sizes = [10, 10, 1, 40, 3, 16, 17, 2]
    requests = [[f"r{r} {i}" for i in range(n)] for r, n in enumerate(sizes)]

    async def together():
        return await asyncio.gather(*(batcher.predict(texts) for texts in requests))

    answers = run(together, batcher)
    assert max(calls) <= 16 and sum(calls) == sum(sizes)
    assert len(calls) == -(-sum(sizes) // 16)  # queued together: every call but the last full
    for texts, answer in zip(requests, answers):
        assert np.array_equal(answer, rows(texts))


def test_a_cancelled_request_takes_none_of_its_queued_texts_to_the_model():
    # before: a request whose waiting was cancelled still went to the model (its answer
    # thrown away), and so did the rest of a long one cancelled after its first call
    seen, entered, release = [], threading.Event(), threading.Event()

    def blocking(texts):
        seen.append(list(texts))
        entered.set()
        release.wait(TIMEOUT)
        return rows(texts)

    batcher = MicroBatcher(blocking, max_batch=4)

    async def scenario():
        long = asyncio.create_task(batcher.predict([f"long {i}" for i in range(10)]))
        while not entered.is_set():
            await asyncio.sleep(0.01)
        waiting = asyncio.create_task(batcher.predict(["queued 1"]))
        kept = asyncio.create_task(batcher.predict(["kept 2"]))
        await asyncio.sleep(0)  # both queued
        long.cancel()
        waiting.cancel()
        release.set()
        return await kept

    answer = run(scenario, batcher)
    assert np.array_equal(answer, rows(["kept 2"]))
    assert seen == [[f"long {i}" for i in range(4)], ["kept 2"]]
    assert batcher._queued_texts == 0


def test_a_model_failure_mid_request_drops_the_rest_of_it():
    calls = []

    def failing_first(texts):
        calls.append(list(texts))
        if len(calls) == 1:
            raise RuntimeError("boom")
        return rows(texts)

    batcher = MicroBatcher(failing_first, max_batch=4)

    async def scenario():
        long = asyncio.create_task(batcher.predict([f"long {i}" for i in range(10)]))
        try:
            await long
        except RuntimeError as exc:
            failed = str(exc)
        return failed, await batcher.predict(["next 1"])

    failed, answer = run(scenario, batcher)
    assert failed == "boom" and np.array_equal(answer, rows(["next 1"]))
    assert calls[1:] == [["next 1"]]  # not the 6 texts after the failed call
    assert batcher._queued_texts == 0


def test_the_server_splits_a_request_over_max_batch(model_dir):  # noqa: F811
    server = build_server(model_dir, max_batch=8, limits=Limits(max_texts=50))
    real, calls = server.exported.predict_proba, []
    server.batcher.predict_proba = lambda texts: calls.append(len(texts)) or real(texts)
    texts = [f"song number {i} check out my channel" for i in range(21)]
    with ThreadServer(server) as running:
        status, body = post(running.url, "/predict", {"texts": texts})
        status_v2, body_v2 = post(running.url, "/v2/models/youtube/infer", {"inputs": [
            {"name": "text", "shape": [21], "datatype": "BYTES", "data": texts}]})
    assert status == status_v2 == 200 and calls == [8, 8, 5] * 2
    assert np.array_equal(body["probabilities"], real(texts))  # bit for bit
    assert body_v2["outputs"][0]["data"] == body["labels"]


def test_requests_cut_off_by_a_stop_leave_no_model_work_behind(model_dir, caplog):  # noqa: F811
    # before: uvicorn cancelled the requests still waiting when --graceful-timeout ran
    # out (each got its 503), but the lifespan's stop then ran every queued text through
    # the model anyway (up to --max-queue texts), for answers nobody would read, before
    # the process could exit
    server = build_server(model_dir, max_batch=4, limits=Limits(max_texts=50))
    blocking = HeldModel(server)
    entered, release = blocking.entered, blocking.release

    import uvicorn

    bodies = [{"texts": [f"first {i}" for i in range(10)]}] + [
        {"texts": [f"queued {r} {i}" for i in range(3)]} for r in range(4)]
    config = lambda: uvicorn.Config(server.app, log_level="warning",  # noqa: E731
                                    lifespan="on", timeout_graceful_shutdown=0.5)
    with uvicorn_thread(config) as (uv, url), ThreadPoolExecutor(len(bodies)) as pool:
        server.batcher.predict_proba = blocking  # after the warm-up
        try:
            with caplog.at_level(logging.WARNING, logger="labeling.serve"):
                first = pool.submit(request, url, "POST", "/predict", bodies[0])
                assert entered.wait(TIMEOUT)
                pending = [pool.submit(request, url, "POST", "/predict", body)
                           for body in bodies[1:]]
                for _ in range(TIMEOUT * 20):  # every text queued behind the running call
                    if server.batcher._queued_texts == 22:
                        break
                    release.wait(0.05)
                assert server.batcher._queued_texts == 22
                uv.should_exit = True  # SIGTERM, while the model holds the first call
                answers = [f.result(TIMEOUT) for f in [first, *pending]]
        finally:
            release.set()
    for status, kind, raw in answers:
        assert (status, kind) == (503, "application/json"), raw
        assert json.loads(raw)["error"].startswith("the server stopped before the model")
    assert [len(texts) for texts in blocking.calls] == [4]  # the call running; nothing after
    assert server.batcher._queued_texts == 0
    assert sum("cut off" in r.getMessage() for r in caplog.records) == len(bodies)


def test_a_request_whose_client_disconnected_is_not_run(model_dir):  # noqa: F811
    # before: a client that gave up (its own timeout) while its request was queued still
    # had its texts run; one that then retried had the server run them twice
    import socket

    server = build_server(model_dir)
    blocking = HeldModel(server)
    entered, release = blocking.entered, blocking.release

    with ThreadServer(server) as running, ThreadPoolExecutor(1) as pool:
        server.batcher.predict_proba = blocking  # after the warm-up
        try:
            first = pool.submit(post, running.url, "/predict", {"texts": ["first"]})
            assert entered.wait(TIMEOUT)
            host, port = running.url.removeprefix("http://").rsplit(":", 1)
            body = json.dumps({"texts": ["given up"]}).encode()
            client = socket.create_connection((host, int(port)), timeout=TIMEOUT)
            client.sendall(b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: "
                           b"%d\r\n\r\n%s" % (len(body), body))
            for _ in range(TIMEOUT * 20):  # queued behind the running call
                if server.batcher._queued_texts == 2:
                    break
                release.wait(0.05)
            connections = running.uv.server_state.connections
            assert len(connections) == 2
            client.close()  # the client gives up
            for _ in range(TIMEOUT * 20):  # the server saw it go
                if len(connections) == 1:
                    break
                release.wait(0.05)
            assert len(connections) == 1
        finally:
            release.set()
        assert first.result(TIMEOUT)[0] == 200
        after = post(running.url, "/predict", {"texts": ["after"]})
    assert blocking.calls == [["first"], ["after"]] and after[0] == 200
    assert server.batcher._queued_texts == 0
