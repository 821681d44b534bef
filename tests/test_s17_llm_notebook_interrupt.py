"""Ctrl+C (interrupt kernel) in a notebook stops a prompt LF's requests, not only the
wait for them.

In Jupyter an event loop is running, so prompt LFs run their requests on a helper thread
with its own loop (``labeling.llm.client.run_sync``). h136 found that an interrupt then
raised KeyboardInterrupt in the waiting cell, whose exit still waited for the helper
thread to ask every remaining prompt: the run went on paying for all of them after the
user stopped it. Played here with a real server, a loop running in the main thread (as
ipykernel has) and a SIGINT sent to the main thread."""

from __future__ import annotations

import asyncio
import signal
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from llm_server import fake_openai  # noqa: E402,F401  (the fixture)

from labeling.llm import LLMSettings, prompt_lf, use  # noqa: E402
from labeling.llm.cache import ResponseCache  # noqa: E402

ROWS = 120
ANSWERED = 10  # replies the server gives before it stops answering
CONCURRENCY = 2


def test_interrupt_with_a_running_loop_stops_the_requests(fake_openai, tmp_path, capsys):
    # No timing: the server answers ANSWERED prompts, then holds every later request
    # unanswered until the interrupt has landed in the main thread (its SIGINT handler
    # ran); from then on it answers at once. The interrupt is sent when CONCURRENCY
    # requests are held: nothing more can be sent before it lands (the semaphore is held
    # across a request). After it lands the held requests must be cancelled and no new
    # one sent; before the fix the helper thread waited for the held ones to time out,
    # then asked all the remaining prompts (answered at once).
    fake_openai.block_after = ANSWERED
    lf = prompt_lf("llm_ad", "Is it an ad?\n{text}", answers={"yes": 1, "no": 0})
    s = LLMSettings(backend="openai", base_url=fake_openai.base_url, progress=False,
                    cache_path=tmp_path / "cache.sqlite", concurrency=CONCURRENCY,
                    timeout=20, max_retries=0)  # timeout: only the old code waits for it
    df = pd.DataFrame({"text": [f"comment {i}" for i in range(ROWS)]})

    def press_ctrl_c():  # once the held requests fill every slot
        while fake_openai.received < ANSWERED + CONCURRENCY:
            time.sleep(0.01)
        signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)

    def landed(signum, frame):  # the interrupt reached the main thread
        with fake_openai.lock:
            fake_openai.block_after = None  # later requests are answered at once
        raise KeyboardInterrupt

    async def cell():  # a notebook cell: sync code while the kernel's loop runs
        with use(s, labels=["ham", "spam"]):
            return lf.apply_frame(df)

    loop = asyncio.new_event_loop()  # no asyncio.run: it would trap SIGINT itself
    previous = signal.signal(signal.SIGINT, landed)
    threading.Thread(target=press_ctrl_c, daemon=True).start()
    try:
        with pytest.raises(KeyboardInterrupt):
            loop.run_until_complete(cell())
    finally:
        signal.signal(signal.SIGINT, previous)
        loop.close()
    asked = fake_openai.received
    # the held ones, none after the interrupt (before: all 120 asked)
    assert asked <= ANSWERED + CONCURRENCY, asked
    assert fake_openai.answered == ANSWERED
    assert "prompt LF 'llm_ad' interrupted" in capsys.readouterr().err
    kept = ResponseCache(tmp_path / "cache.sqlite")
    try:
        # every reply that came back is kept: the held requests were sent only after
        # ANSWERED replies had been handled (a slot frees when its reply is)
        assert kept.count() == ANSWERED
    finally:
        kept.close()
