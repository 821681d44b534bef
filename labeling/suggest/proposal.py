"""A proposed labeling function, as data: what it matches, the label it votes, where it
came from; validated before use, turned into an LF object or into source code.

Why data and not code: proposals come from mined statistics and from an LLM, and an
LLM's reply must never be executed. Only the declarative LF kinds exist here -- a
``keyword_lf`` (whole words or phrases), a ``regex_lf`` (``re.search``, any case) or a
yes/no ``prompt_lf`` -- and every field is checked (:func:`validate`) before the LF is
built: the regex compiles and cannot match the empty string, the label is one of the
task's, keywords are non-empty strings, a prompt template holds the row's ``{text}``
and no other placeholder (a format field such as ``{text.__class__}`` or ``{0}`` would
read something else than the row's text when the template is rendered).

>>> p = Proposal("keyword", 1, keywords=("free", "prize"), source="offline:ngram")
>>> validate(p, ["ham", "spam"]) is p, p.id == Proposal("keyword", 1, ("prize", "free")).id
(True, True)
>>> validate(Proposal("regex", 1, pattern="(unclosed"), ["ham", "spam"])  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
labeling.suggest.proposal.InvalidProposal: regex '(unclosed' does not compile: missing ), ...
>>> validate(Proposal("prompt", 1, prompt="Is it spam? {text!r}"), ["ham", "spam"])
... # doctest: +ELLIPSIS
Traceback (most recent call last):
...
labeling.suggest.proposal.InvalidProposal: prompt: placeholder {text!r} is not allowed: ...
"""

from __future__ import annotations

import hashlib
import json
import re
import string
from dataclasses import asdict, dataclass, field

from labeling.errors import LabelingError
from labeling.lf.core import ABSTAIN, keyword_lf, regex_lf
from labeling.llm.prompt import prompt_lf

KINDS = ("keyword", "regex", "prompt")
MAX_PATTERN = 300     # characters: a longer regex is no longer a readable LF
MAX_KEYWORDS = 20
PROMPT_TEMPLATE = "{question}\nText: {{text}}"  # the row's text is the only placeholder
PLACEHOLDER = "text"  # the column a suggested prompt LF reads (the task's text column)
MAX_PROMPT = 1000     # characters of a proposed prompt template: one readable question
# A quantified group that itself holds an unbounded quantifier, e.g. (a+)+ or (\w+\s?)*:
# the shape of catastrophic backtracking. Python's re has no timeout, so a proposed
# regex of this shape is refused rather than risk hanging every apply.
_NESTED_QUANTIFIER = re.compile(r"\((?:[^()\\]|\\.)*(?:[+*]|\{\d*,\d*\})(?:[^()\\]|\\.)*\)"
                                r"\s*(?:[+*]|\{\d*,\})")


class InvalidProposal(LabelingError):
    """A proposal that cannot become an LF (bad regex, unknown label, empty keywords)."""


@dataclass
class Proposal:
    """One proposed LF. ``label`` is a class index; ``keywords`` (kind ``keyword``),
    ``pattern`` (``regex``) or, for kind ``prompt`` (a yes/no question whose yes votes
    ``label``), either ``question`` and ``descriptions`` (a cluster's: the template is
    :data:`PROMPT_TEMPLATE`; ``descriptions`` are what the offline MiniLM backend
    compares a row with) or ``prompt``, a whole template with one ``{text}`` (an LLM's:
    answered by the endpoint) say what it matches. ``source`` says which miner or
    model proposed it, ``rationale`` why."""

    kind: str
    label: int
    keywords: tuple[str, ...] = ()
    pattern: str = ""
    question: str = ""
    descriptions: dict = field(default_factory=dict)
    source: str = ""
    rationale: str = ""
    prompt: str = ""

    def __post_init__(self):
        # order-free: the same keywords in another order are the same proposal
        self.keywords = tuple(sorted(dict.fromkeys(str(w) for w in self.keywords)))

    @property
    def key(self) -> str:
        """What the proposal matches and votes, canonically (its identity)."""
        what = {"keyword": list(self.keywords), "regex": self.pattern,
                "prompt": [self.question, self.descriptions]}.get(self.kind)
        if self.kind == "prompt" and self.prompt:  # (a cluster's key is unchanged)
            what = {"template": self.prompt, "descriptions": self.descriptions}
        return json.dumps([self.kind, self.label, what], sort_keys=True, ensure_ascii=False)

    @property
    def id(self) -> str:
        """A short stable id (the same proposal gets the same id in every run)."""
        return hashlib.sha1(self.key.encode("utf-8")).hexdigest()[:8]

    def describe(self) -> str:
        if self.kind == "keyword":
            return "keywords " + ", ".join(repr(w) for w in self.keywords)
        if self.kind == "regex":
            return f"regex r{self.pattern!r}"
        return f"prompt {self.prompt or self.question!r}"

    def default_name(self) -> str:
        what = {"keyword": "_".join(self.keywords[:2]), "regex": self.pattern,
                "prompt": self.question or self.prompt.replace("{text}", "")}[self.kind]
        slug = re.sub(r"\W+", "_", what.lower()).strip("_")[:28] or self.id
        return f"sugg_{self.kind[:2]}_{slug}_{self.id[:4]}"

    def to_lf(self, name: str | None = None):
        """The LF object (votes exactly as the code :func:`labeling.suggest.store` writes)."""
        name = name or self.default_name()
        if self.kind == "keyword":
            return keyword_lf(list(self.keywords), label=self.label, name=name)
        if self.kind == "regex":
            return regex_lf(self.pattern, label=self.label, name=name)
        return prompt_lf(name, self.template(), answers={"yes": self.label, "no": ABSTAIN},
                         descriptions=dict(self.descriptions))

    @property
    def needs_endpoint(self) -> bool:
        """An LLM's prompt: scored by the endpoint's answers (it has no descriptions for
        the offline backend to compare rows with)."""
        return self.kind == "prompt" and bool(self.prompt)

    def template(self) -> str:
        if self.prompt:
            return self.prompt
        # braces in the question are text, not placeholders
        question = self.question.replace("{", "{{").replace("}", "}}")
        return PROMPT_TEMPLATE.format(question=question)

    def to_dict(self) -> dict:
        out = asdict(self)
        out["keywords"] = list(self.keywords)
        return out

    @classmethod
    def from_dict(cls, data: dict) -> "Proposal":
        fields = {k: data[k] for k in ("kind", "label", "keywords", "pattern", "question",
                                       "descriptions", "source", "rationale", "prompt")
                  if k in data}
        fields["keywords"] = tuple(fields.get("keywords", ()))
        return cls(**fields)


def validate(p: Proposal, labels: list[str]) -> Proposal:
    """``p`` if it can become an LF of a task with ``labels``, else :class:`InvalidProposal`
    saying why (in one line)."""
    if p.kind not in KINDS:
        raise InvalidProposal(f"kind {p.kind!r} is not one of {', '.join(KINDS)}")
    if not isinstance(p.label, int) or isinstance(p.label, bool) or not 0 <= p.label < len(labels):
        raise InvalidProposal(f"label {p.label!r} is not one of the task's labels {labels}")
    if p.kind == "keyword":
        if not p.keywords or len(p.keywords) > MAX_KEYWORDS:
            raise InvalidProposal(f"a keyword proposal needs 1 to {MAX_KEYWORDS} keywords, "
                                  f"got {len(p.keywords)}")
        if not all(w.strip() and len(w) <= 60 for w in p.keywords):
            raise InvalidProposal("keywords must be non-empty strings of at most 60 characters")
    elif p.kind == "regex":
        _check_regex(p.pattern)
    elif p.prompt or not p.question:
        if p.question:
            raise InvalidProposal("a prompt proposal has a question or a prompt, not both")
        _check_template(p.prompt)
        if p.descriptions:
            _check_descriptions(p.descriptions)
    else:
        if not p.question.strip() or len(p.question) > 2000:
            raise InvalidProposal("a prompt proposal needs a question of 1-2000 characters")
        _check_descriptions(p.descriptions)
    return p


def _check_descriptions(descriptions) -> None:
    if set(descriptions) != {"yes", "no"} or not all(
            isinstance(v, str) and v.strip() for v in descriptions.values()):
        raise InvalidProposal("a prompt proposal needs non-empty 'yes' and 'no' descriptions")


def _check_template(template) -> None:
    """A yes/no prompt template: 1 to MAX_PROMPT characters, no control character but line
    breaks and tabs, ``{text}`` at least once and no other format field (no attribute,
    index, conversion or format spec: ``{text.upper}``, ``{0}``, ``{text!r}``)."""
    if not isinstance(template, str) or not template.strip():
        raise InvalidProposal("a prompt proposal needs a non-empty prompt (a yes/no question "
                              "with {text} where the row's text goes)")
    if len(template) > MAX_PROMPT:
        raise InvalidProposal(f"prompt is longer than {MAX_PROMPT} characters")
    if any(not ch.isprintable() and ch not in "\n\t" for ch in template):
        raise InvalidProposal("prompt holds control characters (only line breaks and tabs "
                              "may be in it)")
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise InvalidProposal(f"prompt is not a template ({exc}); write {{{{ and }}}} for "
                              "literal braces") from None
    seen = False
    for _, name, spec, conversion in parts:
        if name is None:
            continue
        if name != PLACEHOLDER or spec or conversion:
            shown = name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
            raise InvalidProposal(f"prompt: placeholder {{{shown}}} is not allowed: the only "
                                  "placeholder is {text} (write {{ and }} for literal braces)")
        seen = True
    if not seen:
        raise InvalidProposal("prompt has no {text} placeholder: the row's text would never "
                              "reach the model")


def _check_regex(pattern) -> None:
    if not isinstance(pattern, str) or not pattern.strip():
        raise InvalidProposal("a regex proposal needs a non-empty pattern")
    if len(pattern) > MAX_PATTERN:
        raise InvalidProposal(f"regex is longer than {MAX_PATTERN} characters")
    try:
        compiled = re.compile(pattern, re.IGNORECASE)
    except (re.error, RecursionError, OverflowError) as exc:
        raise InvalidProposal(f"regex {pattern!r} does not compile: {exc}") from None
    if _NESTED_QUANTIFIER.search(pattern):
        raise InvalidProposal(f"regex {pattern!r} nests unbounded quantifiers (it could "
                              "backtrack for minutes on one row)")
    if compiled.search("") is not None:  # would fire on every row
        raise InvalidProposal(f"regex {pattern!r} matches the empty string (every row)")
