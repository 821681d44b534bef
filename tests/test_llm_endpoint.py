"""Prompt LFs against a real HTTP server speaking OpenAI chat completions, through the real
``openai`` client: answers, each fault kind, cache, plan, budget, rate limit."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from llm_server import fake_openai  # noqa: E402,F401  (the fixture)

from labeling.errors import LabelingError, LFError  # noqa: E402
from labeling.llm import BudgetExceeded, LLMError, LLMSettings, plan, prompt_lf, use  # noqa: E402
from labeling.llm.cache import cache_key  # noqa: E402
from labeling.llm.client import EndpointRunner, RateLimiter  # noqa: E402
from labeling.llm.requests import build_requests  # noqa: E402

HAM, SPAM, ABSTAIN = 0, 1, -1
LABELS = ["ham", "spam"]
TEXTS = ["please subscribe to my channel", "i love this song", "subscribe for free stuff",
         "great video", "SUBSCRIBE now", "what a voice"]


def frame(texts=TEXTS) -> pd.DataFrame:
    return pd.DataFrame({"id": [f"r{i}" for i in range(len(texts))], "text": texts,
                         "author": [f"a{i}" for i in range(len(texts))]})


def visit_lf(name="asks_to_subscribe"):
    return prompt_lf(name, "Does this comment promote something?\nComment: {text}",
                     answers={"yes": SPAM, "no": ABSTAIN})


def settings(server, tmp_path, **kw) -> LLMSettings:
    base = dict(backend="openai", base_url=server.base_url, cache_path=tmp_path / "cache.sqlite",
                progress=False, backoff_base=0.01, backoff_max=0.05, timeout=5, max_retries=3,
                concurrency=4)
    return LLMSettings(**{**base, **kw})


def run(lf, df, s, labels=LABELS):
    with use(s, labels=labels) as rt:
        votes = lf.apply_frame(df)
        return votes, rt.report()["lfs"][lf.name]


EXPECTED = [SPAM, ABSTAIN, SPAM, ABSTAIN, SPAM, ABSTAIN]


def test_answers_with_json_schema_and_concurrency_limit(fake_openai, tmp_path):
    votes, stats = run(visit_lf(), frame(), settings(fake_openai, tmp_path, concurrency=2))
    assert votes.tolist() == EXPECTED
    assert stats["calls"] == stats["requests"] == fake_openai.received == 6
    assert fake_openai.max_inflight <= 2
    fmt = fake_openai.bodies[0]["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True
    assert fmt["json_schema"]["schema"]["properties"]["answer"]["enum"] == ["yes", "no"]


def test_plain_text_replies_are_parsed_strictly(fake_openai, tmp_path):
    votes, stats = run(visit_lf(), frame(), settings(fake_openai, tmp_path, structured_output=False))
    assert votes.tolist() == EXPECTED  # the server replies "Yes." / "No."
    assert all("response_format" not in b for b in fake_openai.bodies)


def test_multiclass_labels_by_name(fake_openai, tmp_path):
    lf = prompt_lf("kind", "Classify this comment: {text}",
                   labels={"spam": "promotes something", "ham": "about the video"})
    votes, _ = run(lf, frame(), settings(fake_openai, tmp_path))
    assert votes.tolist() == [SPAM, HAM, SPAM, HAM, SPAM, HAM]
    enum = fake_openai.bodies[0]["response_format"]["json_schema"]["schema"]["properties"]
    assert enum["answer"]["enum"] == ["spam", "ham", "abstain"]
    with pytest.raises(LFError, match="'kind'.*'junk'"):
        run(prompt_lf("kind", "{text}", labels={"junk": "x", "ham": "y"}), frame(),
            settings(fake_openai, tmp_path))


def test_missing_column_names_lf_and_column(fake_openai, tmp_path):
    lf = prompt_lf("by_channel", "Is {channel} a spammer? {text}", answers={"yes": SPAM, "no": HAM})
    with pytest.raises(LFError, match="'by_channel'.*'channel'"):
        run(lf, frame(), settings(fake_openai, tmp_path))
    assert fake_openai.received == 0


@pytest.mark.parametrize("fault,kind", [("429", "rate_limited"), ("500", "server_error"),
                                        ("malformed", "malformed"), ("hang", "timeout")])
def test_transient_faults_are_retried_and_counted(fake_openai, tmp_path, fault, kind):
    # the timeout bounds the whole reply (4cca2e0): 0.5 s also timed out healthy replies
    # on a loaded machine (1 run in 5 during a CI run); the hang stays 4x past 2.5 s
    fake_openai.hang_s = 10.0
    fake_openai.inject("free stuff", fault)
    votes, stats = run(visit_lf(), frame(), settings(fake_openai, tmp_path, timeout=2.5))
    assert votes.tolist() == EXPECTED
    assert stats["errors"] == {kind: 1} and stats["retries"] == 1 and stats["failed"] == 0
    assert fake_openai.per_prompt["Does this comment promote something?\nComment: "
                                   "subscribe for free stuff"] == 2


def test_retries_exhausted_abstain_uncached_then_retried(fake_openai, tmp_path):
    s = settings(fake_openai, tmp_path, max_retries=2)
    fake_openai.inject("free stuff", "500", "500", "500")
    votes, stats = run(visit_lf(), frame(), s)
    assert votes[2] == ABSTAIN and stats["failed"] == 1 and stats["errors"] == {"server_error": 3}
    fake_openai.reset()
    votes, stats = run(visit_lf(), frame(), s)  # the failure was not cached: asked again
    assert votes.tolist() == EXPECTED and fake_openai.received == 1 and stats["cache_hits"] == 5


def test_off_label_reply_abstains_with_reason_and_is_cached(fake_openai, tmp_path):
    s = settings(fake_openai, tmp_path)
    fake_openai.inject("free stuff", "offlabel")
    votes, stats = run(visit_lf(), frame(), s)
    assert votes[2] == ABSTAIN and stats["rejected"] == {"off_label": 1} and stats["failed"] == 0
    fake_openai.reset()
    votes2, stats2 = run(visit_lf(), frame(), s)
    assert fake_openai.received == 0 and votes2.tolist() == votes.tolist()
    assert stats2["rejected"] == {"off_label": 1}


def test_client_error_is_not_retried(fake_openai, tmp_path):
    fake_openai.inject("free stuff", "400")
    votes, stats = run(visit_lf(), frame(), settings(fake_openai, tmp_path))
    assert votes[2] == ABSTAIN and stats["errors"] == {"client_error": 1} and stats["requests"] == 6


def test_rejected_key_aborts_the_run(fake_openai, tmp_path):
    fake_openai.inject("", "401")
    with pytest.raises(LLMError, match="HTTP 401") as info:
        run(visit_lf(), frame(), settings(fake_openai, tmp_path, concurrency=1))
    assert isinstance(info.value, LabelingError)


def test_retry_after_is_honoured(fake_openai, tmp_path):
    fake_openai.retry_after = "7"
    fake_openai.inject("subscribe", "429")
    delays = []

    async def record(seconds):
        delays.append(seconds)

    s = settings(fake_openai, tmp_path)
    reqs = build_requests(visit_lf(), frame(TEXTS[:1]), s, LABELS)
    outcomes = []
    runner = EndpointRunner(s, sleep=record)
    asyncio.run(runner.run(reqs, lambda r: None, lambda r, o: outcomes.append(o)))
    assert delays == [7.0] and outcomes[0].answer == "yes" and outcomes[0].errors == ["rate_limited"]


def test_rate_limiter_spaces_request_starts():
    now, starts = [100.0], []

    async def sleep(seconds):
        now[0] += seconds

    async def go():
        limiter = RateLimiter(rpm=120, clock=lambda: now[0], sleep=sleep)
        for _ in range(4):
            await limiter.acquire()
            starts.append(now[0])

    asyncio.run(go())
    assert np.diff(starts).tolist() == [0.5, 0.5, 0.5]


def test_plan_matches_calls_and_cache(fake_openai, tmp_path):
    s = settings(fake_openai, tmp_path)
    df = frame(TEXTS + TEXTS[:2])  # two duplicated rows share a call
    lfs = [visit_lf(), prompt_lf("kind", "Classify: {text}", labels={"spam": "ad", "ham": "not"})]
    before = plan(lfs, df, s, labels=LABELS)
    assert [p["calls"] for p in before] == [6, 6] and [p["cached"] for p in before] == [0, 0]
    assert all(p["tokens_in"] > 0 and p["cost"] > 0 for p in before)
    with use(s, labels=LABELS) as rt:
        for lf in lfs:
            lf.apply_frame(df)
        report = rt.report()
    assert fake_openai.received == sum(p["to_call"] for p in before) == 12
    assert [report["lfs"][lf.name]["calls"] for lf in lfs] == [6, 6]
    after = plan(lfs, {"train": df}, s, labels=LABELS)
    assert [(p["split"], p["cached"], p["to_call"], p["cost"]) for p in after] == \
        [("train", 6, 0, 0.0)] * 2


def test_budget_aborts_before_any_call(fake_openai, tmp_path):
    s = settings(fake_openai, tmp_path, budget=1e-7)
    with pytest.raises(BudgetExceeded, match="budget"):
        run(visit_lf(), frame(), s)
    assert fake_openai.received == 0


def test_budget_stops_the_lf_that_would_exceed_it(fake_openai, tmp_path):
    s = settings(fake_openai, tmp_path)
    one = plan([visit_lf()], frame(), s, labels=LABELS)[0]["cost"]
    s = settings(fake_openai, tmp_path, budget=one * 1.5)
    with use(s, labels=LABELS) as rt:
        assert visit_lf().apply_frame(frame()).tolist() == EXPECTED
        spent = rt.spent
        with pytest.raises(BudgetExceeded):
            visit_lf("second").apply_frame(frame(["subscribe " + t for t in TEXTS]))
    assert fake_openai.received == 6 and 0 < spent <= one * 1.5


def test_unknown_price_with_budget_is_an_error(fake_openai, tmp_path):
    with pytest.raises(LLMError, match="no price for my-model"):
        run(visit_lf(), frame(), settings(fake_openai, tmp_path, model="my-model", budget=1.0))
    s = settings(fake_openai, tmp_path, model="my-model", budget=1.0,
                 prices={"my-model": {"input": 1.0, "output": 2.0}})
    assert run(visit_lf(), frame(), s)[1]["cost"] > 0


def test_cache_key_stability():
    msgs = [{"role": "user", "content": "Is it spam? hi"}]
    schema = {"type": "object", "properties": {"answer": {"enum": ["yes", "no"]}}}
    key = cache_key("gpt-4o-mini", {"temperature": 0, "seed": 1}, msgs, schema)
    assert key == cache_key("gpt-4o-mini", {"seed": 1, "temperature": 0}, list(msgs), dict(schema))
    # the same across processes and versions: pinned
    assert key == "23a8dee9166586ff8ecf4b701ddeebab46f60e941e316838d83a95cf587ab3bc"
    variants = [("gpt-4o", {"temperature": 0, "seed": 1}, msgs, schema),
                ("gpt-4o-mini", {"temperature": 0.0001, "seed": 1}, msgs, schema),
                ("gpt-4o-mini", {"temperature": 0, "seed": 2}, msgs, schema),
                ("gpt-4o-mini", {"temperature": 0, "seed": 1, "top_p": 1}, msgs, schema),
                ("gpt-4o-mini", {"temperature": 0, "seed": 1},
                 [{"role": "user", "content": "Is it spam? hi "}], schema),
                ("gpt-4o-mini", {"temperature": 0, "seed": 1}, msgs, None)]
    keys = {cache_key(*v) for v in variants}
    assert len(keys) == len(variants) and key not in keys


def test_lf_params_override_and_forbidden_params(fake_openai, tmp_path):
    lf = prompt_lf("hot", "Spam? {text}", answers={"yes": SPAM, "no": HAM}, model="gpt-4.1-mini",
                   params={"temperature": 0.7, "max_tokens": 5})
    run(lf, frame(TEXTS[:1]), settings(fake_openai, tmp_path))
    body = fake_openai.bodies[0]
    assert (body["model"], body["temperature"], body["max_tokens"]) == ("gpt-4.1-mini", 0.7, 5)
    with pytest.raises(ValueError, match="api_key"):
        prompt_lf("bad", "{text}", answers={"yes": 1, "no": 0}, params={"api_key": "x"})


def test_single_row_call_fallback(fake_openai, tmp_path):
    with use(settings(fake_openai, tmp_path), labels=LABELS):
        assert visit_lf()(frame().iloc[0]) == SPAM


@pytest.mark.parametrize("header", ["soon", "", "-5", "nan", "3 days",
                                    "Wed, 99 Foo 2015 07:28:00 GMT"])
def test_unparsable_retry_after_is_treated_as_absent(fake_openai, tmp_path, header):
    # a 429 with a Retry-After we cannot read used to raise ValueError and end the run
    fake_openai.retry_after = header
    fake_openai.inject("free stuff", "429")
    votes, stats = run(visit_lf(), frame(), settings(fake_openai, tmp_path))
    assert votes.tolist() == EXPECTED
    assert stats["errors"] == {"rate_limited": 1} and stats["failed"] == 0


def _first_delay(server, tmp_path) -> float:
    """The wait before the retry of one request answered 429 once (sleep recorded)."""
    server.inject("subscribe", "429")
    delays = []

    async def record(seconds):
        delays.append(seconds)

    s = settings(server, tmp_path)
    reqs = build_requests(visit_lf(), frame(TEXTS[:1]), s, LABELS)
    outcomes = []
    asyncio.run(EndpointRunner(s, sleep=record).run(reqs, lambda r: None,
                                                    lambda r, o: outcomes.append(o)))
    assert outcomes[0].answer == "yes" and len(delays) == 1
    return delays[0]


@pytest.mark.parametrize("header,expected", [
    ("soon", "backoff"), ("-5", "backoff"), ("nan", "backoff"), ("", "backoff"),
    ("999999999", 300.0), ("inf", "backoff"), ("2.5", 2.5),
    ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),  # an HTTP-date in the past: retry now
    ("Fri, 01 Jan 9999 00:00:00 GMT", 300.0),  # far future: capped
])
def test_retry_after_values_are_bounded(fake_openai, tmp_path, header, expected):
    fake_openai.retry_after = header
    delay = _first_delay(fake_openai, tmp_path)
    if expected == "backoff":  # settings(): backoff_base 0.01, backoff_max 0.05, jittered
        assert 0.005 <= delay <= 0.05
    else:
        assert delay == expected


def test_retry_after_as_a_near_http_date_is_honoured(fake_openai, tmp_path):
    from email.utils import formatdate
    import time

    fake_openai.retry_after = formatdate(time.time() + 60, usegmt=True)
    assert 55 <= _first_delay(fake_openai, tmp_path) <= 61


def test_apply_lfs_outside_a_runtime_refuses_and_makes_no_call(fake_openai, monkeypatch):
    """Issue 14: with an endpoint and a key in the environment, applying a prompt LF outside
    a run used to call it through a process-global runtime with no cache and no budget."""
    from labeling.apply import apply_lfs

    monkeypatch.setenv("OPENAI_BASE_URL", fake_openai.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    with pytest.raises(LLMError, match="prompt LF 'asks_to_subscribe': no LLM runtime is active"):
        apply_lfs(frame(), [visit_lf()], cardinality=2)
    assert fake_openai.received == 0
