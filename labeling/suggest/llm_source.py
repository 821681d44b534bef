"""Proposals from an LLM, through the task's runtime (response cache, budget, cost).

The model is shown the labels, a few dev examples of each, the dev rows the current
label model gets wrong and the current LFs' names (and prompt LFs' questions), and
asked for proposals as JSON (``{"proposals": [{"kind", "keywords", "pattern", "prompt",
"label", "rationale"}]}``, a JSON schema when ``structured_output`` is on). Kinds:
``keyword``, ``regex``, and ``prompt`` -- a yes/no question for the LLM with ``{text}``
where the row goes, whose yes votes the label (a ``prompt_lf`` with answers
``{"yes": label, "no": ABSTAIN}``). The reply is data: each proposal is checked
(:func:`labeling.suggest.proposal.validate`: a known label, a compiling regex,
non-empty keywords, a template with ``{text}`` and no other placeholder) and dropped
with a one-line note when it fails; nothing in it is ever executed. A reply that is not
that JSON gives a note and no proposals. At most :data:`MAX_PROMPTS` prompt proposals
are kept: each is scored by asking the endpoint about every train and dev row
(:func:`labeling.suggest.score.endpoint_votes`, under the same budget).

One request per call, answered from the cache when the same prompt was asked before
(a reply is cached only when it parses). Before the request, its cost is estimated
(the prompt's tokens; output: ~80 tokens per proposal asked, plus ~80 for each prompt
proposal allowed, whose template is most of its length) and checked against
``[llm] budget`` with what the runtime has spent: over it, :class:`BudgetExceeded` and
no call.
"""

from __future__ import annotations

import json
import re

import numpy as np

from labeling.llm.cache import Entry, cache_key
from labeling.llm.client import EndpointRunner, run_sync
from labeling.llm.errors import BudgetExceeded, LLMError
from labeling.llm.plan import cost_of, estimate_request
from labeling.llm.prompt import PromptLF
from labeling.llm.requests import Request
from labeling.suggest.context import Context
from labeling.suggest.proposal import MAX_PROMPT, InvalidProposal, Proposal, validate

OUTPUT_TOKENS_PER_PROPOSAL = 80
OUTPUT_TOKENS_PER_PROMPT = 80  # more, per prompt proposal: its template (~300 characters)
MAX_PROMPTS = 3  # prompt proposals kept per reply: each costs a call per train and dev row
KINDS = ("keyword", "regex", "prompt")
_SYSTEM = (
    "You write labeling functions (LFs) for weak supervision of a text classifier. An LF "
    "votes one label when it matches a text and abstains otherwise; many noisy LFs are "
    "combined by a label model, so each LF should be precise (right on at least 80% of "
    "the texts it fires on) rather than cover everything. Kinds: \"keyword\" fires when "
    "any of its keywords occurs as a whole word or phrase, any case; \"regex\" fires when "
    "its Python regular expression matches (re.search, case-insensitive); \"prompt\" asks "
    "an LLM a yes/no question about each text and votes the label on yes: its prompt is "
    "the question with {text} where the text goes (e.g. \"Does this message ask the "
    "reader to call a number?\\nMessage: {text}\"; no other {placeholder}, at most "
    f"{MAX_PROMPT} characters). A prompt costs one LLM call per text: propose at most "
    f"{MAX_PROMPTS}, for what words and patterns cannot capture. Answer with JSON only: "
    "{\"proposals\": [{\"kind\": \"keyword\", \"regex\" or \"prompt\", \"keywords\": "
    "[...] (empty unless keyword), \"pattern\": \"...\" (empty unless regex), "
    "\"prompt\": \"...\" (empty unless prompt), \"label\": one of the labels, "
    "\"rationale\": one sentence}]}.")


def schema(labels: list[str]) -> dict:
    item = {"type": "object", "additionalProperties": False,
            "required": ["kind", "keywords", "pattern", "prompt", "label", "rationale"],
            "properties": {"kind": {"type": "string", "enum": list(KINDS)},
                           "keywords": {"type": "array", "items": {"type": "string"}},
                           "pattern": {"type": "string"},
                           "prompt": {"type": "string"},
                           "label": {"type": "string", "enum": list(labels)},
                           "rationale": {"type": "string"}}}
    return {"type": "object", "additionalProperties": False, "required": ["proposals"],
            "properties": {"proposals": {"type": "array", "items": item}}}


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def messages(ctx: Context, pred_dev: np.ndarray, targets: list[int] | None, n: int,
             per_label: int = 3, errors: int = 8) -> list[dict]:
    """The prompt: labels, dev examples per label, current errors, current LF names."""
    rows = ctx.gold_rows
    lines = [f"Labels: {', '.join(ctx.labels)}.", "", "Examples (dev gold):"]
    for c, name in enumerate(ctx.labels):
        for i in rows[ctx.y_dev[rows] == c][:per_label]:
            lines.append(f"- [{name}] {_short(ctx.texts['dev'][i])}")
    wrong = rows[np.asarray(pred_dev)[rows] != ctx.y_dev[rows]]
    if targets is not None:
        wrong = wrong[np.isin(ctx.y_dev[wrong], targets)]
    if len(wrong):
        lines += ["", "Texts the current LFs get wrong (gold label, current label):"]
        for i in wrong[:errors]:
            lines.append(f"- [{ctx.labels[ctx.y_dev[i]]}, now {ctx.labels[int(pred_dev[i])]}] "
                         f"{_short(ctx.texts['dev'][i])}")
    lines += ["", f"Current LFs (do not repeat them): {', '.join(ctx.lf_names)}."]
    prompts = [lf for lf in ctx.lfs or () if isinstance(lf, PromptLF)]
    if prompts:
        lines.append("Their prompts:")
        lines += [f"- {lf.name}: {_short(lf.template)}" for lf in prompts]
    lines.append("")
    focus = (f" voting {', '.join(ctx.labels[c] for c in targets)}" if targets is not None
             else ", mostly for the labels the current LFs get wrong")
    lines.append(f"Propose {n} new LFs{focus}.")
    return [{"role": "system", "content": _SYSTEM}, {"role": "user", "content": "\n".join(lines)}]


def parse(content: str | None, labels: list[str], model: str
          ) -> tuple[list[Proposal], list[str]]:
    """(valid proposals, notes on what was dropped) from a reply's text."""
    text = (content or "").strip()
    fenced = re.fullmatch(r"```(?:json)?\s*(.*?)\s*```", text, re.DOTALL)
    if fenced:
        text = fenced.group(1)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return [], [f"LLM reply is not valid JSON ({exc.msg} at character {exc.pos}); "
                    "no LLM proposals"]
    items = data.get("proposals") if isinstance(data, dict) else None
    if not isinstance(items, list):
        return [], ["LLM reply has no \"proposals\" list; no LLM proposals"]
    out, notes = [], []
    prompts = 0
    lowered = [str(name).lower() for name in labels]
    for i, item in enumerate(items, 1):
        try:
            if not isinstance(item, dict):
                raise InvalidProposal("not an object")
            label = str(item.get("label", ""))
            if label.lower() not in lowered:
                raise InvalidProposal(f"label {label!r} is not one of the task's labels {labels}")
            kind = item.get("kind")
            keywords = item.get("keywords") or []
            if kind == "keyword" and (not isinstance(keywords, list)
                                      or not all(isinstance(w, str) for w in keywords)):
                raise InvalidProposal("keywords must be a list of strings")
            pattern = item.get("pattern") or ""
            if not isinstance(pattern, str):
                raise InvalidProposal("pattern must be a string")
            prompt = item.get("prompt") or ""
            if not isinstance(prompt, str):
                raise InvalidProposal("prompt must be a string")
            if kind == "prompt" and prompts >= MAX_PROMPTS:
                raise InvalidProposal(f"more than {MAX_PROMPTS} prompt proposals (each is "
                                      "scored by a call per train and dev row)")
            out.append(validate(Proposal(
                str(kind), lowered.index(label.lower()),
                keywords=tuple(keywords) if kind == "keyword" else (),
                pattern=pattern if kind == "regex" else "", source=f"llm:{model}",
                rationale=_short(item.get("rationale") or "", 300),
                prompt=prompt if kind == "prompt" else ""), labels))
            prompts += kind == "prompt"
        except InvalidProposal as exc:
            notes.append(f"LLM proposal {i} dropped: {exc}")
    return out, notes


def output_tokens(n: int) -> int:
    """The reply's estimated length for ``n`` proposals: ~80 tokens each (kind, keywords
    or pattern, label, a one-sentence rationale), ~80 more for each prompt proposal
    allowed (a template of ~300 characters), and the JSON around them."""
    return OUTPUT_TOKENS_PER_PROPOSAL * n + OUTPUT_TOKENS_PER_PROMPT * min(n, MAX_PROMPTS) + 20


class LLMSource:
    """Callable ``(ctx, pred_dev, targets) -> (proposals, notes)`` for
    :func:`labeling.suggest.engine.suggest`; ``report`` says what it cost. ``runtime``
    (with its cache and budget) also answers the prompt proposals when they are scored."""

    def __init__(self, runtime, n: int = 10):
        self.runtime = runtime
        self.n = n
        self.report: dict = {}

    def __call__(self, ctx: Context, pred_dev, targets):
        rt = self.runtime
        if rt.backend != "openai":
            raise LLMError("LLM suggestions need an endpoint: set OPENAI_BASE_URL or "
                           "OPENAI_API_KEY, or [llm] backend = \"openai\"")
        s = rt.settings
        msgs = messages(ctx, pred_dev, targets, self.n)
        shape = schema(ctx.labels) if s.structured_output else None
        key = cache_key(s.model, s.params, msgs, shape, s.cache_endpoint())
        req = Request(key, "suggest", s.model, dict(s.params), msgs, shape, {})
        tokens_in = estimate_request(msgs, [], shape is not None)[0]
        tokens_out = output_tokens(self.n)
        self.report = {"model": s.model, "calls": 0, "cached": False}
        hit = rt.cache.get_many([req.key]).get(req.key)
        if hit is not None:
            self.report["cached"] = True
            return parse(hit.reply, ctx.labels, s.model)
        estimate = cost_of(s.model, tokens_in, tokens_out, s.prices)
        if s.budget is not None:
            if estimate is None:
                raise LLMError(f"a budget is set but there is no price for {s.model}; add "
                               "it under [llm.prices]")
            if rt.spent + estimate > s.budget:
                raise BudgetExceeded(
                    f"LLM suggestions: the call would cost about ${estimate:.4f} (spent "
                    f"${rt.spent:.4f}), over the budget of ${s.budget:.4f}; no call was made",
                    planned=estimate, spent=rt.spent)
        outcomes = []
        run_sync(lambda: EndpointRunner(s).run([req], lambda r: None,
                                               lambda r, out: outcomes.append(out)))
        out = outcomes[0] if outcomes else None
        if out is None or out.failed:
            kinds = ", ".join(out.errors) if out is not None else "no answer"
            raise LLMError(f"LLM suggestions: the endpoint gave no reply ({kinds})")
        if out.usage_reported:
            tokens_in, tokens_out = out.tokens_in, out.tokens_out
        cost = cost_of(s.model, tokens_in, tokens_out, s.prices)
        rt.spent += cost or 0.0
        self.report.update(calls=out.requests, tokens_in=tokens_in, tokens_out=tokens_out,
                           cost=cost, spent=rt.spent)
        proposals, notes = parse(out.reply, ctx.labels, s.model)
        if not any(n.startswith("LLM reply") for n in notes):  # cache what parses only
            rt.cache.put(Entry(req.key, "suggest", s.model, json.dumps(msgs, ensure_ascii=False),
                               out.reply, None, None, tokens_in, tokens_out, cost or 0.0,
                               out.latency))
        return proposals, notes
