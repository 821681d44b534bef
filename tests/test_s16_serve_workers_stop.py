"""`labeling serve --workers 2` stopping (session 16): once SIGTERM reaches the parent, a
new connection is refused at once, while a request in flight still finishes. The CLI in
a subprocess on 127.0.0.1; the waits below are hang guards, not timing asserts."""

from __future__ import annotations

import signal
import socket
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_serve import TIMEOUT, model_dir, start_cli_server, stop  # noqa: E402,F401


def test_a_stopping_workers_server_refuses_new_connections(model_dir):  # noqa: F811
    # before: the parent kept its copy of the listening socket open until every worker
    # had exited, so during the whole graceful stop new connections were taken into the
    # socket's backlog, which no worker accepted from any more: each client waited, then
    # was reset when the parent finally closed it
    proc, url = start_cli_server(model_dir, "--workers", "2", "--graceful-timeout", "600",
                                 "--body-timeout", "600")
    host, port = url.removeprefix("http://").rsplit(":", 1)
    slow = socket.create_connection((host, int(port)), timeout=TIMEOUT)
    refused = False
    try:
        # a request in flight (half its body sent) holds its worker's graceful stop open
        slow.sendall(b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 40\r\n"
                     b"\r\n{\"texts\": [")
        proc.send_signal(signal.SIGTERM)
        for _ in range(TIMEOUT * 10):  # far less than the 600 s the stop may take
            try:
                socket.create_connection((host, int(port)), timeout=1).close()
            except ConnectionRefusedError:
                refused = True
                break
            except OSError:  # a connection taken into the backlog, then reset or timed out
                pass
            slow.settimeout(0.1)
            try:
                slow.recv(1)
            except OSError:
                pass
    finally:
        slow.close()  # the request ends (client gone): the worker's stop completes
        code, output = stop(proc)
    assert refused
    assert code == 0 and "stopped" in output and "Traceback" not in output, output
