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
import os
import re
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
from labeling.serve.replies import (JSONResponse, content_type, cut_off, dump, error, finite,
                                    internal_error, one_line, read_body, send_json)

__all__ = ["ModelServer", "dump", "finite", "internal_error", "one_line"]
INFER_PATH = re.compile(r"/v2/models/([^/]+)(?:/versions/([^/]+))?/infer")


def client_gone(receive):
    """``gone()`` for the batcher: whether the request's client has disconnected, read
    from uvicorn's request cycle (``receive`` is its method); None on another server."""
    cycle = getattr(receive, "__self__", None)
    return (lambda: cycle.disconnected) if hasattr(cycle, "disconnected") else None


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
        # the version a URL may also name: the model file's sha256 prefix (the version
        # before it was the export time; a client that pinned it keeps working)
        self.sha12 = str(exported.card.get("model_sha256") or "")[:12] or version
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
            await send_json(send, 403, dump(one_line(refused)))
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
                    answer = cut_off(scope)
                await send_json(send, *answer)
                return
        if scope["type"] != "http":  # the lifespan
            await self.starlette(scope, receive, send)
            return
        await self._starlette(scope, receive, send)

    async def _starlette(self, scope, receive, send) -> None:
        """Starlette's answer, but nothing escapes to uvicorn: Starlette re-raises every
        exception after its 500 handler has answered (uvicorn then logged a second
        traceback, without the reference, and closed the connection), and one escaping
        before any answer, or a cancellation (a stop out of time), got uvicorn's plain-text
        500. Here either gets the JSON error of the inference routes, once."""
        started = False

        async def sending(message) -> None:
            nonlocal started
            started = True
            await send(message)

        try:
            await self.starlette(scope, receive, sending)
        except asyncio.CancelledError:
            if not started:
                await send_json(send, *cut_off(scope))
        except Exception:  # noqa: BLE001 - answered (and logged) by server_error, or now
            if not started:
                await send_json(send, 500, dump(one_line(internal_error(
                    scope["method"], scope["path"]))))

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
        except asyncio.CancelledError:
            # a second SIGTERM/Ctrl+C during a stop: uvicorn skips the lifespan's exit and
            # the event loop's end cancels it here instead; the stop below still runs, and
            # Starlette no longer logs the cancellation as a failed shutdown's traceback
            pass
        finally:  # SIGTERM/SIGINT: uvicorn has stopped accepting and let requests finish
            self.ready = False
            await self.batcher.stop()  # every queued text answered first
            if self.model_process is not None:
                self.model_process.stop()
            gc.unfreeze()  # an app run inside another program hands its objects back

    # --- errors ---------------------------------------------------------------------

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
        if version is not None and version != self.version and version != self.sha12:
            raise RequestError(404, f"unknown version {version!r} of model {self.name!r}; "
                                    f"it has {self.version!r}")

    def _check_request_model(self, request: Request) -> None:
        self._check_model(request.path_params["name"], request.path_params.get("version"))

    async def live(self, request: Request) -> JSONResponse:
        return JSONResponse({"live": True})

    async def server_ready(self, request: Request) -> JSONResponse:
        return JSONResponse({"ready": self.ready}, status_code=200 if self.ready else 503)

    async def server_metadata(self, request: Request) -> JSONResponse:
        # the protocol's server metadata: the server's own version, not the model's
        return JSONResponse({"name": "labeling", "version": __version__, "extensions": [],
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
                kind = content_type(scope)
                if kind and "json" not in kind and not body.lstrip()[:1] in (b"{", b"["):
                    raise RequestError(exc.status, f"{exc} (Content-Type: {kind}; send a JSON "
                                                   "body as application/json)") from None
                raise

    async def _infer(self, scope: dict, receive, name: str, version: str | None) -> dict:
        self._check_model(name, version)
        parsed = infer_request(await self._payload(scope, receive), self.limits)
        proba = finite(await self.batcher.predict(parsed.texts, client_gone(receive)))
        self._count(proba)
        return infer_response(parsed, proba, self.exported.labels, self.name, self.version,
                              self.thresholds)

    async def _predict(self, scope: dict, receive) -> dict:
        texts = predict_texts(await self._payload(scope, receive), self.limits)
        proba = finite(await self.batcher.predict(texts, client_gone(receive)))
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
