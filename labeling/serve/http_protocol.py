"""uvicorn's httptools protocol, sending each answer in one system call instead of two.

uvicorn writes a response with two ``transport.write`` calls: the status line and headers
on ``http.response.start``, then the body on ``http.response.body``. uvloop sends each at
once, so every answer cost two ``send()`` system calls, and on loopback each one also runs
the receiver's TCP path and wakes it: 17% of the event loop thread's CPU time under 64
clients (perf, docs/serve.md "Where the CPU per request goes"). Here a write is held
until the next write on the same connection, which is sent together with it (the head
goes out with its body: one ``send()``), or until the end of the current event-loop
iteration, whichever comes first, so nothing waits longer than that (a streamed body's
later chunks, a head whose body comes later); ``close()`` sends what is held first. The
bytes on the wire are unchanged.
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class HeldWriteTransport:
    """A transport wrapper: ``write`` holds its data until the next ``write`` (sent joined
    with it), ``close`` or the end of the loop iteration; everything else is the wrapped
    transport's."""

    __slots__ = ("transport", "loop", "held")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop):
        self.transport = transport
        self.loop = loop
        self.held: bytes | None = None

    def write(self, data) -> None:
        if self.held is None:
            self.held = bytes(data)
            self.loop.call_soon(self.flush)  # at the latest at the end of this iteration
        else:
            held, self.held = self.held, None
            self.transport.write(held + bytes(data))

    def flush(self) -> None:
        if self.held is not None:
            held, self.held = self.held, None
            if not self.transport.is_closing():
                self.transport.write(held)

    def close(self) -> None:
        self.flush()
        self.transport.close()

    def __getattr__(self, name):  # is_closing, get_extra_info, pause_reading, ...
        return getattr(self.transport, name)


class OneWriteHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's HttpToolsProtocol on a :class:`HeldWriteTransport` (one ``send()`` per
    answer)."""

    def connection_made(self, transport) -> None:  # type: ignore[override]
        super().connection_made(HeldWriteTransport(transport, self.loop))
