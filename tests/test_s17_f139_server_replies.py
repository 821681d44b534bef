"""What the run says of a server's refusals and waits, played on the wire (f139).

* A short API key (local servers take ``abc`` or ``k7``) echoed in an error message was
  shown as is: only keys of 8 characters or more were masked. Now any configured key is,
  a short one as a whole token (not inside a word).
* The long-wait line said the wait after the 300 s cap ("asked to wait 300 s" when the
  server asked 3600 s) and "with Retry-After" when the header was ``retry-after-ms``.
* ``Outcome.said`` (what the server said) was kept from an earlier attempt: a prompt
  refused with HTTP 500 whose retry timed out was reported "refused with HTTP 500".
The runner's sleep is a fake where a wait is asked: the tests do not wait."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from llm_server import _Handler, fake_openai  # noqa: E402,F401

from labeling.llm import LLMSettings, prompt_lf, use  # noqa: E402
from labeling.llm.client import EndpointRunner  # noqa: E402
from labeling.llm.requests import build_requests  # noqa: E402


class _Echo(_Handler):
    """``echo``: a 400 whose message repeats the key sent (and a word holding it);
    ``429ms``: a 429 with ``retry-after-ms: server.retry_after_ms`` only."""

    def _respond(self, srv, body, prompt, fault, blocked):
        if fault == "echo":
            key = self.headers.get("Authorization", "").removeprefix("Bearer ")
            message = f"key {key} is not valid; keys look like {key}X9 or x{key}"
            self._send(400, json.dumps({"error": {"message": message}}).encode())
            return
        if fault == "429ms":
            self._send(429, b'{"error": {"message": "slow down"}}',
                       {"retry-after-ms": srv.retry_after_ms})
            return
        super()._respond(srv, body, prompt, fault, blocked)


@pytest.fixture
def server(fake_openai):  # noqa: F811 (the fixture)
    fake_openai.RequestHandlerClass = _Echo  # read per request
    return fake_openai


def _outcomes(server, rows, sleep=None, **settings):
    lf = prompt_lf("llm_sub", "Is it spam?\n{text}", answers={"yes": 1, "no": 0})
    s = LLMSettings(backend="openai", base_url=server.base_url, progress=False,
                    concurrency=1, **{"timeout": 5, "max_retries": 0, **settings})
    reqs = build_requests(lf, pd.DataFrame({"text": rows}), s, ["ham", "spam"])
    got = []
    runner = EndpointRunner(s, sleep=sleep) if sleep else EndpointRunner(s)
    asyncio.run(runner.run(reqs, lambda req: None, lambda req, out: got.append(out)))
    return got


@pytest.mark.parametrize("key", ["k7", "abc1234", "x"])
def test_a_short_key_echoed_by_the_server_is_masked(server, monkeypatch, key):
    monkeypatch.setenv("OPENAI_API_KEY", key)
    server.inject("subscribe", "echo")
    [out] = _outcomes(server, ["please subscribe"])
    assert out.errors == ["client_error"]
    # the key as a token is masked; inside a longer token it is left (not the key)
    assert out.said == (f"HTTP 400: key *** is not valid; keys look like {key}X9 "
                        f"or x{key}"), out.said


def test_no_key_set_masks_nothing(server, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)  # the client sends "no-key"
    server.inject("subscribe", "echo")
    [out] = _outcomes(server, ["please subscribe"])
    assert out.said.startswith("HTTP 400: key no-key is not valid"), out.said


@pytest.mark.parametrize("fault, header, asked", [("429", "Retry-After", "3600"),
                                                  ("429ms", "retry-after-ms", "3600000")])
def test_the_long_wait_line_says_what_was_asked_and_by_which_header(
        server, capsys, fault, header, asked):
    server.retry_after, server.retry_after_ms = asked, asked
    server.inject("subscribe", fault)
    waits = []

    async def sleep(seconds):
        waits.append(seconds)

    [out] = _outcomes(server, ["please subscribe"], sleep=sleep, max_retries=1)
    assert out.answer == "yes" and waits == [300.0]  # the cap, as before
    lines = [x for x in capsys.readouterr().err.splitlines() if "asked to wait" in x]
    assert lines == ["prompt LF 'llm_sub': the endpoint asked to wait 3600 s before a "
                     f"retry (HTTP 429 with {header}); waiting 300 s (the most a retry, "
                     "up to [llm] max_retries = 1 retries a prompt)"], lines


def test_what_the_server_said_is_of_the_last_attempt(fake_openai, tmp_path, capsys):
    fake_openai.hang_s = 60  # the retry hangs past the timeout (released at shutdown)
    fake_openai.inject("subscribe", "500", "hang")
    lf = prompt_lf("llm_sub", "Is it spam?\n{text}", answers={"yes": 1, "no": 0})
    s = LLMSettings(backend="openai", base_url=fake_openai.base_url, progress=False,
                    cache_path=tmp_path / "cache.sqlite", concurrency=1, timeout=1,
                    max_retries=1, backoff_base=0.01, backoff_max=0.02)
    with use(s, labels=["ham", "spam"]):
        lf.apply_frame(pd.DataFrame({"text": ["please subscribe", "nice song"]}))
    err = capsys.readouterr().err
    line = next(x for x in err.splitlines() if "got no answer" in x)
    assert "(server_error: 1, timeout: 1)" in line, line
    assert "first: row 1" in line and "refused with" not in line, line  # before: HTTP 500
