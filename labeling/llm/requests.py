"""From a prompt LF and a DataFrame to the distinct requests it needs.

Why a separate step: ``plan`` (before any call) and the run must agree exactly on what
is called, so both build requests here. Rows rendering to the same prompt share one
request (duplicated comments are common in scraped data), keyed like the cache.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from labeling.llm.cache import cache_key
from labeling.llm.prompt import PromptLF
from labeling.llm.settings import LLMSettings


@dataclass
class Request:
    key: str
    lf: str
    model: str
    params: dict
    messages: list[dict]
    schema: dict | None
    answers: dict[str, int]            # answer name -> vote
    many: bool = False                 # the reply is a list of answer names (multi-label)
    rows: list[int] = field(default_factory=list)  # positions in the frame answered by it
    estimate: float = 0.0              # USD reserved against the budget while in flight


def lf_model(lf: PromptLF, settings: LLMSettings) -> tuple[str, dict]:
    """The model and generation params of ``lf``: the LF's own over the run's."""
    return lf.model or settings.model, {**settings.params, **lf.params}


def build_requests(lf: PromptLF, df, settings: LLMSettings,
                   labels: list[str] | None) -> list[Request]:
    """The distinct requests for ``df`` in first-row order (raises LFError on a missing column)."""
    lf.check_columns(df.columns)
    model, params = lf_model(lf, settings)
    answers = lf.resolve(labels)
    schema = lf.schema(labels) if settings.structured_output else None
    endpoint = settings.cache_endpoint()
    by_key: dict[str, Request] = {}
    columns = list(lf.fields)
    records = df[columns].to_dict("records") if len(df) else []
    for position, row in enumerate(records):
        messages = lf.messages(row, labels)
        key = cache_key(model, params, messages, schema, endpoint)
        req = by_key.get(key)
        if req is None:
            req = by_key[key] = Request(key, lf.name, model, params, messages, schema, answers,
                                        many=lf.many)
        req.rows.append(position)
    return list(by_key.values())
