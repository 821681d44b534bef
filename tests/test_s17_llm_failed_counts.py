"""The line naming prompts left unanswered counts *their* failed attempts.

h136 saw "1 of 1232 prompts got no answer after up to 2 retries (malformed: 3,
server_error: 3, timeout: 3)": nine failed attempts for one prompt that had three;
the other six were retried and answered (other prompts). The counts in brackets are now
the unanswered prompts' own attempts, as docs/llm_retries.md's example adds up
(183 prompts x 3 attempts = 549); metrics.json ``errors`` still counts every failed
attempt, retried ones included."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from llm_server import fake_openai  # noqa: E402,F401  (the fixture)

from labeling.llm import LLMSettings, prompt_lf, use  # noqa: E402


def test_counts_are_the_unanswered_prompts_attempts(fake_openai, tmp_path, capsys):
    fake_openai.inject("comment 1", "500")               # retried, then answered
    fake_openai.inject("comment 3", "429", "429")        # retried twice, then answered
    fake_openai.inject("comment 2", "500", "500", "500")  # no answer after 2 retries
    lf = prompt_lf("llm_ad", "Is it an ad?\n{text}", answers={"yes": 1, "no": 0})
    s = LLMSettings(backend="openai", base_url=fake_openai.base_url, progress=False,
                    cache_path=tmp_path / "cache.sqlite", concurrency=2, timeout=5,
                    max_retries=2, backoff_base=0.01, backoff_max=0.02)
    df = pd.DataFrame({"id": [f"r{i}" for i in range(5)],
                       "text": [f"comment {i}" for i in range(5)]})
    with use(s, labels=["ham", "spam"]) as rt:
        votes = lf.apply_frame(df)
        stats = rt.report()["lfs"]["llm_ad"]
    assert votes.tolist() == [0, 0, -1, 0, 0]
    assert stats["errors"] == {"server_error": 4, "rate_limited": 2}  # every attempt
    line = next(x for x in capsys.readouterr().err.splitlines() if "got no answer" in x)
    assert "1 of 5 prompts got no answer after up to 2 retries (server_error: 3)" in line, line
