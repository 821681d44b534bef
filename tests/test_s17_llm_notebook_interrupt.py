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


def test_interrupt_with_a_running_loop_stops_the_requests(fake_openai, tmp_path, capsys):
    fake_openai.latency = 0.02
    lf = prompt_lf("llm_ad", "Is it an ad?\n{text}", answers={"yes": 1, "no": 0})
    s = LLMSettings(backend="openai", base_url=fake_openai.base_url, progress=False,
                    cache_path=tmp_path / "cache.sqlite", concurrency=2, timeout=5,
                    max_retries=0)
    df = pd.DataFrame({"text": [f"comment {i}" for i in range(ROWS)]})

    def press_ctrl_c():  # once some replies are in, as a user would
        while fake_openai.answered < 10:
            time.sleep(0.01)
        signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)

    async def cell():  # a notebook cell: sync code while the kernel's loop runs
        with use(s, labels=["ham", "spam"]):
            return lf.apply_frame(df)

    loop = asyncio.new_event_loop()  # no asyncio.run: it would trap SIGINT itself
    threading.Thread(target=press_ctrl_c, daemon=True).start()
    try:
        with pytest.raises(KeyboardInterrupt):
            loop.run_until_complete(cell())
    finally:
        loop.close()
    asked = fake_openai.received
    assert asked < ROWS / 2, asked  # before: all 120 asked after the interrupt
    assert "prompt LF 'llm_ad' interrupted" in capsys.readouterr().err
    kept = ResponseCache(tmp_path / "cache.sqlite")
    try:
        # the replies that came back are kept (but the <= concurrency in flight)
        assert 10 - 2 <= kept.count() <= asked
    finally:
        kept.close()
