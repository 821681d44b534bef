"""An API key sent over plain HTTP to another machine travels readable by anyone on the
way: `[llm] base_url = "http://gpu-box:8000/v1"` with $OPENAI_API_KEY set sent it with
every request, silently. A keyless local server (no key: the placeholder is sent), a
loopback endpoint or HTTPS get no warning."""

from __future__ import annotations

import asyncio

import pytest

from labeling.llm.client import EndpointRunner
from labeling.llm.settings import LLMSettings

KEY = "sk-h91-not-a-real-key"


def _warning(capsys, base_url: str, env: dict) -> str:
    settings = LLMSettings(backend="openai", base_url=base_url)
    message = settings.cleartext_key_warning(env)
    return message or ""


@pytest.mark.parametrize("url", ["http://gpu-box:8000/v1", "http://10.0.0.5/v1",
                                 "HTTP://Gpu-Box/v1", "http://user:pw@gpu-box/v1"])
def test_a_key_over_http_to_another_host_is_warned_about(capsys, url):
    message = _warning(capsys, url, {"OPENAI_API_KEY": KEY})
    assert message.startswith("warning: [llm] base_url http://"), message
    assert "OPENAI_API_KEY" in message and "unencrypted" in message
    assert KEY not in message and "pw" not in message  # never the key, nor a password


@pytest.mark.parametrize("url,env", [
    ("https://api.example.com/v1", {"OPENAI_API_KEY": KEY}),
    ("http://127.0.0.1:8000/v1", {"OPENAI_API_KEY": KEY}),
    ("http://localhost:8000/v1", {"OPENAI_API_KEY": KEY}),
    ("http://[::1]:8000/v1", {"OPENAI_API_KEY": KEY}),
    ("http://gpu-box:8000/v1", {}),  # no key set: "no-key" is sent
])
def test_no_warning_without_a_key_in_clear_to_another_host(capsys, url, env):
    assert _warning(capsys, url, env) == ""


def test_the_runner_prints_the_warning_once_per_endpoint(capsys, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    settings = LLMSettings(backend="openai", base_url="http://198.51.100.7:9/v1",
                           max_retries=0, timeout=0.01)
    for _ in range(2):  # two runs (two prompt LFs) in one process
        asyncio.run(EndpointRunner(settings).run([], lambda r: None, lambda r, o: None))
    err = capsys.readouterr().err
    assert err.count("warning: [llm] base_url http://198.51.100.7:9/v1") == 1, err
    assert KEY not in err
