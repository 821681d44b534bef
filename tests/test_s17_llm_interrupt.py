"""A SIGTERM lands where the main thread is: the CLI turns it into a KeyboardInterrupt
(``labeling.cli.common.Terminated``) raised in that frame, often inside one of the
runner's request tasks (storing a reply, checking the budget, writing to the socket).
The run must then stop as on Ctrl+C: the one-line "interrupted" note, the replies
received so far kept, and no asyncio "Task exception was never retrieved" traceback
printed after it (h136 saw 130 lines of one after `kill -TERM` of `labeling apply`)."""

from __future__ import annotations

import gc
import logging
import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from llm_server import fake_openai  # noqa: E402,F401  (the fixture)

from labeling.llm import LLMSettings, prompt_lf, use  # noqa: E402
from labeling.llm.cache import ResponseCache  # noqa: E402

SPAM, ABSTAIN = 1, -1


class Landed(KeyboardInterrupt):
    """What the CLI's SIGTERM handler raises (a KeyboardInterrupt subclass)."""


def _texts(n):
    return pd.DataFrame({"id": [f"r{i}" for i in range(n)],
                         "text": [f"comment number {i}, subscribe" for i in range(n)]})


@pytest.mark.parametrize("where", ["put", "before"])
def test_interrupt_inside_a_request_task_stops_cleanly(fake_openai, tmp_path, monkeypatch,
                                                       caplog, capsys, where):
    lf = prompt_lf("llm_sub", "Does it ask to subscribe?\n{text}",
                   answers={"yes": SPAM, "no": ABSTAIN})
    s = LLMSettings(backend="openai", base_url=fake_openai.base_url, progress=False,
                    cache_path=tmp_path / "cache.sqlite", concurrency=4, timeout=5,
                    max_retries=0)
    calls = {"n": 0}
    if where == "put":  # the signal lands while a reply is stored (in the task's frame)
        real_put = ResponseCache.put

        def put(self, entry):
            calls["n"] += 1
            if calls["n"] == 3:
                raise Landed()
            real_put(self, entry)

        monkeypatch.setattr(ResponseCache, "put", put)
    else:  # ... or while the budget is checked before a request
        import labeling.llm.runtime as runtime

        real_estimate = runtime.Runtime._estimate

        def estimate(self, req):
            calls["n"] += 1
            if calls["n"] == 40 + 6:  # after the LF's budget check of its 40 prompts
                raise Landed()
            return real_estimate(self, req)

        monkeypatch.setattr(runtime.Runtime, "_estimate", estimate)
        s = s.model_copy(update={"budget": 10.0})  # gpt-4o-mini has a price
    caplog.set_level(logging.DEBUG, logger="asyncio")
    with pytest.raises(KeyboardInterrupt):
        with use(s, labels=["ham", "spam"]):
            lf.apply_frame(_texts(40))
    gc.collect()  # an un-retrieved task exception is logged when the task is collected
    err = capsys.readouterr().err
    logged = [r.getMessage() for r in caplog.records
              if r.name == "asyncio" and r.levelno >= logging.WARNING]
    assert not logged, logged  # e.g. "Task exception was never retrieved"
    assert "prompt LF 'llm_sub' interrupted" in err
    kept = ResponseCache(tmp_path / "cache.sqlite")
    try:
        assert 1 <= kept.count() < 40  # what came back before the stop is kept
    finally:
        kept.close()
    assert fake_openai.received < 40  # no new request after the interrupt
