"""Async calls to an OpenAI-compatible chat endpoint: concurrency, rate limit, retries.

The request goes through the real ``AsyncOpenAI`` client (its transport, timeouts, error
types, response model) via ``client.post("/chat/completions", ...)``, the client's
documented way to send a body as is: it skips the client's per-call transformation of
typed params, which cost ~30% of the client's CPU per request (measured; it capped the
benchmark's throughput), and lets vendor-specific params of compatible endpoints through.

Why our own retry loop (the client gets ``max_retries=0``): every attempt must be
counted and classified for the run's stats, the backoff must honour ``Retry-After``
fully (the client replaces long ones by its own), and the budget must be checked
before each request, which the client cannot do.

* at most ``concurrency`` prompts in flight (a semaphore, held across a prompt's retries
  so a rate-limited endpoint also gets less traffic);
* request starts spaced ``60 / rpm`` seconds apart when ``rpm`` is set;
* retries on 408/409/429/5xx, timeouts, connection errors and unparsable bodies, up to
  ``max_retries``, waiting ``Retry-After`` (seconds or an HTTP-date, or ``retry-after-ms``;
  capped at 300 s) when the reply gives one we can read, else ``backoff_base * 2**attempt``
  (jittered, capped at ``backoff_max``);
* ``max(20, 2 * concurrency)`` prompts in a row with no reply after their retries stop
  the run (:class:`labeling.llm.errors.DeadEndpoint`): an endpoint that is down would
  otherwise cost every prompt its retries and timeouts;
* a 401/403 aborts the run (:class:`LLMError`): every other call would fail the same way;
  so does a 400 naming ``response_format`` (set ``structured_output = false``).

Replies are parsed strictly (:func:`parse_reply`; a multi-label request's list with
:func:`labeling.llm.multilabel.parse_labels`): anything that is not exactly one of the
allowed answers is rejected with a reason, never mapped to a guessed label.

>>> parse_reply('{"answer": "yes"}', ["yes", "no"])
('yes', None)
>>> parse_reply(' "No." ', ["yes", "no"]), parse_reply("Probably yes", ["yes", "no"])
(('no', None), (None, 'off_label'))
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import json
import math
import os
import random
import sys
import time
from dataclasses import dataclass, field
from datetime import timezone
from typing import Awaitable, Callable

from labeling.llm.errors import DeadEndpoint, LLMError
from labeling.llm.multilabel import norm_answer, parse_labels, unfence
from labeling.llm.notes import server_said, tqdm_write
from labeling.llm.requests import Request
from labeling.llm.settings import LLMSettings

_MAX_RETRY_AFTER = 300.0
_SAY_WAIT = 5.0  # a wait the server asks for from this long on is announced (once a runner)
_WARNED: set[str] = set()  # warnings printed already (a run makes a runner per prompt LF)


def parse_reply(content: str | None, answers: list[str]) -> tuple[str | None, str | None]:
    """(answer, None) when ``content`` is exactly an allowed answer -- as JSON
    ``{"answer": ...}`` (in a markdown code fence or not: :func:`unfence`) or as bare
    text, ignoring case, quotes, markdown emphasis and a final period
    (:func:`norm_answer`) -- else
    (None, reason) with reason ``empty``, ``off_label`` or ``bad_json``."""
    if content is None or not content.strip():
        return None, "empty"
    text = unfence(content.strip())
    if not text:
        return None, "empty"
    if text.startswith("{"):
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            return None, "bad_json"
        if not isinstance(value, dict) or not isinstance(value.get("answer"), str):
            return None, "bad_json"
        text = value["answer"]
    norm = norm_answer(text)
    allowed = {a.lower(): a for a in answers}
    return (allowed[norm], None) if norm in allowed else (None, "off_label")


def read_cached(req: Request, entry) -> tuple[str | None, str | None]:
    """(answer, reason) of cache ``entry`` for ``req``: a reply rejected as no answer is
    read again, as the reading may have learned it since (``**No**``, a fenced
    multi-label list at the token limit), so a cached apply gives the votes a fresh one
    gives; a refusal stays one, and a truncated reply while :func:`truncated` holds."""
    if entry.reason in ("off_label", "bad_json", "empty", "truncated"):
        answer, reason = (parse_labels if req.many else parse_reply)(entry.reply,
                                                                     list(req.answers))
        if entry.reason == "truncated" and truncated(entry.reply, "length", answer, req.many):
            return None, "truncated"  # only a reply cut at the token limit was marked so
        return answer, reason
    return entry.answer, entry.reason


def truncated(content: str | None, finish_reason, answer: str | None, many: bool) -> bool:
    """Whether a reply cut at the token limit (``finish_reason == "length"``) is no whole
    answer: it did not parse, or it is a multi-label plain-text list (``spam, ha`` cut
    from ``spam, hate``: its first names would vote without the rest). A one-word answer
    that parsed stands (``max_tokens = 1`` replying ``Yes`` is cut before its period)."""
    if finish_reason != "length":
        return False
    text = (content or "").strip()
    if text.startswith("```"):  # a fenced JSON reply (```json): its body decides
        text = text.partition("\n")[2].lstrip()
    return answer is None or (many and not text.startswith(("{", "[")))


@dataclass
class Outcome:
    """What became of one request: a reply (parsed or rejected) or a failure."""

    reply: str | None = None
    answer: str | None = None
    reason: str | None = None
    tokens_in: int = 0
    tokens_out: int = 0
    usage_reported: bool = False
    latency: float = 0.0
    requests: int = 0
    errors: list[str] = field(default_factory=list)
    said: str | None = None  # what the server said of its last refusal (HTTP status, message)

    @property
    def failed(self) -> bool:
        return self.reply is None and self.reason is None


class RateLimiter:
    """Spaces request starts ``60 / rpm`` s apart (no burst); ``rpm=None`` is no limit."""

    def __init__(self, rpm: float | None, clock=time.monotonic, sleep=asyncio.sleep):
        self.interval = 60.0 / rpm if rpm else 0.0
        self.clock, self.sleep = clock, sleep
        self._next = 0.0

    async def acquire(self) -> None:
        if not self.interval:
            return
        now = self.clock()
        slot = max(now, self._next)  # reserved without awaiting: no lock needed
        self._next = slot + self.interval
        if slot > now:
            await self.sleep(slot - now)


def _seconds(value: str | None, scale: float = 1.0) -> float | None:
    """A non-negative finite number of seconds, or None for anything else (``soon``,
    ``-5``, ``nan``, ``inf``): a header we cannot read counts as absent."""
    try:
        seconds = float(value) * scale
    except (TypeError, ValueError):
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _http_date_wait(value: str) -> float | None:
    """Seconds until an HTTP-date (``Wed, 21 Oct 2015 07:28:00 GMT``; 0 when past), or
    None when ``value`` is not one."""
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # "-0000": UTC without a claim about the source's zone
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, when.timestamp() - time.time())


def _retry_after(headers) -> tuple[float, str] | None:
    """The wait the reply asks for, not capped, and the header that asked it
    (``retry-after-ms``, else ``Retry-After`` in seconds or as an HTTP-date); None when
    absent or unreadable, so the caller backs off as if no header had been sent."""
    if headers is None:
        return None
    wait = _seconds(headers.get("retry-after-ms"), 1 / 1000)
    if wait is not None:
        return wait, "retry-after-ms"
    value = (headers.get("retry-after") or "").strip()
    wait = _seconds(value) if value else None
    if wait is None and value:
        wait = _http_date_wait(value)
    return None if wait is None else (wait, "Retry-After")


def _wait_line(lf: str, status: int, header: str, asked: float, delay: float,
               max_retries: int) -> str:
    """The line for a long wait the server asked: the wait asked, the header that asked
    it and the wait we make (``asked`` capped at ``_MAX_RETRY_AFTER``)."""
    cap = "the most" if delay < asked else f"at most {_MAX_RETRY_AFTER:.0f} s"
    return (f"prompt LF '{lf}': the endpoint asked to wait {asked:.0f} s before a retry "
            f"(HTTP {status} with {header}); waiting {delay:.0f} s ({cap} a retry, up to "
            f"[llm] max_retries = {max_retries} retries a prompt)")


class _Malformed(Exception):
    """A 200 reply without the fields of a chat completion."""


def _content_of(resp):
    """The reply's text (or None), its token counts (None unless both are counts), the
    model's refusal (with structured output, OpenAI gives a refusal's text in ``refusal``
    and no content) and the finish reason (``length``: cut at the token limit)."""
    try:
        message, usage = resp.choices[0].message, resp.usage
        content = message.content
    except (AttributeError, IndexError, TypeError, KeyError) as exc:
        raise _Malformed(str(exc)) from None
    if content is not None and not isinstance(content, str):  # e.g. an object, not its JSON
        raise _Malformed(f"message content is a {type(content).__name__}, not text")
    refusal = getattr(message, "refusal", None)
    refusal = refusal if content is None and isinstance(refusal, str) and refusal else None
    tokens = (getattr(usage, "prompt_tokens", None), getattr(usage, "completion_tokens", None))
    counts = all(isinstance(t, int) and not isinstance(t, bool) and t >= 0 for t in tokens)
    finish = getattr(resp.choices[0], "finish_reason", None)
    return content, (tokens if counts else None), refusal, finish


class EndpointRunner:
    """Runs requests against the endpoint; ``sleep``/``clock`` are injectable for tests."""

    def __init__(self, settings: LLMSettings, sleep=asyncio.sleep, clock=time.monotonic):
        self.settings = settings
        self.sleep, self.clock = sleep, clock
        self._said_wait = False

    def _client(self):
        from openai import AsyncOpenAI

        s = self.settings
        warning = s.cleartext_key_warning()
        if warning is not None and warning not in _WARNED:  # once per process
            _WARNED.add(warning)
            print(warning, file=sys.stderr, flush=True)
        return AsyncOpenAI(api_key=s.api_key(), base_url=s.endpoint_url(), max_retries=0,
                           timeout=s.timeout)

    async def run(self, requests: list[Request], before: Callable[[Request], None],
                  done: Callable[[Request, Outcome], None]) -> None:
        """Answer ``requests``; ``before(req)`` may raise (the budget) to stop starting
        new ones -- in-flight ones finish and are reported, then the error propagates;
        ``done(req, outcome)`` is called on this loop as each finishes."""
        sem = asyncio.Semaphore(self.settings.concurrency)
        limiter = RateLimiter(self.settings.rpm, self.clock, self.sleep)
        stop: list[BaseException] = []
        interrupted: list[KeyboardInterrupt] = []
        client = self._client()
        down = DeadEndpoint(self.settings)
        tasks: list[asyncio.Future] = []

        async def answer(req: Request) -> None:
            async with sem:
                if stop:
                    return
                try:
                    before(req)
                except Exception as exc:
                    stop.append(exc)
                    return
                try:
                    outcome = await self._call(client, limiter, req)
                except LLMError as exc:
                    stop.append(exc)
                    return
                done(req, outcome)
                if down.dead_after(outcome) and not stop:
                    stop.append(LLMError(down.message()))

        async def one(req: Request) -> None:
            try:
                await answer(req)
            except KeyboardInterrupt as exc:
                # a SIGTERM the CLI raises as one (Terminated) lands in whatever frame
                # runs, often this task's: left to asyncio it escapes the loop and the
                # run's task later logs "Task exception was never retrieved" with a
                # traceback; instead the other requests are cancelled (no reply of
                # theirs will be read) and run() raises it
                interrupted.append(exc)
                for task in tasks:
                    if task is not asyncio.current_task():
                        task.cancel()

        try:
            tasks.extend(asyncio.ensure_future(one(r)) for r in requests)
            try:
                await asyncio.gather(*tasks)
            except asyncio.CancelledError:
                if not interrupted:
                    raise
        finally:
            await client.close()
        if interrupted:
            raise interrupted[0]
        if stop:
            raise stop[0]

    async def _call(self, client, limiter: RateLimiter, req: Request) -> Outcome:
        import openai
        from openai.types.chat import ChatCompletion

        s, out = self.settings, Outcome()
        extra = {}
        if req.schema is not None:
            extra["response_format"] = {"type": "json_schema", "json_schema": {
                "name": "answer", "schema": req.schema, "strict": True}}
        start = self.clock()
        for attempt in range(s.max_retries + 1):
            await limiter.acquire()
            out.requests += 1
            wait, out.said = None, None  # what the server said of this attempt, if any
            try:
                # the whole request, also a reply trickling in (the client's own timeout
                # bounds each read, not the sum of them); asyncio.timeout, not wait_for,
                # whose 3.11 version can drop a reply arriving as it times out (then
                # retried and billed twice)
                async with asyncio.timeout(s.timeout):
                    resp = await client.post("/chat/completions", body={
                        "model": req.model, "messages": req.messages, **req.params, **extra},
                        cast_to=ChatCompletion)
                content, usage, refusal, finish = _content_of(resp)
            except openai.APIStatusError as exc:
                status = exc.status_code
                if status in (401, 403):
                    raise LLMError(f"the endpoint rejected the request with HTTP {status}: check "
                                   f"${s.shown_key_env()} and base_url") from None
                if status == 400 and req.schema is not None and "response_format" in str(exc):
                    raise LLMError("the endpoint does not support JSON-schema response_format; "
                                   "set [llm] structured_output = false") from None
                kind = ("rate_limited" if status == 429 else "server_error" if status >= 500
                        else "timeout" if status == 408 else "client_error")
                retryable = status in (408, 409, 429) or status >= 500
                wait = _retry_after(exc.response.headers)
                out.said = server_said(exc, os.environ.get(s.api_key_env, ""))
            except (openai.APITimeoutError, asyncio.TimeoutError):
                kind, retryable = "timeout", True
            except openai.APIConnectionError:
                kind, retryable = "connection", True
            except (ValueError, _Malformed, openai.APIResponseValidationError):
                kind, retryable = "malformed", True  # e.g. a truncated JSON body
            else:
                out.reply = content
                parse = parse_labels if req.many else parse_reply
                out.answer, out.reason = parse(content, list(req.answers))
                if truncated(content, finish, out.answer, req.many):  # raise max_tokens
                    out.answer, out.reason = None, "truncated"
                if refusal is not None:  # kept as the reply: the app shows it
                    out.reply, out.reason = refusal, "refusal"
                if usage is not None:
                    out.tokens_in, out.tokens_out = usage
                    out.usage_reported = True
                out.latency = self.clock() - start
                return out
            out.errors.append(kind)
            if not retryable or attempt == s.max_retries:
                break
            if wait is not None:
                asked, header = wait
                delay = min(asked, _MAX_RETRY_AFTER)
                if delay >= _SAY_WAIT and not self._said_wait:  # else a silent stall
                    self._said_wait = True
                    tqdm_write(_wait_line(req.lf, status, header, asked, delay, s.max_retries))
            else:
                delay = min(s.backoff_base * 2 ** attempt, s.backoff_max) * random.uniform(0.5, 1)
            await self.sleep(delay)
        out.latency = self.clock() - start
        return out


def run_sync(coro_factory: Callable[[], Awaitable]):
    """Run a coroutine from sync code, also when the caller already has an event loop
    (notebooks, Streamlit): then on a helper thread with its own loop. A Ctrl+C there
    (a notebook's interrupt) lands in this thread's wait: the helper's run is cancelled
    (no new request; the replies so far are kept) before it is raised, where leaving the
    pool would have waited for every remaining prompt to be asked, and paid for."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro_factory())
    import concurrent.futures

    running: concurrent.futures.Future = concurrent.futures.Future()

    async def main():
        running.set_result((asyncio.get_running_loop(), asyncio.current_task()))
        return await coro_factory()

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        future = pool.submit(asyncio.run, main())
        try:
            return future.result()
        except KeyboardInterrupt:
            loop, task = running.result()
            with contextlib.suppress(RuntimeError):  # its loop closed: it ended meanwhile
                loop.call_soon_threadsafe(task.cancel)
            concurrent.futures.wait([future])
            raise
