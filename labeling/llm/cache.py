"""The response cache: SQLite in WAL mode, one row per answered prompt.

Why SQLite/WAL, committed per response: a run killed at any moment (even SIGKILL) keeps
every answer it received, so running again repeats no paid request. WAL with
``synchronous=NORMAL`` makes each commit cheap (no fsync) and still durable against a
process kill (only an OS crash may lose the last commits). Readers (the app, ``plan``)
do not block the writer.

The key is the sha256 of what determines the reply: model, generation params, the
rendered messages, the answer schema and the endpoint (unless OpenAI's own or
``cache_by_endpoint = false``). Stored with it: the raw prompt and raw reply
(for the app), the parsed answer or the reason it was rejected, tokens, cost, latency.
Never headers, never the client's options: the API key cannot get in here.

>>> k = cache_key("m", {"temperature": 0}, [{"role": "user", "content": "hi"}], None)
>>> k == cache_key("m", {"temperature": 0}, [{"role": "user", "content": "hi"}], None)
True
>>> k == cache_key("m", {"temperature": 0.1}, [{"role": "user", "content": "hi"}], None)
False
>>> k == cache_key("m", {"temperature": 0.0}, [{"role": "user", "content": "hi"}], None)
True
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from labeling.errors import LabelingError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    lf TEXT NOT NULL,
    model TEXT NOT NULL,
    prompt TEXT NOT NULL,      -- the messages, as JSON
    reply TEXT,                -- the raw reply content
    answer TEXT,               -- the parsed answer, NULL when rejected
    reason TEXT,               -- why the reply was rejected (off-label, unparsable)
    tokens_in INTEGER NOT NULL DEFAULT 0,
    tokens_out INTEGER NOT NULL DEFAULT 0,
    cost REAL NOT NULL DEFAULT 0,
    latency REAL NOT NULL DEFAULT 0,
    created REAL NOT NULL
)
"""


def cache_key(model: str, params: dict, messages: list[dict], schema: dict | None,
              endpoint: str | None = None) -> str:
    """sha256 over a canonical JSON of everything that determines the reply; a param's
    whole-number float is its int (``temperature = 0.0`` in TOML is ``0`` in Python:
    the same request, which must not be paid for again). ``endpoint``: the server asked
    (:meth:`labeling.llm.settings.LLMSettings.cache_endpoint`), as two servers may serve
    other models under one name; None (OpenAI's, or not keyed by endpoint) keeps the key
    it had before endpoints were in it."""
    fields = {"model": model, "params": _numbers(params), "messages": messages,
              "schema": schema}
    if endpoint is not None:
        fields["endpoint"] = endpoint
    blob = json.dumps(fields,
                      sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _numbers(value):
    """``value`` with whole-number floats as ints, in nested dicts and lists too."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _numbers(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_numbers(v) for v in value]
    return value


@dataclass
class Entry:
    key: str
    lf: str
    model: str
    prompt: str
    reply: str | None
    answer: str | None
    reason: str | None
    tokens_in: int = 0
    tokens_out: int = 0
    cost: float = 0.0
    latency: float = 0.0
    created: float = 0.0


class UnreadableCache(LabelingError):
    """The file is not a readable SQLite database (moving it aside is the recovery);
    a locked or unopenable cache raises a plain :class:`LabelingError`."""


class ResponseCache:
    """A SQLite response cache; ``path=None`` keeps it in memory (nothing persists).

    A file that is not a readable SQLite database (truncated by a full disk, a bad copy,
    another file under its name) stops with one line naming it and the recovery, never
    a traceback; it is not replaced on its own, as its answers may have been paid for."""

    def __init__(self, path: Path | str | None):
        self.path = Path(path) if path else None
        if self.path:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._errors():
            # check_same_thread=False: the async runner may live on a helper thread;
            # every use is sequential (one writer, the event loop).
            self.db = sqlite3.connect(str(self.path) if self.path else ":memory:",
                                      check_same_thread=False, isolation_level=None)
            if self.path:
                self.db.execute("PRAGMA journal_mode=WAL")
                self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA busy_timeout=10000")
            self.db.execute(_SCHEMA)

    @contextlib.contextmanager
    def _errors(self):
        """SQLite's errors as one :class:`LabelingError` naming the file."""
        try:
            yield
        except sqlite3.OperationalError as exc:  # locked past the timeout, cannot open
            raise LabelingError(f"{self.path}: LLM response cache: {exc}") from None
        except sqlite3.DatabaseError as exc:  # not a database, malformed, truncated
            raise UnreadableCache(
                f"{self.path}: not a readable LLM response cache ({exc}); move it aside "
                "(or delete it) to start an empty one: its prompts are then asked again "
                "(`labeling plan` counts them)") from None

    def get_many(self, keys: list[str]) -> dict[str, Entry]:
        out: dict[str, Entry] = {}
        unique = list(dict.fromkeys(keys))
        with self._errors():
            for start in range(0, len(unique), 500):
                chunk = unique[start:start + 500]
                marks = ",".join("?" * len(chunk))
                for row in self.db.execute(
                        f"SELECT key, lf, model, prompt, reply, answer, reason, tokens_in,"
                        f" tokens_out, cost, latency, created FROM responses"
                        f" WHERE key IN ({marks})", chunk):
                    out[row[0]] = Entry(*row)
        return out

    def put(self, entry: Entry) -> None:
        """Insert and commit at once (autocommit): the answer survives a kill right after."""
        entry.created = entry.created or time.time()
        d = asdict(entry)
        with self._errors():
            self.db.execute(f"INSERT OR REPLACE INTO responses ({', '.join(d)}) "
                            f"VALUES ({', '.join('?' * len(d))})", list(d.values()))

    def mean_tokens_out(self, model: str) -> float | None:
        """The mean output tokens billed for the prompt-LF replies of ``model`` in the
        cache (not LF suggestions, which have neither answer nor reason); None if none."""
        with self._errors():
            n, mean = self.db.execute(
                "SELECT COUNT(*), AVG(tokens_out) FROM responses WHERE model = ? AND "
                "(answer IS NOT NULL OR reason IS NOT NULL)", (model,)).fetchone()
        return float(mean) if n else None

    def spend(self) -> list[tuple[str, int, int, float]]:
        """Per model, costliest first: (model, replies, tokens billed in and out, USD paid
        as recorded at the time: 0 for a model that had no price)."""
        with self._errors():
            return [tuple(row) for row in self.db.execute(
                "SELECT model, COUNT(*), SUM(tokens_in + tokens_out), SUM(cost) FROM responses "
                "GROUP BY model ORDER BY SUM(cost) DESC, model")]

    def count(self) -> int:
        with self._errors():
            return self.db.execute("SELECT COUNT(*) FROM responses").fetchone()[0]

    def close(self) -> None:
        self.db.close()
