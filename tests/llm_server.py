"""A fake OpenAI chat-completions server for tests and benchmarks: real HTTP, stdlib only.

Why a real server and not a mock: the prompt LFs must be tested with the real ``openai``
client (its retries are off, ours are on; its timeouts, its parsing of bodies and headers),
so the faults have to happen on the wire.

``POST /v1/chat/completions`` answers deterministically from the prompt: ``"yes"`` when
the last user message contains ``subscribe`` (case-insensitive), else ``"no"``; when the
request carries a JSON-schema ``response_format`` whose enum lacks yes/no, the first enum
value stands for yes and the second for no. Structured requests get ``{"answer": ...}``,
others a plain ``"Yes."``/``"No."``. Every reply carries a ``usage`` field.

Faults are injected per prompt: ``server.inject("subscribe", "429", "500")`` makes the next
two requests whose prompt contains ``subscribe`` fail in that order. Kinds: ``"429"``
(with ``Retry-After: server.retry_after``), ``"500"``, ``"hang"`` (sleep ``server.hang_s``
then answer; longer than the client's timeout), ``"malformed"`` (200 with a broken JSON
body), ``"offlabel"`` (answers ``"maybe"``), ``"400"`` (bad request), ``"401"`` (bad key).
``server.content = f`` replies
``f(prompt, body)`` as the message content instead (e.g. JSON LF proposals; a dict
``{"refusal": text}``: no content and that refusal, as OpenAI refuses under structured
output). ``server.latency``
delays every answer; ``server.completion_tokens`` is each reply's billed output (6);
``server.finish_reason`` each reply's (``"stop"``; ``"length"``: cut at the token limit);
``server.block_after = k`` lets k requests through and makes the later ones hang until
shutdown (never answered), for the kill-and-resume test.

Counters (under ``server.lock``): ``received`` (all requests), ``answered`` (2xx replies
written), ``per_prompt`` and ``answered_per_prompt`` keyed by the last user message,
``max_inflight``, ``bodies`` (the request JSONs) and ``auth_seen`` (Authorization headers).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


class FakeOpenAI(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # the default 5 serialises concurrent clients
    allow_reuse_address = True

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        super().__init__((host, port), _Handler)
        self.lock = threading.Lock()
        self.latency = 0.0
        self.completion_tokens = 6  # billed per reply (a reasoning model bills hundreds)
        self.finish_reason = "stop"  # "length": a reply cut at the token limit
        self.retry_after = "0"
        self.hang_s = 5.0
        self.block_after: int | None = None
        self.content = None  # callable(prompt, body) -> reply text, instead of yes/no
        self.faults: list[tuple[str, list[str]]] = []
        self.stopping = threading.Event()
        self.reset()

    # --- control ---------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://{self.server_address[0]}:{self.server_address[1]}/v1"

    def reset(self) -> None:
        with self.lock:
            self.received = 0
            self.answered = 0
            self.admitted = 0
            self.inflight = 0
            self.max_inflight = 0
            self.per_prompt: Counter = Counter()
            self.answered_per_prompt: Counter = Counter()
            self.bodies: list[dict] = []
            self.auth_seen: set[str] = set()
            self.faults = []

    def inject(self, match: str, *kinds: str) -> None:
        """The next requests whose prompt contains ``match`` fail with ``kinds`` in order."""
        with self.lock:
            self.faults.append((match.lower(), list(kinds)))

    def start(self) -> "FakeOpenAI":
        threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.shutdown()
        self.server_close()

    # --- used by the handler ---------------------------------------------
    def _next_fault(self, prompt: str) -> str | None:
        low = prompt.lower()
        for match, kinds in self.faults:
            if match in low and kinds:
                return kinds.pop(0)
        return None


def _answer_for(prompt: str, body: dict) -> str:
    yes = "subscribe" in prompt.lower()
    enum = _enum_of(body)
    if enum and not {"yes", "no"} <= set(enum):
        return enum[0] if yes or len(enum) < 2 else enum[1]
    return "yes" if yes else "no"


def _enum_of(body: dict) -> list[str] | None:
    fmt = body.get("response_format") or {}
    try:
        return list(fmt["json_schema"]["schema"]["properties"]["answer"]["enum"])
    except (KeyError, TypeError):
        return None


class _Handler(BaseHTTPRequestHandler):
    server: FakeOpenAI
    protocol_version = "HTTP/1.1"
    # headers and body are written separately: with Nagle's algorithm and the client's
    # delayed ACK every reply would wait ~40 ms more (measured: 150 ms p50 for 100 ms)
    disable_nagle_algorithm = True

    def log_message(self, *args) -> None:  # keep test output clean
        pass

    def _send(self, status: int, payload: bytes, headers: dict | None = None) -> bool:
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(payload)
            self.wfile.flush()
            return True
        except (BrokenPipeError, ConnectionResetError, socket.timeout, OSError):
            return False

    def do_GET(self) -> None:  # noqa: N802 -- counters, for a server in another process
        srv = self.server
        with srv.lock:
            stats = {"received": srv.received, "answered": srv.answered,
                     "max_inflight": srv.max_inflight}
        self._send(200, json.dumps(stats).encode())

    def do_POST(self) -> None:  # noqa: N802 (stdlib name)
        srv = self.server
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if not self.path.endswith("/chat/completions"):
            self._send(404, b'{"error": {"message": "not found"}}')
            return
        body = json.loads(raw)
        prompt = next((m["content"] for m in reversed(body["messages"]) if m["role"] == "user"), "")
        with srv.lock:
            srv.received += 1
            srv.per_prompt[prompt] += 1
            srv.bodies.append(body)
            srv.auth_seen.add(self.headers.get("Authorization", ""))
            srv.inflight += 1
            srv.max_inflight = max(srv.max_inflight, srv.inflight)
            fault = srv._next_fault(prompt)
            blocked = srv.block_after is not None and srv.admitted >= srv.block_after
            srv.admitted += not blocked
        try:
            self._respond(srv, body, prompt, fault, blocked)
        finally:
            with srv.lock:
                srv.inflight -= 1

    def _respond(self, srv, body, prompt, fault, blocked) -> None:
        if blocked:
            srv.stopping.wait()  # never answered
            return
        if srv.latency:
            time.sleep(srv.latency)
        if fault == "429":
            self._send(429, b'{"error": {"message": "rate limited", "type": "rate_limit"}}',
                       {"Retry-After": srv.retry_after})
            return
        if fault == "500":
            self._send(500, b'{"error": {"message": "boom", "type": "server_error"}}')
            return
        if fault == "401":
            self._send(401, b'{"error": {"message": "invalid api key", "type": "auth"}}')
            return
        if fault == "400":
            self._send(400, b'{"error": {"message": "bad request", "type": "invalid_request"}}')
            return
        if fault == "malformed":
            self._send(200, b'{"id": "x", "choices": [{"mess')
            return
        if fault == "hang":
            if srv.stopping.wait(srv.hang_s):
                return
        answer = "maybe" if fault == "offlabel" else _answer_for(prompt, body)
        if srv.content is not None:
            content = srv.content(prompt, body)
        elif _enum_of(body) is not None:
            content = json.dumps({"answer": answer})
        else:
            content = answer.capitalize() + "."
        prompt_chars = sum(len(m.get("content") or "") for m in body["messages"])
        reply = {
            "id": "chatcmpl-fake", "object": "chat.completion", "created": 0,
            "model": body.get("model", "fake"),
            "choices": [{"index": 0, "finish_reason": srv.finish_reason,
                         "message": {"role": "assistant", "content": content}
                         if not isinstance(content, dict) else
                         {"role": "assistant", "content": None, **content}}],
            "usage": {"prompt_tokens": max(1, prompt_chars // 4),
                      "completion_tokens": srv.completion_tokens,
                      "total_tokens": max(1, prompt_chars // 4) + srv.completion_tokens},
        }
        if self._send(200, json.dumps(reply).encode()):
            with srv.lock:
                srv.answered += 1
                srv.answered_per_prompt[prompt] += 1


@pytest.fixture
def fake_openai():
    """A fresh fake server on a free port of 127.0.0.1, stopped after the test."""
    server = FakeOpenAI().start()
    try:
        yield server
    finally:
        server.stop()


if __name__ == "__main__":  # standalone: python llm_server.py [port] [latency_s]; GET /stats
    import sys

    srv = FakeOpenAI(port=int(sys.argv[1]) if len(sys.argv) > 1 else 0)
    srv.latency = float(sys.argv[2]) if len(sys.argv) > 2 else 0.0
    print(srv.base_url, flush=True)
    srv.serve_forever()
