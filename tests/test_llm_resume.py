"""A run killed with SIGKILL keeps every answer it received: the rerun repeats none; and
the API key is written nowhere (cache, metrics, logs)."""

from __future__ import annotations

import json
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from llm_server import fake_openai  # noqa: E402,F401  (the fixture)
from secret_scan import files_holding  # noqa: E402

from labeling.llm import LLMSettings, plan, prompt_lf, use  # noqa: E402

SCRIPT = r'''
import json, sys
import pandas as pd
from labeling.llm import LLMSettings, prompt_lf, use
base_url, cache, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
texts = [f"comment {i}: " + ("please subscribe" if i % 3 == 0 else "nice song") for i in range(n)]
lf = prompt_lf("promo", "Does this comment promote something?\nComment: {text}",
               answers={"yes": 1, "no": -1})
s = LLMSettings(backend="openai", base_url=base_url, cache_path=cache, concurrency=4,
                progress=False, max_retries=0)
with use(s, labels=["ham", "spam"]):
    votes = lf.apply_frame(pd.DataFrame({"text": texts}))
print(json.dumps(votes.tolist()))
'''


def _cached_rows(path: Path) -> int:
    if not path.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as db:
            return db.execute("SELECT COUNT(*) FROM responses").fetchone()[0]
    except sqlite3.OperationalError:  # the table is not created yet
        return 0


def _wait_for(condition, what: str, limit: float = 60.0) -> None:
    deadline = time.monotonic() + limit  # a hang guard, not a timing assertion
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.02)


def test_resume_after_sigkill_repeats_no_answered_request(fake_openai, tmp_path):
    n, k = 40, 15
    script, cache = tmp_path / "label.py", tmp_path / "cache.sqlite"
    script.write_text(SCRIPT, encoding="utf-8")
    cmd = [sys.executable, str(script), fake_openai.base_url, str(cache), str(n)]
    fake_openai.latency = 0.02
    fake_openai.block_after = k  # requests after the k-th answer hang: the kill lands mid-run
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _wait_for(lambda: _cached_rows(cache) >= k and fake_openai.received > k,
                  "the first answers to be cached")
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert child.returncode == -signal.SIGKILL
    assert _cached_rows(cache) == k == fake_openai.answered
    first_received = fake_openai.received  # k answered + the ones hanging at the kill

    fake_openai.block_after = None
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    votes = json.loads(done.stdout.strip().splitlines()[-1])
    assert votes == [1 if i % 3 == 0 else -1 for i in range(n)]
    # every prompt answered exactly once over both runs; the rerun asked only the rest
    assert fake_openai.answered == n
    assert sorted(fake_openai.answered_per_prompt.values()) == [1] * n
    assert fake_openai.received - first_received == n - k
    assert _cached_rows(cache) == n


def test_api_key_is_written_nowhere(fake_openai, tmp_path, monkeypatch):
    secret = "sk-test-SECRET-9f8e7d6c5b4a"
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    log_file = tmp_path / "debug.log"
    handler = logging.FileHandler(log_file)
    handler.setLevel(logging.DEBUG)
    loggers = [logging.getLogger(n) for n in ("openai", "httpx", "httpx2", "httpcore", "labeling")]
    old_levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.DEBUG)
    try:
        s = LLMSettings(base_url=fake_openai.base_url, cache_path=tmp_path / "c" / "cache.sqlite",
                        progress=False, budget=1.0)  # backend auto: the key selects the endpoint
        lf = prompt_lf("promo", "Promotes something? {text} by {author}",
                       answers={"yes": 1, "no": 0})
        df = pd.DataFrame({"text": ["subscribe pls", "nice", "great"], "author": ["a", "b", "c"]})
        fake_openai.inject("nice", "500", "429")
        plans = plan([lf], df, s, labels=["ham", "spam"])
        with use(s, labels=["ham", "spam"]) as rt:
            assert rt.backend == "openai"
            lf.apply_frame(df)
            report = rt.report()
        (tmp_path / "metrics.json").write_text(json.dumps({"llm": report, "plan": plans},
                                                          default=str))
    finally:
        for lg, level in zip(loggers, old_levels):
            lg.removeHandler(handler)
            lg.setLevel(level)
        handler.close()
    assert fake_openai.auth_seen == {f"Bearer {secret}"}  # the key was really used
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert {p.name for p in written} >= {"cache.sqlite", "metrics.json", "debug.log"}
    assert log_file.stat().st_size > 0
    assert files_holding(written, secret) == []  # zip members and Parquet cells too
    assert secret not in json.dumps(report) and secret not in repr(s)
    assert os.environ["OPENAI_API_KEY"] == secret
