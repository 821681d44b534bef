"""The ASGI application: routes, body limit, JSON errors, the model's lifespan.

Every answer is JSON. A refused request gets a 4xx and ``{"error": "<one line>"}`` (the
v2 protocol's error object): unknown routes and methods included, so a client never has
to parse an HTML or plain-text error page. A 500 would mean a bug in the server or the
model, never bad input.

Two paths: the inference routes (``POST /predict`` and ``POST /v2/models/{name}[/versions
/{version}]/infer``) are answered by :meth:`ModelServer.__call__` on plain ASGI messages,
everything else (health, metadata, the lifespan, unknown routes and methods) by a
Starlette application. The hot path skips Starlette's middleware, routing, Request and
Response objects: with one short text per request, those were about half of the server's
Python time per request (docs/serve.md, "Measured"). Both paths answer with the same
bodies, statuses and errors.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import os
import re
import secrets
from datetime import datetime, timezone

import numpy as np
import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from labeling import __version__
from labeling.export import ExportedModel
from labeling.export.multilabel_io import multilabel_thresholds
from labeling.serve.batcher import MicroBatcher
from labeling.serve.model_process import ModelProcess, warm_up
from labeling.serve.protocol import (Limits, RequestError, infer_request, infer_response,
                                     loopback_host, model_metadata, parse_json,
                                     predict_response, predict_texts, provenance)

log = logging.getLogger("labeling.serve")
INFER_PATH = re.compile(r"/v2/models/([^/]+)(?:/versions/([^/]+))?/infer")


class JSONResponse(Response):
    """Compact JSON (no spaces); ``allow_nan=False``: a NaN probability is a bug, not JSON."""

    media_type = "application/json"

    def render(self, content) -> bytes:
        return dump(content)


def dump(content) -> bytes:
    return json.dumps(content, separators=(",", ":"), allow_nan=False).encode("utf-8")


def finite(proba: np.ndarray) -> np.ndarray:
    """``proba`` if every number is finite. The answers are written by orjson (several
    times faster than json.dumps on them, the same JSON values), which would write a NaN
    as null where json.dumps refuses it: a NaN probability is a bug, answered as a 500."""
    if not np.isfinite(proba).all():
        raise ValueError("the model returned a probability that is not a finite number")
    return proba


def one_line(message) -> dict:
    return {"error": " ".join(str(message).split())}


def internal_error(method: str, path: str) -> str:
    """Log the exception being handled, with its traceback, under a fresh reference, and
    return the client's one line, which names the reference but not the exception: its
    text can hold a path, a text of another request or the model's internals."""
    reference = secrets.token_hex(6)
    log.exception("internal error %s serving %s %s", reference, method, path)
    return f"internal error (reference {reference}; the server log has the details)"


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse(one_line(message), status_code=status)


async def read_body(scope: dict, receive, limit: int, timeout_s: float = 30.0) -> bytes:
    """The request body, refused (413) as soon as it exceeds ``limit`` bytes: by its
    Content-Length before reading, and while reading a chunked body; and (408) when no
    byte of it arrives for ``timeout_s`` seconds (a slow upload that keeps sending is
    read to its end)."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            if not value.isdigit():
                raise RequestError(400, "invalid Content-Length header "
                                        f"{value.decode('latin-1')!r}")
            if int(value) > limit:
                raise RequestError(413, f"request body of {int(value)} bytes; at most "
                                        f"{limit} (--max-body-bytes)")
    chunks, size = [], 0
    while True:
        try:
            async with asyncio.timeout(timeout_s):
                message = await receive()
        except TimeoutError:
            raise RequestError(408, f"no byte of the request body for {timeout_s:g} s "
                                    f"({size} bytes received)") from None
        if message["type"] != "http.request":  # http.disconnect
            raise RequestError(400, "client disconnected before sending the whole body")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise RequestError(413, f"request body over {limit} bytes (--max-body-bytes)")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def _send(send, status: int, body: bytes) -> None:
    """One complete JSON answer on plain ASGI."""
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-length", str(len(body)).encode()),
                            (b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})


def _content_type(scope: dict) -> str:
    """The request's media type (``multipart/form-data``), or "" when it sent none."""
    for name, value in scope["headers"]:
        if name == b"content-type":
            return value.decode("latin-1").split(";")[0].strip().lower()
    return ""


class ModelServer:
    """The exported model behind both APIs; ``app`` is the ASGI application (the server
    itself: the inference routes on plain ASGI, the rest via Starlette)."""

    def __init__(self, exported: ExportedModel, name: str, version: str,
                 limits: Limits | None = None, max_batch: int = 256, max_wait_ms: float = 2.0,
                 max_queue: int = 16_384, model_process: ModelProcess | None = None,
                 local_only: bool = False):
        self.exported = exported
        # answer only requests whose Host names the loopback (`labeling serve` without
        # --allow-remote): a web page reaching the server by DNS rebinding names itself
        self.local_only = local_only
        self._local_hosts: set[bytes] = set()  # Host values seen to be loopback names
        # the model in a child process while the server runs (its lifespan), else in
        # this process's model thread
        self.model_process = model_process
        self.name, self.version = name, version
        self.limits = limits or Limits()
        # a multi-label model answers label sets with its card's thresholds (refused here,
        # as by `labeling predict`, when card and model are of different kinds)
        self.thresholds = multilabel_thresholds(exported)
        self.batcher = MicroBatcher(exported.predict_proba, max_batch, max_wait_ms, max_queue)
        # answers since the start, per label (multi-label: texts whose set holds it, and
        # texts given none), for watching the label distribution (GET /stats)
        self.counts = np.zeros(len(exported.labels), dtype=np.int64)
        self.requests = self.texts = self.no_label = 0
        self.since = datetime.now(timezone.utc).isoformat(timespec="seconds")
        self.ready = False
        self.startup_error: str | None = None  # why the lifespan failed, for one line
        self.on_ready = None  # called once the model runs (a worker process tells its parent)
        self.platform = f"labeling-{exported.runtime}"
        routes = [  # POSTs to the inference routes are answered by __call__ first
            Route("/predict", self.predict, methods=["POST"]),
            Route("/v2/models/{name}/infer", self.infer, methods=["POST"]),
            Route("/stats", self.stats, methods=["GET"]),
            Route("/v2/health/live", self.live, methods=["GET"]),
            Route("/v2/health/ready", self.server_ready, methods=["GET"]),
            Route("/v2", self.server_metadata, methods=["GET"]),
            Route("/v2/models/{name}", self.metadata, methods=["GET"]),
            Route("/v2/models/{name}/ready", self.model_ready, methods=["GET"]),
            Route("/v2/models/{name}/versions/{version}", self.metadata, methods=["GET"]),
            Route("/v2/models/{name}/versions/{version}/ready", self.model_ready,
                  methods=["GET"]),
            Route("/v2/models/{name}/versions/{version}/infer", self.infer, methods=["POST"]),
        ]
        self.starlette = Starlette(routes=routes, lifespan=self.lifespan,
                                   exception_handlers={HTTPException: self.http_error,
                                                       RequestError: self.request_error,
                                                       Exception: self.server_error})
        self.app = self

    async def __call__(self, scope, receive, send) -> None:
        """ASGI: ``POST`` to an inference route on the hot path, the rest to Starlette."""
        if self.local_only and scope["type"] == "http" and (
                refused := self._foreign_host(scope)) is not None:
            await _send(send, 403, dump(one_line(refused)))
            return
        if scope["type"] == "http" and scope["method"] == "POST":
            path = scope["path"]
            if path == "/predict":
                work = self._predict(scope, receive)
            elif path.startswith("/v2/models/") and (match := INFER_PATH.fullmatch(path)):
                work = self._infer(scope, receive, *match.groups())
            else:
                work = None
            if work is not None:
                try:
                    answer = await self._answer(work, scope)
                except asyncio.CancelledError:  # uvicorn's graceful stop ran out of time
                    answer = self._cut_off(scope)
                await _send(send, *answer)
                return
        await self.starlette(scope, receive, send)

    def _foreign_host(self, scope: dict) -> str | None:
        """Why the request's Host header is refused (it names no loopback), or None; a
        request without one (HTTP/1.0; a browser always sends one) is answered."""
        for name, value in scope["headers"]:
            if name == b"host" and value not in self._local_hosts:
                host = value.decode("latin-1")
                if not loopback_host(host):
                    return (f"Host {host!r} is not a loopback name, and this server "
                            "answers only requests to 127.0.0.1 or localhost (a web page "
                            "reaching it by DNS rebinding sends its own name); behind a "
                            "reverse proxy passing another Host, serve with --allow-remote")
                if len(self._local_hosts) < 64:
                    self._local_hosts.add(value)
        return None

    @contextlib.asynccontextmanager
    async def lifespan(self, app):
        # The loaded model and its libraries are ~300k objects the garbage collector would
        # walk on every full collection (0.1-0.5 s, a p99 latency spike under load); they
        # live as long as the server, so they are moved out of its sight once.
        loop = asyncio.get_running_loop()
        try:
            if self.model_process is None:  # (a model process warms its model up itself)
                await loop.run_in_executor(None, warm_up, self.exported)
            gc.collect()
            gc.freeze()
            if self.model_process is not None:
                await loop.run_in_executor(None, self.model_process.start)
                self.batcher.predict_proba = self.model_process.predict_proba
        except Exception as exc:
            self.startup_error = (f"model {self.name!r} failed on its first text "
                                  f"({type(exc).__name__}: {' '.join(str(exc).split())})")
            raise
        await self.batcher.start()
        self.ready = True
        if self.on_ready is not None:
            self.on_ready()
        try:
            yield
        finally:  # SIGTERM/SIGINT: uvicorn has stopped accepting and let requests finish
            self.ready = False
            await self.batcher.stop()  # every queued text answered first
            if self.model_process is not None:
                self.model_process.stop()
            gc.unfreeze()  # an app run inside another program hands its objects back

    # --- errors ---------------------------------------------------------------------

    def _cut_off(self, scope: dict) -> tuple[int, bytes]:
        """A JSON 503 (one log line) for a request still waiting for the model when a stop
        by signal ran out of time (--graceful-timeout): uvicorn cancels it, and used to
        answer a plain-text 500 and log a traceback."""
        log.warning("%s %s cut off: the server stopped before the model answered it "
                    "(--graceful-timeout); answered 503", scope["method"], scope["path"])
        return 503, dump(one_line("the server stopped before the model answered this "
                                  "request; retry (on another server)"))

    async def http_error(self, request: Request, exc: HTTPException) -> JSONResponse:
        if exc.status_code == 404:
            return error(404, f"no route {request.method} {request.url.path}; see "
                              "GET /v2/models/<name>, POST /v2/models/<name>/infer, "
                              "POST /predict")
        if exc.status_code == 405:
            return error(405, f"method {request.method} not allowed on {request.url.path}")
        return error(exc.status_code, exc.detail)

    async def request_error(self, request: Request, exc: RequestError) -> JSONResponse:
        return error(exc.status, str(exc))

    async def server_error(self, request: Request, exc: Exception) -> JSONResponse:
        return error(500, internal_error(request.method, request.url.path))

    # --- health and metadata --------------------------------------------------------

    def _check_model(self, name: str, version: str | None = None) -> None:
        if name != self.name:
            raise RequestError(404, f"unknown model {name!r}; this server serves {self.name!r}")
        if version is not None and version != self.version:
            raise RequestError(404, f"unknown version {version!r} of model {self.name!r}; "
                                    f"it has {self.version!r}")

    def _check_request_model(self, request: Request) -> None:
        self._check_model(request.path_params["name"], request.path_params.get("version"))

    async def live(self, request: Request) -> JSONResponse:
        return JSONResponse({"live": True})

    async def server_ready(self, request: Request) -> JSONResponse:
        return JSONResponse({"ready": self.ready}, status_code=200 if self.ready else 503)

    async def server_metadata(self, request: Request) -> JSONResponse:
        return JSONResponse({"name": "labeling", "version": self.version, "extensions": [],
                             "models": [self.name]})

    async def metadata(self, request: Request) -> JSONResponse:
        self._check_request_model(request)
        return JSONResponse(model_metadata(self.name, self.version, self.exported.labels,
                                           self.platform, self.thresholds, provenance(
                                               self.exported.card, self.exported.runtime,
                                               __version__)))

    async def stats(self, request: Request) -> JSONResponse:
        """The answers given since this process started, per label: counters a monitor
        reads now and then, the label distribution of an interval being the difference."""
        answer = {"name": self.name, "version": self.version, "since": self.since,
                  "pid": os.getpid(), "requests": self.requests, "texts": self.texts,
                  "labels": dict(zip(self.exported.labels, self.counts.tolist()))}
        if self.thresholds is not None:
            answer["no_label"] = self.no_label
        return JSONResponse(answer)

    def _count(self, proba: np.ndarray) -> None:
        self.requests += 1
        self.texts += len(proba)
        if not len(proba):
            return
        if self.thresholds is None:  # the answer: the first most probable label
            self.counts += np.bincount(proba.argmax(axis=1), minlength=len(self.counts))
        else:
            chosen = proba >= self.thresholds
            self.counts += chosen.sum(axis=0)
            self.no_label += int((~chosen.any(axis=1)).sum())

    async def model_ready(self, request: Request) -> JSONResponse:
        self._check_request_model(request)
        return JSONResponse({"name": self.name, "ready": self.ready},
                            status_code=200 if self.ready else 503)

    # --- inference ------------------------------------------------------------------

    async def _answer(self, work, scope: dict) -> tuple[int, bytes]:
        """(status, JSON body) of an inference request: 200 and the answer, a 4xx and its
        one-line error, or a 500 naming an error of the model or the server."""
        try:
            return 200, orjson.dumps(await work)
        except RequestError as exc:
            return exc.status, dump(one_line(exc))
        except Exception:  # noqa: BLE001 - a bug or a model failure: a JSON 500
            return 500, dump(one_line(internal_error(scope["method"], scope["path"])))

    async def _payload(self, scope: dict, receive) -> dict:
        with self.batcher.arriving():
            body = await read_body(scope, receive, self.limits.max_body_bytes,
                                   self.limits.body_timeout_s)
            try:
                return parse_json(body)
            except RequestError as exc:  # a form or a file upload: say what was sent
                kind = _content_type(scope)
                if kind and "json" not in kind and not body.lstrip()[:1] in (b"{", b"["):
                    raise RequestError(exc.status, f"{exc} (Content-Type: {kind}; send a JSON "
                                                   "body as application/json)") from None
                raise

    async def _infer(self, scope: dict, receive, name: str, version: str | None) -> dict:
        self._check_model(name, version)
        parsed = infer_request(await self._payload(scope, receive), self.limits)
        proba = finite(await self.batcher.predict(parsed.texts))
        self._count(proba)
        return infer_response(parsed, proba, self.exported.labels, self.name, self.version,
                              self.thresholds)

    async def _predict(self, scope: dict, receive) -> dict:
        texts = predict_texts(await self._payload(scope, receive), self.limits)
        proba = finite(await self.batcher.predict(texts))
        self._count(proba)
        return predict_response(proba, self.exported.labels, self.thresholds)

    # The same answers through Starlette's routing: only reached when the Starlette app is
    # mounted on its own (``server.starlette``); uvicorn's requests take ``__call__``.

    async def infer(self, request: Request) -> Response:
        status, body = await self._answer(self._infer(
            request.scope, request.receive, request.path_params["name"],
            request.path_params.get("version")), request.scope)
        return Response(body, status, media_type="application/json")

    async def predict(self, request: Request) -> Response:
        status, body = await self._answer(self._predict(request.scope, request.receive),
                                          request.scope)
        return Response(body, status, media_type="application/json")
