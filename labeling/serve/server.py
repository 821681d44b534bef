"""Running the server: loopback unless asked otherwise, a socket bound before uvicorn starts,
and a graceful stop on SIGTERM/SIGINT.

The server has no authentication, so it listens on 127.0.0.1 by default and refuses any
other address unless ``allow_remote`` is given. The socket is bound here, not by uvicorn:
a port in use becomes a one-line error, and port 0 (any free port) reports the port it
got before the first request.

uvicorn owns the signals: on SIGTERM or SIGINT it stops accepting connections (after
taking those the kernel had already accepted: :class:`DrainingServer`), lets the requests
in flight finish (at most ``graceful_seconds``), then runs the app's lifespan exit, which
answers every queued text before the model thread stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import ipaddress
import logging
import signal
import socket
import sys
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from labeling.errors import LabelingError
from labeling.export import ExportedModel, load_exported
from labeling.serve.app import ModelServer
from labeling.serve.logs import check_log_format, configure_server_log, uvicorn_log_config
from labeling.serve.model_process import ModelProcess
from labeling.serve.protocol import Limits
from labeling.serve.replies import dump, one_line

DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 8000


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a host name: it may resolve anywhere
        return False


def check_host(host: str, allow_remote: bool = False) -> None:
    """Refuse a non-loopback ``host`` unless ``allow_remote``: the API has no auth."""
    if not is_loopback(host) and not allow_remote:
        raise LabelingError(f"--host {host} is not a loopback address and the server has no "
                            "authentication; pass --allow-remote to listen on it anyway")


def check_port(port: int) -> None:
    """Refuse a port outside 0-65535: the resolver took 70000 as 70000 - 65536 (the server
    then listened on port 4464) and -1 as a service name it blamed on the host."""
    if not 0 <= port <= 65535:
        raise LabelingError(f"--port {port}: must be between 0 and 65535 (0: any free port)")


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0: any free port). Never SO_REUSEPORT:
    a port something else listens on is an error, not shared (``--workers`` shares this
    one socket with its worker processes instead)."""
    check_port(port)
    host = host.strip("[]")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise LabelingError(f"--host {host}: cannot resolve: {exc.strerror}") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise LabelingError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock


def model_identity(exported: ExportedModel, model_dir: Path) -> tuple[str, str]:
    """The v2 model name (the card's task, else the folder's name) and version (when it
    was exported, :func:`export_version`)."""
    name = exported.card.get("task") or Path(model_dir).resolve().name
    return str(name), export_version(exported.card)


def export_version(card: dict) -> str:
    """A model's v2 version: its export time in UTC, ``20261207T141608Z`` (ISO 8601's
    basic form: a URL path segment, a file name or an image tag as it is), which a person
    reads and a later export sorts after; the model file's sha256, which says exactly
    which model it is, is in the metadata's provenance. A card without a readable export
    time (written by hand) gets the first 12 hex digits of that sha256, as before."""
    try:
        when = datetime.fromisoformat(str(card["exported_at"]))
    except (KeyError, ValueError):
        return str(card.get("model_sha256") or "1")[:12]
    if when.tzinfo is not None:
        when = when.astimezone(timezone.utc)
    return when.strftime("%Y%m%dT%H%M%SZ")


def build_server(model_dir: Path, runtime: str = "sklearn", name: str | None = None,
                 limits: Limits | None = None, max_batch: int = 256, max_wait_ms: float = 2.0,
                 max_queue: int = 16_384, model_process: bool = False,
                 local_only: bool = False) -> ModelServer:
    """Load the exported model (card and hashes checked) and wrap it in a server;
    ``model_process``: while serving, the model runs in a child process of its own
    (labeling.serve.model_process), which loads the folder again; ``local_only``: answer
    only requests whose Host names the loopback (:func:`serve` sets it unless
    ``allow_remote``)."""
    if max_batch < 1 or max_queue < 1 or not 0 <= max_wait_ms <= 1000:
        raise LabelingError("--max-batch and --max-queue must be >= 1 and --max-wait-ms in "
                            f"[0, 1000], not {max_batch}, {max_queue}, {max_wait_ms}")
    exported = load_exported(Path(model_dir), runtime)
    default_name, version = model_identity(exported, model_dir)
    name = name or default_name
    if not name or "/" in name:
        raise LabelingError(f"--name {name!r}: a model name must be non-empty, without '/'")
    return ModelServer(exported, name, version, limits, max_batch, max_wait_ms, max_queue,
                       ModelProcess(model_dir, runtime) if model_process else None,
                       local_only)


@contextlib.contextmanager
def _quiet_signals(uv: uvicorn.Server):
    """A SIGTERM or SIGINT before uvicorn has installed its handlers (while the ``serving``
    line is printed, or uvicorn sets up) is a stop too: it used to kill the process at
    once, with status -15 and no ``stopped``. And after a graceful stop, uvicorn raises the
    signal again for the handlers it found (the default SIGTERM handler would kill the
    process, SIGINT's would raise KeyboardInterrupt); with these a stop by signal ends in a
    normal return."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    signals = (signal.SIGINT, signal.SIGTERM)
    previous = {sig: signal.signal(sig, lambda *_: setattr(uv, "should_exit", True))
                for sig in signals}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def process_ending() -> None:
    """Call once a server has stopped (every answer sent, the model thread or process
    ended) and its process is about to exit: the model's objects and libraries (~300k of
    them) are moved out of the garbage collector's sight, so the interpreter's exit does
    not walk them all in a last collection. That walk kept a stopped `labeling serve` (and
    each ``--workers`` process) alive 0.4-1.6 s after its last answer; with it, ~0.1 s."""
    gc.freeze()


def serve(server: ModelServer, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
          allow_remote: bool = False, access_log: bool = False, graceful_seconds: float = 10,
          on_listen: Callable[[str], None] | None = None, log_format: str = "text") -> None:
    """Listen on ``host:port`` and serve until SIGTERM/SIGINT; ``on_listen(url)`` once the
    socket is bound (the URL carries the actual port when ``port`` is 0); ``log_format``:
    ``text`` or ``json`` (one JSON object per log line)."""
    check_host(host, allow_remote)
    check_log_format(log_format)
    server.local_only = not allow_remote  # loopback: only Host names of the loopback
    sock = bind(host, port)
    try:
        run_uvicorn(server, sock, access_log, graceful_seconds, log_format, on_listen)
    finally:
        sock.close()


def listening_message(name: str, runtime: str, url: str) -> str:
    """The line `labeling serve` prints once it listens."""
    return (f"serving {name} ({runtime}) on {url}  (POST {url}/predict, "
            f"{url}/v2/models/{name}/infer; Ctrl+C stops)")


def url_of(sock: socket.socket) -> str:
    """``http://HOST:PORT`` of a bound socket (the actual port when it asked for 0)."""
    bound = sock.getsockname()
    shown = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
    return f"http://{shown}:{bound[1]}"


class JSONErrorsProtocol(HttpToolsProtocol):
    """uvicorn's HTTP protocol (httptools), but a request its parser refuses before the app
    sees it (a Content-Length that is not a number or given twice, with Transfer-Encoding
    too, a bad chunk size, a garbled request line) gets the server's one-line JSON error,
    not uvicorn's plain-text "Invalid HTTP request received.".

    And a request's headers have ``header_timeout`` seconds to arrive, from the connection
    (or the previous answer on it): uvicorn has no such timeout, so a client holding
    connections open while sending nothing, or a header byte now and then (slowloris),
    kept each for ever, until the server had no file descriptor left to accept others."""

    header_timeout: float = 30.0
    stopping = False  # set on the class uvicorn_config makes, when its server stops
    _header_timer = None

    def _arm(self) -> None:
        self._disarm()
        self._header_timer = self.loop.call_later(self.header_timeout, self._headers_late)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_late(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            self._answer_and_close(b"408 Request Timeout", f"no complete request headers "
                                   f"within {self.header_timeout:g} s (--body-timeout)")

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()
        if self.stopping and self.cycle is not None:  # answered, then the connection closes
            self.cycle.keep_alive = False

    def on_response_complete(self) -> None:
        waiting = bool(self.pipeline)  # a request whose headers arrived already
        super().on_response_complete()
        if not waiting and not self.transport.is_closing():
            self._arm()

    def connection_lost(self, exc) -> None:
        self._disarm()
        super().connection_lost(exc)

    def send_400_response(self, msg: str) -> None:
        # called inside uvicorn's ``except httptools.HttpParserError``: its text says why
        reason = sys.exc_info()[1]
        self._answer_and_close(b"400 Bad Request", f"invalid HTTP request: {reason or msg}")

    def _answer_and_close(self, status: bytes, message: str) -> None:
        body = dump(one_line(message))
        self.transport.write(b"".join([
            b"HTTP/1.1 " + status + b"\r\n", *(name + b": " + value + b"\r\n" for name, value
                                             in self.server_state.default_headers),
            b"content-type: application/json\r\ncontent-length: %d\r\n" % len(body),
            b"connection: close\r\n\r\n", body]))
        self.transport.close()


def uvicorn_config(server: ModelServer, access_log: bool = False,
                   graceful_seconds: float = 10, log_format: str = "text") -> uvicorn.Config:
    """uvicorn's settings for ``server`` (it configures logging when made: text, or JSON
    lines for ``log_format="json"``, labeling.serve.logs)."""
    protocol = type("JSONErrorsProtocol", (JSONErrorsProtocol,),
                    {"header_timeout": server.limits.body_timeout_s})
    config = uvicorn.Config(server.app, http=protocol, log_level="warning",
                            access_log=access_log, log_config=uvicorn_log_config(log_format),
                            timeout_graceful_shutdown=graceful_seconds, lifespan="on",
                            server_header=False, proxy_headers=False)
    if access_log:  # uvicorn set its access logger to log_level, which hid every line
        logging.getLogger("uvicorn.access").setLevel(logging.INFO)
    configure_server_log(log_format)  # a 500's reference, a cut-off request
    return config


def accept_queued(sock: socket.socket) -> list[socket.socket]:
    """The connections the kernel has completed on the listening ``sock`` (non-blocking)
    that nobody has accepted yet."""
    queued = []
    while True:
        try:
            queued.append(sock.accept()[0])
        except (BlockingIOError, InterruptedError):
            return queued
        except OSError:  # closed, or out of descriptors: what is queued stays queued
            return queued


class DrainingServer(uvicorn.Server):
    """uvicorn's server, but a stop answers the connections already made.

    uvicorn's stop closed the listening socket at once: a connection the kernel had
    already completed (the client sent its request on it) but the loop had not yet
    accepted was reset, so a client sending a request the moment the server stopped got
    "connection reset" with no way to tell whether it ran. Here the stop first takes every
    such connection and closes the socket in one step (a later connection is refused: a
    clean "retry elsewhere"), then gives the requests already sent on them, and on idle
    keep-alive connections, ``READ_SECONDS`` to be read; each is answered like one in
    flight, with ``Connection: close``. Only then does uvicorn's own stop close the
    connections that sent nothing and wait for the rest."""

    READ_SECONDS = 0.1
    listening: socket.socket | None = None
    model_server: ModelServer | None = None  # not ready from the stop on (503)

    async def shutdown(self, sockets=None) -> None:
        if self.model_server is not None:
            self.model_server.ready = False
        queued = accept_queued(self.listening) if self.listening is not None else []
        for server in self.servers:
            server.close()
        protocol = self.config.http_protocol_class
        protocol.stopping = True
        loop = asyncio.get_running_loop()
        for sock in queued:
            try:
                await loop.connect_accepted_socket(lambda: protocol(
                    config=self.config, server_state=self.server_state,
                    app_state=self.lifespan.state, _loop=loop), sock)
            except OSError:  # the client already left
                sock.close()
        await asyncio.sleep(self.READ_SECONDS)
        await super().shutdown(sockets)


def run_uvicorn(server: ModelServer, sock: socket.socket, access_log: bool = False,
                graceful_seconds: float = 10, log_format: str = "text",
                on_listen: Callable[[str], None] | None = None) -> None:
    """uvicorn on the listening ``sock`` until SIGTERM/SIGINT (a graceful stop);
    ``on_listen(url)`` before it starts."""
    uv = DrainingServer(uvicorn_config(server, access_log, graceful_seconds, log_format))
    uv.listening, uv.model_server = sock, server
    with _quiet_signals(uv):
        if on_listen is not None:
            on_listen(url_of(sock))
        try:
            uv.run(sockets=[sock])
        except SystemExit:  # uvicorn's exit(3) when the lifespan failed: said below
            if uv.started:
                raise
    if not uv.started:  # the lifespan failed (uvicorn logged its traceback)
        raise LabelingError("the server did not start: " + (
            server.startup_error or "see the log above"))
