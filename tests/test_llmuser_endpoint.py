"""A user whose prompt LFs call a slow, rate-limited, sometimes broken endpoint: what a
stopped run reports, a dead endpoint, replies that are not an answer, the budget when the
endpoint bills more tokens than estimated.

Real HTTP on 127.0.0.1 (tests/llm_server.py), short timeouts and few rows.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from llm_server import FakeOpenAI, _Handler, fake_openai  # noqa: E402,F401  (the fixture)
from test_llm_endpoint import settings as endpoint_settings  # noqa: E402
from test_llm_endpoint import visit_lf as endpoint_visit_lf  # noqa: E402

from labeling.llm import BudgetExceeded, LLMError, LLMSettings, use  # noqa: E402

SPAM, ABSTAIN = 1, -1
LABELS = ["ham", "spam"]


def frame(n: int, word: str = "text") -> pd.DataFrame:
    """``n`` rows whose prompts all have the same length (and so the same cost)."""
    return pd.DataFrame({"id": [f"r{i}" for i in range(n)],
                         "text": [f"{word} {i:03d}" for i in range(n)]})


def visit_lf(name="asks"):
    return endpoint_visit_lf(name)


def settings(server, tmp_path, **kw) -> LLMSettings:
    # no backoff and one retry: the faults here are the server's, not the clock's; a
    # timeout far above a healthy reply's time on a loaded machine (it bounds the whole
    # reply), except where a test sets its own
    return endpoint_settings(server, tmp_path, **{**dict(
        backoff_base=0.0, backoff_max=0.0, timeout=5.0, max_retries=1, concurrency=1), **kw})


class _Inflating(_Handler):
    """Replies billing 10x the prompt tokens the client estimates."""

    def _send(self, status, payload, headers=None):
        if status == 200 and self.command == "POST":
            reply = json.loads(payload)
            reply["usage"]["prompt_tokens"] *= 10
            payload = json.dumps(reply).encode()
        return super()._send(status, payload, headers)


@pytest.fixture
def inflating_openai():
    server = FakeOpenAI()
    server.RequestHandlerClass = _Inflating
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_a_budget_stop_keeps_the_stopped_lfs_spend_in_its_stats(inflating_openai, tmp_path):
    with use(settings(inflating_openai, tmp_path / "a"), labels=LABELS) as rt:
        visit_lf("first").apply_frame(frame(1, "other"))
        one = rt.spent
    s = settings(inflating_openai, tmp_path / "b", budget=one * 3.5)
    with use(s, labels=LABELS) as rt:
        with pytest.raises(BudgetExceeded) as stop:
            visit_lf().apply_frame(frame(12))  # estimated under the budget, billed over it
        report = rt.report()
    # the LF that was stopped part-way is in the stats, and the LFs' costs add up
    assert report["lfs"]["asks"]["requests"] == inflating_openai.received - 1 > 0
    assert report["spent"] > 0
    assert report["lfs"]["asks"]["cost"] == pytest.approx(report["spent"])
    # the message says how far the LF got and that its answers are kept
    message = str(stop.value)
    assert message.startswith("prompt LF 'asks' stopped at the budget")
    assert "of the 12 prompts it needs on this split were answered in this run" in message
    assert "kept in the response cache" in message


def test_an_endpoint_billing_more_than_estimated_does_not_overrun_the_budget(
        inflating_openai, tmp_path):
    with use(settings(inflating_openai, tmp_path / "a"), labels=LABELS) as rt:
        visit_lf().apply_frame(frame(1, "other"))
        actual = rt.spent  # one reply's cost as billed, ~7x its estimate
    budget = actual * 2.5
    with use(settings(inflating_openai, tmp_path / "b", budget=budget), labels=LABELS) as rt:
        with pytest.raises(BudgetExceeded):
            visit_lf().apply_frame(frame(12))
        spent = rt.spent
    assert 0 < spent <= budget  # was 3 replies, 1.2x the budget


def test_a_dead_endpoint_stops_the_run_instead_of_trying_every_prompt(fake_openai, tmp_path):
    fake_openai.inject("", *["500"] * 1000)
    s = settings(fake_openai, tmp_path, concurrency=2)
    with use(s, labels=LABELS) as rt:
        with pytest.raises(LLMError) as stop:
            visit_lf().apply_frame(frame(60))
        stats = rt.report()["lfs"]["asks"]
    message = str(stop.value)
    assert message.startswith("prompt LF 'asks': the endpoint answered none of 20 prompts")
    assert "server_error: 40" in message and "0 of the 60 prompts" in message
    assert 40 <= fake_openai.received <= 44  # 20 prompts x 2 tries (+ those in flight)
    assert stats["failed"] >= 20 and stats["errors"]["server_error"] == fake_openai.received


def test_some_failures_between_answers_do_not_stop_the_run(fake_openai, tmp_path):
    for i in range(0, 30, 2):  # every other prompt fails for good
        fake_openai.inject(f"text {i:03d}", "500", "500")
    with use(settings(fake_openai, tmp_path), labels=LABELS) as rt:
        votes = visit_lf().apply_frame(frame(30))
    assert (votes == ABSTAIN).all() and rt.report()["lfs"]["asks"]["failed"] == 15


def test_unanswered_prompts_and_rejected_replies_are_named_in_one_line(fake_openai, tmp_path,
                                                                       capsys):
    fake_openai.inject("text 002", "500", "500")   # no answer after its retry
    fake_openai.inject("text 003", "offlabel")     # answers "maybe"
    with use(settings(fake_openai, tmp_path), labels=LABELS):
        visit_lf().apply_frame(frame(5))
    lines = [line for line in capsys.readouterr().err.splitlines() if "prompt LF" in line]
    assert len(lines) == 1
    line = lines[0]
    assert line.startswith("prompt LF 'asks': 1 of 5 prompts got no answer after up to 1 retries "
                           "(server_error: 2)")
    assert "first: row 3 (id=r2)" in line
    assert ("1 replies were not an allowed answer (off_label: 1) and abstain; first: row 4 "
            "(id=r3) replied '{\"answer\": \"maybe\"}' (off_label)") in line


class _Trickling(_Handler):
    """Replies sent 16 bytes at a time, 0.1 s apart: each read is quick, the whole is not."""

    def _send(self, status, payload, headers=None):
        if status != 200 or self.command != "POST":
            return super()._send(status, payload, headers)
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            for start in range(0, len(payload), 16):
                self.wfile.write(payload[start:start + 16])
                self.wfile.flush()
                if self.server.stopping.wait(0.1):
                    return False
            return True
        except OSError:
            return False


def test_a_reply_trickling_in_past_the_timeout_is_a_timeout(tmp_path):
    server = FakeOpenAI()
    server.RequestHandlerClass = _Trickling
    server.start()
    try:
        s = settings(server, tmp_path, timeout=0.3, max_retries=1)
        with use(s, labels=LABELS) as rt:
            votes = visit_lf().apply_frame(frame(1, "subscribe"))
            stats = rt.report()["lfs"]["asks"]
    finally:
        server.stop()
    assert votes.tolist() == [ABSTAIN]  # was SPAM, after ~3 s on a 0.3 s timeout
    assert stats["errors"] == {"timeout": 2} and stats["failed"] == 1


class _OddReplies(_Handler):
    """Chat completions whose message content is an object and whose usage is not counts."""

    def _send(self, status, payload, headers=None):
        if status == 200 and self.command == "POST":
            reply = json.loads(payload)
            text = reply["choices"][0]["message"]["content"]
            if "object" in json.dumps(self.server.bodies[-1]["messages"]):
                reply["choices"][0]["message"]["content"] = json.loads(text)
            reply["usage"] = {"prompt_tokens": None, "completion_tokens": "6"}
            payload = json.dumps(reply).encode()
        return super()._send(status, payload, headers)


def test_a_reply_whose_content_is_not_text_is_malformed_not_a_crash(tmp_path):
    server = FakeOpenAI()
    server.RequestHandlerClass = _OddReplies
    server.start()
    try:
        with use(settings(server, tmp_path), labels=LABELS) as rt:
            votes = visit_lf().apply_frame(pd.DataFrame({"id": ["a", "b"], "text": [
                "an object: subscribe", "subscribe"]}))
            stats = rt.report()["lfs"]["asks"]
    finally:
        server.stop()
    # was AttributeError: 'dict' object has no attribute 'strip' (a traceback)
    assert votes.tolist() == [ABSTAIN, SPAM]
    assert stats["errors"] == {"malformed": 2} and stats["failed"] == 1
    assert stats["tokens_in"] > 0  # usage that is not counts: the estimate is counted
