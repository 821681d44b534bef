"""A 429 whose Retry-After asks for a long wait: the run says it waits, and why.

h136 played a rate-limited endpoint (``Retry-After: 20``): `labeling apply` sat at
1231 of 1232 prompts for 40 s with nothing but "still running LF ... for 40 s"; the
wait the server asked for (honoured up to 300 s per retry) was never mentioned. Now one
line, once per prompt LF and split, names the wait, the status and the retries left.
The runner's sleep is a fake: the test does not wait."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from llm_server import fake_openai  # noqa: E402,F401  (the fixture)

from labeling.llm import LLMSettings, prompt_lf  # noqa: E402
from labeling.llm.client import EndpointRunner  # noqa: E402
from labeling.llm.requests import build_requests  # noqa: E402

import pandas as pd  # noqa: E402


@pytest.mark.parametrize("retry_after, said", [("45", True), ("1", False)])
def test_a_long_retry_after_is_announced_once(fake_openai, tmp_path, capsys, retry_after, said):
    fake_openai.retry_after = retry_after
    fake_openai.inject("subscribe", "429", "429")  # two prompts, or one twice
    lf = prompt_lf("llm_sub", "Is it spam?\n{text}", answers={"yes": 1, "no": 0})
    s = LLMSettings(backend="openai", base_url=fake_openai.base_url, progress=False,
                    concurrency=2, timeout=5, max_retries=3)
    df = pd.DataFrame({"text": ["please subscribe", "subscribe now", "nice song"]})
    reqs = build_requests(lf, df, s, ["ham", "spam"])
    waits, answered = [], []

    async def sleep(seconds):
        waits.append(seconds)

    asyncio.run(EndpointRunner(s, sleep=sleep).run(
        reqs, lambda req: None, lambda req, out: answered.append(out.answer)))
    assert sorted(answered) == ["no", "yes", "yes"]
    assert waits == [float(retry_after)] * 2  # Retry-After honoured, as before
    lines = [x for x in capsys.readouterr().err.splitlines() if "asked to wait" in x]
    if said:
        assert lines == ["prompt LF 'llm_sub': the endpoint asked to wait 45 s before a "
                         "retry (HTTP 429 with Retry-After); waiting 45 s (at most 300 s a retry, "
                         "up to [llm] max_retries = 3 retries a prompt)"], lines
    else:  # a short wait goes unmentioned
        assert lines == []
