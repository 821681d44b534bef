"""The server's answers on the wire: compact JSON bodies, one-line errors, a 500's log
reference, and reading a request body within its limits (size and idle time).

Every answer is JSON: a refused request gets ``{"error": "<one line>"}`` (the v2
protocol's error object); an internal error gets one line naming a reference under which
the server's log holds the exception and its traceback, never the exception's text.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets

import numpy as np
from starlette.responses import Response

from labeling.serve.protocol import RequestError

log = logging.getLogger("labeling.serve")


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
    log.exception("internal error %s serving %s %s", reference, method, path,
                  extra={"reference": reference})
    return f"internal error (reference {reference}; the server log has the details)"


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse(one_line(message), status_code=status)


def cut_off(scope: dict) -> tuple[int, bytes]:
    """A JSON 503 (one log line) for a request still waiting when a stop by signal ran out
    of time (--graceful-timeout): uvicorn cancels it, and used to answer a plain-text 500
    and log a traceback."""
    log.warning("%s %s cut off: the server stopped before the model answered it "
                "(--graceful-timeout); answered 503", scope["method"], scope["path"])
    return 503, dump(one_line("the server stopped before the model answered this "
                              "request; retry (on another server)"))


async def read_body(scope: dict, receive, limit: int, timeout_s: float = 30.0) -> bytes:
    """The request body, refused (413) as soon as it exceeds ``limit`` bytes: by its
    Content-Length before reading, and while reading a chunked body; and (408) when no
    byte of it arrives for ``timeout_s`` seconds (a slow upload that keeps sending is
    read to its end); and (415) a compressed one, which was read as text before."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            if not value.isdigit():
                raise RequestError(400, "invalid Content-Length header "
                                        f"{value.decode('latin-1')!r}")
            if int(value) > limit:
                raise RequestError(413, f"request body of {int(value)} bytes; at most "
                                        f"{limit} (--max-body-bytes)")
        elif name == b"content-encoding" and value.strip().lower() not in (b"identity", b""):
            raise RequestError(415, f"Content-Encoding {value.decode('latin-1')!r}: the "
                                    "server reads only uncompressed JSON bodies; send it "
                                    "without compression")
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


async def send_json(send, status: int, body: bytes) -> None:
    """One complete JSON answer on plain ASGI."""
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-length", str(len(body)).encode()),
                            (b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})


def content_type(scope: dict) -> str:
    """The request's media type (``multipart/form-data``), or "" when it sent none."""
    for name, value in scope["headers"]:
        if name == b"content-type":
            return value.decode("latin-1").split(";")[0].strip().lower()
    return ""
