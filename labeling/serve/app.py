"""The ASGI application (Starlette): routes, body limit, JSON errors, the model's lifespan.

Every answer is JSON. A refused request gets a 4xx and ``{"error": "<one line>"}`` (the
v2 protocol's error object): unknown routes and methods included, so a client never has
to parse an HTML or plain-text error page. A 500 would mean a bug in the server or the
model, never bad input.
"""

from __future__ import annotations

import contextlib
import gc
import json
import logging

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from labeling.export import ExportedModel
from labeling.serve.batcher import MicroBatcher
from labeling.serve.protocol import (Limits, RequestError, infer_request, infer_response,
                                     model_metadata, parse_json, predict_response,
                                     predict_texts)

log = logging.getLogger("labeling.serve")


class JSONResponse(Response):
    """Compact JSON (no spaces); ``allow_nan=False``: a NaN probability is a bug, not JSON."""

    media_type = "application/json"

    def render(self, content) -> bytes:
        return json.dumps(content, separators=(",", ":"), allow_nan=False).encode("utf-8")


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": " ".join(str(message).split())}, status_code=status)


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused (413) as soon as it exceeds ``limit`` bytes: by its
    Content-Length before reading, and while reading a chunked body."""
    length = request.headers.get("content-length")
    if length is not None:
        if not length.isdigit():
            raise RequestError(400, f"invalid Content-Length header {length!r}")
        if int(length) > limit:
            raise RequestError(413, f"request body of {int(length)} bytes; at most {limit} "
                                    "(--max-body-bytes)")
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise RequestError(413, f"request body over {limit} bytes (--max-body-bytes)")
            chunks.append(chunk)
    except ClientDisconnect:
        raise RequestError(400, "client disconnected before sending the whole body") from None
    return b"".join(chunks)


class ModelServer:
    """The exported model behind both APIs; ``app`` is the Starlette application."""

    def __init__(self, exported: ExportedModel, name: str, version: str,
                 limits: Limits | None = None, max_batch: int = 256, max_wait_ms: float = 2.0,
                 max_queue: int = 16_384):
        self.exported = exported
        self.name, self.version = name, version
        self.limits = limits or Limits()
        self.batcher = MicroBatcher(exported.predict_proba, max_batch, max_wait_ms, max_queue)
        self.ready = False
        self.platform = f"labeling-{exported.runtime}"
        routes = [  # the inference routes first: Starlette tries them in order
            Route("/predict", self.predict, methods=["POST"]),
            Route("/v2/models/{name}/infer", self.infer, methods=["POST"]),
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
        self.app = Starlette(routes=routes, lifespan=self.lifespan,
                             exception_handlers={HTTPException: self.http_error,
                                                 RequestError: self.request_error,
                                                 Exception: self.server_error})

    @contextlib.asynccontextmanager
    async def lifespan(self, app):
        # The loaded model and its libraries are ~300k objects the garbage collector would
        # walk on every full collection (0.1-0.5 s, a p99 latency spike under load); they
        # live as long as the server, so they are moved out of its sight once.
        gc.collect()
        gc.freeze()
        await self.batcher.start()
        self.ready = True
        try:
            yield
        finally:  # SIGTERM/SIGINT: uvicorn has stopped accepting and let requests finish
            self.ready = False
            await self.batcher.stop()
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
        log.exception("error serving %s %s", request.method, request.url.path)
        return error(500, f"internal error: {type(exc).__name__}: {exc}")

    # --- health and metadata --------------------------------------------------------

    def _check_model(self, request: Request) -> None:
        name = request.path_params["name"]
        if name != self.name:
            raise RequestError(404, f"unknown model {name!r}; this server serves {self.name!r}")
        version = request.path_params.get("version")
        if version is not None and version != self.version:
            raise RequestError(404, f"unknown version {version!r} of model {self.name!r}; "
                                    f"it has {self.version!r}")

    async def live(self, request: Request) -> JSONResponse:
        return JSONResponse({"live": True})

    async def server_ready(self, request: Request) -> JSONResponse:
        return JSONResponse({"ready": self.ready}, status_code=200 if self.ready else 503)

    async def server_metadata(self, request: Request) -> JSONResponse:
        return JSONResponse({"name": "labeling", "version": self.version, "extensions": [],
                             "models": [self.name]})

    async def metadata(self, request: Request) -> JSONResponse:
        self._check_model(request)
        return JSONResponse(model_metadata(self.name, self.version, self.exported.labels,
                                           self.platform))

    async def model_ready(self, request: Request) -> JSONResponse:
        self._check_model(request)
        return JSONResponse({"name": self.name, "ready": self.ready},
                            status_code=200 if self.ready else 503)

    # --- inference ------------------------------------------------------------------

    async def _payload(self, request: Request) -> dict:
        with self.batcher.arriving():
            return parse_json(await read_body(request, self.limits.max_body_bytes))

    async def infer(self, request: Request) -> JSONResponse:
        self._check_model(request)
        parsed = infer_request(await self._payload(request), self.limits)
        proba = await self.batcher.predict(parsed.texts)
        return JSONResponse(infer_response(parsed, proba, self.exported.labels, self.name,
                                           self.version))

    async def predict(self, request: Request) -> JSONResponse:
        texts = predict_texts(await self._payload(request), self.limits)
        proba = await self.batcher.predict(texts)
        return JSONResponse(predict_response(proba, self.exported.labels))
