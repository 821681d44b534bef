"""A run records the endpoint its prompt replies are cached by, and the settings "as
asked" (the report, the app's raw replies) key requests by it, not by the shell's
$OPENAI_BASE_URL of the moment (session 18): replies are cached per endpoint since
h141, and `labeling report` run from a shell without the run's variable found none of
them (tests/test_distill.py::test_cached_rerun... fails before)."""

from __future__ import annotations

import json

from labeling.llm.settings import LLMSettings


def test_the_recorded_endpoint_holds_no_credentials_and_keys_later_requests():
    run = LLMSettings(base_url="http://me:sk-secret-1@gpu-box:8000/v1/?key=sk-secret-2")
    recorded = run.recorded()
    same = LLMSettings(base_url="http://gpu-box:8000/v1").cache_endpoint()
    assert recorded["cache_endpoint"] == same
    assert "sk-secret" not in json.dumps(recorded) and "gpu-box" not in json.dumps(
        recorded["cache_endpoint"])  # a digest: a token in a gateway's path stays off disk
    later = LLMSettings().as_asked(recorded)  # a shell without the variable
    assert later.cache_endpoint(env={}) == same
    assert later.model_copy().cache_endpoint(env={}) == same


def test_a_run_keyed_by_no_endpoint_stays_so_and_an_old_run_reads_the_environment():
    openai = LLMSettings().recorded()  # OpenAI's own endpoint: no endpoint in the key
    assert openai["cache_endpoint"] is None
    later = LLMSettings().as_asked(openai)
    assert later.cache_endpoint(env={"OPENAI_BASE_URL": "http://other:1/v1"}) is None
    old_run = {k: v for k, v in openai.items() if k != "cache_endpoint"}  # before 2026-12-08
    assert LLMSettings().as_asked(old_run).cache_endpoint(
        env={"OPENAI_BASE_URL": "http://other:1/v1"}) == LLMSettings(
        base_url="http://other:1/v1").cache_endpoint()
