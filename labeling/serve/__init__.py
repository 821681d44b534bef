"""`labeling serve`: an exported model behind HTTP (Open Inference Protocol v2 and a plain
``POST /predict``), with micro-batching, request limits and JSON errors (docs/serve.md).

- ``protocol``: request bodies -> texts, probabilities -> response bodies; the limits.
- ``batcher``: concurrent requests -> one model call in one worker thread.
- ``app``: the Starlette application (routes, body limit, errors, lifespan).
- ``replies``: JSON answers and one-line errors, reading a body within its limits.
- ``server``: loopback check, socket, uvicorn, graceful stop.
- ``model_process``: the model in a child process (``--model-process``).
- ``workers``: several server processes on one port (``--workers N``).
"""

from labeling.serve.app import ModelServer
from labeling.serve.batcher import MicroBatcher
from labeling.serve.protocol import Limits, RequestError
from labeling.serve.server import (DEFAULT_HOST, DEFAULT_PORT, build_server, check_host,
                                   is_loopback, listening_message, serve)
from labeling.serve.workers import serve_workers

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "Limits", "MicroBatcher", "ModelServer",
           "RequestError", "build_server", "check_host", "is_loopback", "listening_message",
           "serve", "serve_workers"]
