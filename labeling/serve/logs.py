"""The server's log lines: text (default) or one JSON object per line (``log_format =
"json"``), for ops who ship logs to a collector that parses them.

Both formats cover the same records: the server's own (``labeling.serve``: a 500's
reference and traceback, a request cut off by a stop), uvicorn's (start-up failures, its
warnings) and, with the access log, one per request. A JSON line holds ``time`` (UTC,
ISO 8601, milliseconds), ``level``, ``logger``, ``message``, and where they apply
``reference`` (a 500's, as the client got it), ``exception`` (the traceback, one JSON
string) and, for a request, ``client``, ``method``, ``path``, ``status``. A request's
path is logged without its query string (the API takes none; one a client sent anyway
could carry a token), and no request body, text or header is logged in either format.
"""

from __future__ import annotations

import copy
import json
import logging
import sys
from datetime import datetime, timezone

from uvicorn.config import LOGGING_CONFIG

from labeling.errors import LabelingError

LOG_FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def check_log_format(log_format: str) -> None:
    if log_format not in LOG_FORMATS:
        raise LabelingError(f"--log-format {log_format!r}: must be one of "
                            f"{', '.join(LOG_FORMATS)}")


def _without_query(path) -> str:
    return str(path).split("?", 1)[0]


class QueryStripper(logging.Filter):
    """uvicorn's access line without the query string, in either format."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        if record.name == "uvicorn.access" and len(args) == 5:
            record.args = args[:2] + (_without_query(args[2]),) + args[3:]
        return True


class JSONFormatter(logging.Formatter):
    """One JSON object per record, on one line (a traceback is a JSON string in it)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(
                     timespec="milliseconds"),
                 "level": record.levelname, "logger": record.name}
        args = record.args if isinstance(record.args, tuple) else ()
        if record.name == "uvicorn.access" and len(args) == 5:  # uvicorn's access line
            client, method, path, _, status = args  # path: QueryStripper took the query
            entry.update(message=f"{method} {path} {status}", client=client, method=method,
                         path=path, status=status)
        else:
            entry["message"] = record.getMessage()
        if getattr(record, "reference", None):
            entry["reference"] = record.reference
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def uvicorn_log_config(log_format: str = "text") -> dict:
    """uvicorn's logging setup (its own, for text), with every line JSON for ``json``;
    the access line's path without its query string in both."""
    check_log_format(log_format)
    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["no_query"] = {"()": QueryStripper}
    config["handlers"]["access"]["filters"] = ["no_query"]
    if log_format == "json":
        for name in ("default", "access"):
            config["formatters"][name] = {"()": JSONFormatter}
    return config


def configure_server_log(log_format: str = "text") -> None:
    """The ``labeling.serve`` logger's handler (stderr), in ``log_format``; a handler
    someone else gave that logger (a program embedding the server) is left alone."""
    served = logging.getLogger("labeling.serve")
    ours = [h for h in served.handlers if getattr(h, "labeling_serve", False)]
    if served.handlers and not ours:
        return
    if not ours:  # (else Python's last-resort handler: the message, no time)
        handler = logging.StreamHandler()
        handler.labeling_serve = True
        served.addHandler(handler)
        ours = [handler]
    ours[0].setStream(sys.stderr)  # the current one (a test may have swapped it)
    ours[0].setFormatter(JSONFormatter() if log_format == "json"
                         else logging.Formatter(TEXT_FORMAT))
