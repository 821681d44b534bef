"""labeling/serve/http_protocol.py: each answer leaves in one transport write (one send()
system call) instead of two, with the same bytes; nothing is held past the end of an
event-loop iteration (a streamed body), and close() sends what is held first.

No timing asserts: timeouts below only keep a broken server from hanging the suite."""

from __future__ import annotations

import asyncio
import http.client
import threading

import pytest
import uvicorn

from labeling.serve.http_protocol import HeldWriteTransport, OneWriteHttpToolsProtocol
from labeling.serve.server import bind

TIMEOUT = 30  # seconds: a hang guard only


class FakeTransport:
    def __init__(self):
        self.writes, self.closed = [], False

    def write(self, data):
        self.writes.append(bytes(data))

    def is_closing(self):
        return self.closed

    def close(self):
        self.closed = True

    def get_extra_info(self, name, default=None):
        return f"extra {name}"


def test_a_head_goes_out_with_its_body_and_a_lone_write_at_the_end_of_the_iteration():
    async def scenario():
        fake = FakeTransport()
        held = HeldWriteTransport(fake, asyncio.get_running_loop())
        held.write(b"HTTP/1.1 200 OK\r\n\r\n")
        held.write(memoryview(b"{}"))
        assert fake.writes == [b"HTTP/1.1 200 OK\r\n\r\n{}"]  # one write, at once
        held.write(b"chunk")  # a streamed body's later chunk: held ...
        assert fake.writes == [b"HTTP/1.1 200 OK\r\n\r\n{}"]
        await asyncio.sleep(0)  # ... only until the end of this loop iteration
        assert fake.writes[1:] == [b"chunk"]
        held.write(b"last")
        held.close()  # what is held is sent before closing
        assert fake.writes[2:] == [b"last"] and fake.closed
        await asyncio.sleep(0)
        assert len(fake.writes) == 3  # the scheduled flush found nothing left
        assert held.get_extra_info("peername") == "extra peername"  # the rest is delegated

    asyncio.run(scenario())


def test_nothing_is_written_to_a_closing_transport():
    async def scenario():
        fake = FakeTransport()
        held = HeldWriteTransport(fake, asyncio.get_running_loop())
        held.write(b"head")
        fake.closed = True  # the connection went away meanwhile
        await asyncio.sleep(0)
        assert fake.writes == []

    asyncio.run(scenario())


async def _app(scope, receive, send):
    """Three kinds of answers: a plain one, a streamed one (the second chunk sent after
    the loop ran other work) and a HEAD."""
    if scope["type"] == "lifespan":
        while (message := await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    if scope["path"] == "/stream":
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"first ", "more_body": True})
        await asyncio.sleep(0.01)
        await send({"type": "http.response.body", "body": b"second"})
        return
    body = b'{"ok":true}'
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-length", str(len(body)).encode()),
                            (b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})


class Counting(OneWriteHttpToolsProtocol):
    """Counts the writes that reach the real transport (the send() system calls)."""

    writes: list = []

    def connection_made(self, transport):
        super().connection_made(transport)
        real = self.transport.transport
        writes = Counting.writes

        class Proxy:
            def write(self, data):
                writes.append(bytes(data))
                real.write(data)

            def __getattr__(self, name):
                return getattr(real, name)

        self.transport.transport = Proxy()


@pytest.fixture
def url():
    sock = bind("127.0.0.1", 0)
    uv = uvicorn.Server(uvicorn.Config(_app, http=Counting, log_level="warning",
                                       lifespan="on"))
    thread = threading.Thread(target=uv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    for _ in range(TIMEOUT * 20):
        if uv.started:
            break
        thread.join(0.05)
    yield sock.getsockname()
    uv.should_exit = True
    thread.join(TIMEOUT)
    sock.close()
    assert not thread.is_alive()


def test_real_answers_one_write_each_on_a_kept_alive_connection(url):
    Counting.writes.clear()
    connection = http.client.HTTPConnection(*url, timeout=TIMEOUT)
    try:
        for _ in range(3):
            connection.request("POST", "/predict", body=b"{}")
            response = connection.getresponse()
            assert response.status == 200 and response.read() == b'{"ok":true}'
        connection.request("GET", "/stream")
        response = connection.getresponse()
        assert response.read() == b"first second"  # chunked, both chunks arrive
        connection.request("HEAD", "/predict")
        response = connection.getresponse()
        assert response.status == 200 and response.read() == b""
    finally:
        connection.close()
    plain = [w for w in Counting.writes if w.endswith(b'{"ok":true}')]
    assert len(plain) == 3 and all(w.startswith(b"HTTP/1.1 200 OK\r\n") for w in plain)
