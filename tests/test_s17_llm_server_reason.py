"""When the endpoint says why it refused a request, the run says it too.

h136 gave the YouTube task a model name the endpoint does not serve: every request got
HTTP 404 ``The model `gpt-4o-mini` does not exist``, and the run stopped with "the
endpoint answered none of 20 prompts in a row (client_error: 20): stopped; check that
it is up", the server's reason dropped (the same for a 429 ``insufficient_quota``,
blamed on rpm). A 400 on one long prompt (context length) was only "client_error: 1".
The server's message is shown, cut short, with the API key masked if it echoes it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from llm_server import FakeOpenAI, _Handler  # noqa: E402

from labeling.llm import LLMError, LLMSettings, prompt_lf, use  # noqa: E402

HAM, SPAM, ABSTAIN = 0, 1, -1
KEY = "sk-s17-reason-0123456789abcdefXYZ"


class _Says(_Handler):
    """Faults with an OpenAI-shaped error body: ``404model``, ``400ctx`` (the message
    echoes the key sent, as a careless gateway might)."""

    def _respond(self, srv, body, prompt, fault, blocked):
        if fault == "404model":
            message = (f"The model `{body.get('model')}` does not exist or you do not have "
                       "access to it.")
            self._send(404, json.dumps({"error": {"message": message, "code":
                                                  "model_not_found"}}).encode())
            return
        if fault == "400ctx":
            sent = self.headers.get("Authorization", "")
            message = ("This model's maximum context length is 8192 tokens, your messages "
                       f"had 9000 (request {sent}).\n  " + "x" * 400)
            self._send(400, json.dumps({"error": {"message": message}}).encode())
            return
        super()._respond(srv, body, prompt, fault, blocked)


@pytest.fixture
def server():
    srv = FakeOpenAI()
    srv.RequestHandlerClass = _Says
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


def _run(server, tmp_path, monkeypatch, rows):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    lf = prompt_lf("llm_ad", "Is it an ad?\n{text}", answers={"yes": SPAM, "no": HAM})
    s = LLMSettings(backend="openai", base_url=server.base_url, progress=False,
                    cache_path=tmp_path / "cache.sqlite", concurrency=1, timeout=5,
                    max_retries=1, backoff_base=0.01, backoff_max=0.02)
    df = pd.DataFrame({"id": [f"r{i}" for i in range(rows)],
                       "text": [f"comment {i}" for i in range(rows)]})
    with use(s, labels=["ham", "spam"]):
        return lf.apply_frame(df)


def test_a_dead_endpoint_stop_says_what_the_server_said(server, tmp_path, monkeypatch):
    server.inject("", *["404model"] * 30)
    with pytest.raises(LLMError) as err:
        _run(server, tmp_path, monkeypatch, 30)
    message = str(err.value)
    assert "answered none of 20 prompts in a row" in message
    assert "HTTP 404: The model `gpt-4o-mini` does not exist" in message, message
    assert "\n" not in message and KEY not in message
    assert server.received == 20  # a 404 is not retried


def test_a_prompt_refused_names_the_reason_with_the_key_masked(server, tmp_path, monkeypatch,
                                                              capsys):
    server.inject("comment 2", "400ctx")
    votes = _run(server, tmp_path, monkeypatch, 4)
    assert votes.tolist() == [HAM, HAM, ABSTAIN, HAM]  # the refused prompt abstains
    err = capsys.readouterr().err
    line = next(x for x in err.splitlines() if "got no answer" in x)
    assert "first: row 3 (id=r2)" in line
    assert "HTTP 400: This model's maximum context length is 8192 tokens" in line, line
    assert KEY not in err and "***" in line
    assert len(line) < 600  # the server's long message is cut
