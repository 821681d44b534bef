"""Cost planning before any call: tokens, prices, the budget.

Why an estimate and not a tokenizer: tiktoken needs to download its BPE files, which an
offline machine cannot; so tokens are estimated as ``ceil(chars / 4)`` per message plus
4 per message and 3 per request (OpenAI's chat overhead), the rule of thumb OpenAI
documents for English. If tiktoken is importable *and* its encoding loads, it is used.
Output tokens: the longest allowed reply (``{"answer": "..."}`` with structured output);
once the response cache holds replies of the model, the mean output tokens they were
billed, which is what a reasoning model (gpt-5*, o*) bills: hundreds of reasoning tokens
before a one-word answer.

Prices are USD per million tokens (list prices when written; override them with
``[llm.prices]``, e.g. ``prices = { "my-model" = { input = 0.2, output = 0.8 } }``).
A model without a price costs "unknown": fine without a budget, an error with one.

>>> estimate_tokens("abcdefgh"), estimate_tokens("abcdefghi")
(2, 3)
>>> cost_of("gpt-4o-mini", 1_000_000, 1_000_000, {})
0.75
>>> cost_of("my-model", 10, 10, {}) is None
True
"""

from __future__ import annotations

import functools
import json
import math

from labeling.llm.requests import build_requests
from labeling.llm.settings import LLMSettings, Price

# USD per 1M tokens (input, output). Override or extend with [llm.prices].
DEFAULT_PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-5": (1.25, 10.00),
    "gpt-5-mini": (0.25, 2.00),
    "gpt-5-nano": (0.05, 0.40),
}


@functools.lru_cache(maxsize=1)
def _tiktoken_encoding():
    try:
        import tiktoken

        return tiktoken.get_encoding("o200k_base")
    except Exception:  # not installed, or its BPE file cannot be fetched offline
        return None


def token_rule() -> str:
    """How :func:`estimate_request` counts tokens on this machine, for reports."""
    if _tiktoken_encoding() is not None:
        return "tiktoken o200k_base"
    return ("ceil(chars/4) per message + 4 per message + 3 per request; output: "
            "the longest allowed answer")


def estimate_tokens(text: str) -> int:
    enc = _tiktoken_encoding()
    if enc is not None:
        return len(enc.encode(text))
    return math.ceil(len(text) / 4)


def estimate_request(messages: list[dict], answers: list[str], structured: bool,
                     many: bool = False, billed_out: float | None = None) -> tuple[int, int]:
    """(input tokens, output tokens) estimated for one chat request. ``many``: the reply
    is a list of answers (multi-label), at longest all of them but ``abstain``;
    ``billed_out``: the mean output tokens the model's replies were billed, if known."""
    tokens_in = 3 + sum(4 + estimate_tokens(m.get("content") or "") for m in messages)
    if billed_out is not None:
        return tokens_in, math.ceil(billed_out)
    if many:
        longest = [a for a in answers if a != "abstain"]
        reply = json.dumps({"answer": longest} if structured else longest)
    else:
        longest = max(answers, key=len) if answers else ""
        reply = json.dumps({"answer": longest}) if structured else longest
    return tokens_in, estimate_tokens(reply) + 1


def price_of(model: str, overrides: dict[str, Price]) -> Price | None:
    if model in overrides:
        return overrides[model]
    if model in DEFAULT_PRICES:
        i, o = DEFAULT_PRICES[model]
        return Price(input=i, output=o)
    return None


def cost_of(model: str, tokens_in: int, tokens_out: int, overrides: dict) -> float | None:
    price = price_of(model, overrides)
    if price is None:
        return None
    return (tokens_in * price.input + tokens_out * price.output) / 1_000_000


def plan_lf(lf, df, settings: LLMSettings, labels, cache, backend: str,
            planned: set[str] | None = None) -> dict:
    """The plan of one prompt LF on one frame: calls, cached, tokens, cost (USD).

    ``planned`` holds the keys of requests already planned in the same run (earlier
    frames, other prompt LFs): by the time this one is labeled they are cached, so they
    count as cached here; this one's new keys are added to it.
    """

    if backend == "local":
        return {"lf": lf.name, "backend": "local", "model": "all-MiniLM-L6-v2", "rows": len(df),
                "calls": len(df), "cached": 0, "to_call": len(df), "tokens_in": 0,
                "tokens_out": 0, "cost": 0.0}
    reqs = build_requests(lf, df, settings, labels)
    hits = cache.get_many([r.key for r in reqs]) if cache is not None else {}
    planned = planned if planned is not None else set()
    todo = [r for r in reqs if r.key not in hits and r.key not in planned]
    planned.update(r.key for r in todo)
    model = reqs[0].model if reqs else (lf.model or settings.model)
    billed = cache.mean_tokens_out(model) if cache is not None else None
    t_in = t_out = 0
    for r in todo:
        i, o = estimate_request(r.messages, list(r.answers), settings.structured_output,
                                r.many, billed)
        t_in, t_out = t_in + i, t_out + o
    return {"lf": lf.name, "backend": "openai", "model": model, "rows": len(df),
            "calls": len(reqs), "cached": len(reqs) - len(todo), "to_call": len(todo),
            "tokens_in": t_in, "tokens_out": t_out,
            "cost": cost_of(model, t_in, t_out, settings.prices),
            "billed_out": None if billed is None else round(billed, 1)}


def total_cost(plans: list[dict]) -> float | None:
    """Sum of planned costs; None when any LF with calls to make has no known price."""
    if any(p["cost"] is None and p["to_call"] for p in plans):
        return None
    return sum(p["cost"] or 0.0 for p in plans)


def format_plan(plans: list[dict], budget: float | None = None) -> str:
    """A plain-text table for the CLI: one line per prompt LF and split (a plan of one
    frame has no split); with a ``budget``, a last line says whether the run fits in it
    (the run checks the same total before any call)."""
    split = any("split" in p for p in plans)
    head = (f"{'LF':<28} " + (f"{'split':<6} " if split else "")
            + f"{'model':<16} {'calls':>7} {'cached':>7} {'tok in':>9} {'tok out':>8} {'cost $':>9}")
    lines = [head, "-" * len(head)]
    for p in plans:
        cost = "?" if p["cost"] is None else f"{p['cost']:.4f}"
        lines.append(f"{p['lf'][:28]:<28} " + (f"{p.get('split', '')[:6]:<6} " if split else "")
                     + f"{p['model'][:16]:<16} {p['calls']:>7} {p['cached']:>7} "
                     f"{p['tokens_in']:>9} {p['tokens_out']:>8} {cost:>9}")
    billed = {p["model"]: p["billed_out"] for p in plans if p.get("billed_out") is not None}
    for model, tokens in billed.items():
        lines.append(f"tok out of {model}: {tokens:g} per call, the mean its cached replies "
                     "were billed")
    total = total_cost(plans)
    shown = "unknown (no price for a model)" if total is None else f"${total:.4f}"
    lines.append(f"total cost: {shown}")
    if budget is not None:
        lines.append(budget_note(plans, total, budget))
    return "\n".join(lines)


def budget_note(plans: list[dict], total: float | None, budget: float) -> str:
    """Whether the planned total fits in ``budget``, as `labeling apply` will judge it."""
    if total is None:
        models = sorted({p["model"] for p in plans if p["cost"] is None and p["to_call"]})
        return (f"budget ${budget:.4f}: `labeling apply` stops before any call, as there is "
                f"no price for {', '.join(models)}; add it under [llm] prices "
                '(prices = { "name" = { input = ..., output = ... } }, USD per 1M tokens)')
    if total > budget:
        return (f"budget ${budget:.4f}: OVER it by ${total - budget:.4f}: `labeling apply` "
                "stops before any call; raise [llm] budget, or apply fewer prompt LFs")
    return f"budget ${budget:.4f}: fits (${budget - total:.4f} to spare)"
