"""Per-LF statistics of a prompt-LF run, as a JSON-ready dict for metrics.json.

Why these numbers: a prompt LF costs money and time and can fail in ways a Python LF
cannot (rate limits, timeouts, off-label replies); the label model only sees abstains,
so the run must say where they came from.

* ``calls``: distinct prompts needed; ``cache_hits`` of them answered from the cache;
  ``requests``: HTTP attempts made (retries included);
* ``tokens_in``/``tokens_out``/``cost``: of the requests made in this run (USD, None
  when the model has no price);
* ``errors``: failed attempts by kind (``rate_limited``, ``server_error``, ``timeout``,
  ``connection``, ``malformed``, ``client_error``); ``failed``: prompts left unanswered
  after all retries (they abstain and are not cached, so a rerun tries again);
* ``rejected``: replies that were not an allowed answer, by reason (they abstain);
* ``latency_s``: per answered request (retries and waits included): mean, p50, p95, max;
* ``votes``: count per vote; for a multi-label prompt LF per (row, label) cell.

>>> s = LFStats("a"); s.add_latency(0.2); s.add_latency(0.4); s.error("timeout")
>>> d = s.to_dict(); d["errors"], d["latency_s"]["max"]
({'timeout': 1}, 0.4)
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np


@dataclass
class LFStats:
    lf: str
    backend: str = "openai"
    model: str = ""
    rows: int = 0
    calls: int = 0
    cache_hits: int = 0
    requests: int = 0
    retries: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost: float | None = 0.0
    failed: int = 0
    errors: Counter = field(default_factory=Counter)
    rejected: Counter = field(default_factory=Counter)
    votes: Counter = field(default_factory=Counter)
    latencies: list = field(default_factory=list)
    wall_s: float = 0.0

    def error(self, kind: str) -> None:
        self.errors[kind] += 1

    def add_latency(self, seconds: float) -> None:
        self.latencies.append(seconds)

    def add_cost(self, cost: float | None) -> None:
        self.cost = None if cost is None or self.cost is None else self.cost + cost

    def merge(self, other: "LFStats") -> None:
        """Add another frame's numbers (an LF runs once per split)."""
        for name in ("rows", "calls", "cache_hits", "requests", "retries", "tokens_in",
                     "tokens_out", "failed", "wall_s"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.add_cost(other.cost)
        self.errors.update(other.errors)
        self.rejected.update(other.rejected)
        self.votes.update(other.votes)
        self.latencies.extend(other.latencies)

    def to_dict(self) -> dict:
        lat = np.asarray(self.latencies, dtype=float)
        latency = ({"mean": round(float(lat.mean()), 4),
                    "p50": round(float(np.percentile(lat, 50)), 4),
                    "p95": round(float(np.percentile(lat, 95)), 4),
                    "max": round(float(lat.max()), 4)} if lat.size else None)
        return {"backend": self.backend, "model": self.model, "rows": self.rows,
                "calls": self.calls, "cache_hits": self.cache_hits, "requests": self.requests,
                "retries": self.retries, "tokens_in": self.tokens_in,
                "tokens_out": self.tokens_out,
                "cost": None if self.cost is None else round(self.cost, 6),
                "failed": self.failed, "errors": dict(self.errors),
                "rejected": dict(self.rejected),
                "votes": {str(k): v for k, v in sorted(self.votes.items())},
                "latency_s": latency, "wall_s": round(self.wall_s, 3)}
