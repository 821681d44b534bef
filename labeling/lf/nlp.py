"""spaCy-based labeling functions that work without a downloaded pipeline.

:func:`default_nlp` uses ``en_core_web_sm`` when it is installed and otherwise
``spacy.blank("en")`` with a sentencizer and an EntityRuler that tags ``URL``,
``EMAIL``, ``MONEY`` (a currency before or after an amount: ``€50``, ``50 €``) and
``HANDLE`` (``@name``) spans from token shapes, so entity LFs have something real to
look at on a fresh machine. Nothing is ever downloaded.
One preprocessor parses each text once and shares the ``Doc`` across all LFs.

For the LF column cache, :func:`pipeline_identity` and :func:`spacy_content` describe
pipelines and matchers as plain data: what the votes of a spaCy LF depend on.

>>> from types import SimpleNamespace as Row
>>> has_url = entity_lf("has_url", ["URL"], label=1)
>>> has_url(Row(text="see www.example.com now")), has_url(Row(text="nice song"))
(1, -1)
"""

from __future__ import annotations

import copy
import functools
import importlib.metadata
import types
from typing import Callable, Sequence

from snorkel.labeling import LabelingFunction

from labeling.lf.core import ABSTAIN

__all__ = ["default_nlp", "entity_lf", "matcher_lf", "pipeline_identity", "spacy_content",
           "spacy_doc", "spacy_lf"]

# A currency before or after an amount: "€50", "$ 20", and "50 €", "1.234,56€", "20 TL" as
# most of Europe writes it.
CURRENCIES = ["$", "€", "£", "¥", "₺", "₽", "₹", "₩", "₪", "₴", "₣", "zł", "Kč", "Ft", "TL",
              "EUR", "USD", "GBP", "CHF", "TRY", "RUB", "PLN", "SEK", "NOK", "DKK", "CZK"]
RULE_PATTERNS = [
    {"label": "URL", "pattern": [{"LIKE_URL": True}]},
    {"label": "EMAIL", "pattern": [{"LIKE_EMAIL": True}]},
    # spaCy's LIKE_EMAIL is ASCII only: max@müller.de, josé@correo.es
    {"label": "EMAIL", "pattern": [{"TEXT": {"REGEX": r"^[\w.+-]+@\w[\w-]*(?:\.[\w-]+)+$"}}]},
    {"label": "MONEY", "pattern": [{"ORTH": {"IN": CURRENCIES}}, {"LIKE_NUM": True}]},
    {"label": "MONEY", "pattern": [{"LIKE_NUM": True}, {"ORTH": {"IN": CURRENCIES}}]},
    {"label": "HANDLE", "pattern": [{"TEXT": {"REGEX": r"^@\w{2,}$"}}]},
]


@functools.lru_cache(maxsize=1)
def default_nlp():
    """The shared pipeline: a trained English model if installed, else blank + rules."""
    import spacy

    try:
        nlp = spacy.load("en_core_web_sm")
    except OSError:
        nlp = spacy.blank("en")
        nlp.add_pipe("sentencizer")
    ruler = nlp.add_pipe("entity_ruler", name="labeling_rules",
                         config={"overwrite_ents": False})
    ruler.add_patterns(RULE_PATTERNS)
    return nlp


class SpacyDocs:
    """Preprocessor adding ``x.doc``, the parsed ``text``, to a copy of the row.

    Docs are kept per text, so every spaCy LF shares one parse of a row. The applier
    calls :meth:`prime` with a chunk's texts (parsed together with ``nlp.pipe``,
    much faster than one by one) and :meth:`clear` after it, bounding memory.
    """

    name = "spacy_doc"

    def __init__(self, batch_size: int = 1000):
        self.batch_size = batch_size
        self.docs: dict[str, object] = {}

    def prime(self, texts) -> None:
        todo = list(dict.fromkeys(t for t in texts if t not in self.docs))
        for text, doc in zip(todo, default_nlp().pipe(todo, batch_size=self.batch_size)):
            self.docs[text] = doc

    def clear(self) -> None:
        self.docs.clear()

    def __lf_fingerprint__(self):
        """The pipeline that parses (not the docs kept: they are results)."""
        return pipeline_identity(default_nlp())

    def __call__(self, x):
        text = x.text if isinstance(x.text, str) else ""
        doc = self.docs.get(text)
        if doc is None:
            doc = self.docs[text] = default_nlp()(text)
        x = copy.copy(x)  # never mutate the row other LFs see
        x.doc = doc
        return x


spacy_doc = SpacyDocs()


def spacy_lf(name: str | None = None, resources: dict | None = None) -> Callable:
    """Decorator like snorkel's ``labeling_function`` whose function can read ``x.doc``."""

    def wrap(f: Callable[..., int]) -> LabelingFunction:
        return LabelingFunction(name or f.__name__, f, resources=resources, pre=[spacy_doc])

    return wrap


def entity_lf(name: str, entity_labels: Sequence[str], label: int) -> LabelingFunction:
    """Votes ``label`` when the doc has an entity of one of ``entity_labels``."""
    wanted = frozenset(entity_labels)

    def vote(x) -> int:
        return label if any(ent.label_ in wanted for ent in x.doc.ents) else ABSTAIN

    return LabelingFunction(name, vote, pre=[spacy_doc])


def matcher_lf(name: str, patterns: list[list[dict]], label: int) -> LabelingFunction:
    """Votes ``label`` when any spaCy ``Matcher`` token pattern matches the doc."""
    from spacy.matcher import Matcher

    matcher = Matcher(default_nlp().vocab)
    matcher.add(name, patterns)

    def vote(x) -> int:
        return label if matcher(x.doc) else ABSTAIN

    return LabelingFunction(name, vote, pre=[spacy_doc])  # fingerprinted by the matcher's patterns


def _spacy_version() -> str:
    try:
        return importlib.metadata.version("spacy")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def pipeline_identity(nlp) -> dict:
    """What a pipeline's parses depend on, as plain data: the model's name and version
    (which stand for its trained weights), the spaCy version, and each active
    component's factory, config and rules (ruler patterns; a function component's
    code)."""
    components = nlp.config["components"]
    pipes = []
    for name, pipe in nlp.pipeline:
        if hasattr(pipe, "patterns"):  # EntityRuler, SpanRuler, AttributeRuler
            rules = pipe.patterns
        elif isinstance(pipe, types.FunctionType):
            rules = pipe
        else:
            rules = None
        pipes.append((name, nlp.get_pipe_meta(name).factory, dict(components.get(name, {})), rules))
    return {"lang": nlp.lang, "name": nlp.meta.get("name"), "version": nlp.meta.get("version"),
            "spacy": _spacy_version(), "pipes": pipes, "disabled": list(nlp.disabled)}


def _key_name(vocab, key):
    try:
        return vocab.strings[key]
    except (KeyError, IndexError):
        return key


def spacy_content(obj):
    """Plain data standing for a spaCy object an LF reads (pipeline, matcher, ruler),
    or None when there is none to give (a Doc, a Vocab...)."""
    # spaCy is a heavy optional dependency: imported only when an LF uses it.
    from spacy.language import Language
    from spacy.matcher import Matcher, PhraseMatcher

    if isinstance(obj, Language):
        return pipeline_identity(obj)
    if isinstance(obj, Matcher):
        return sorted(((str(_key_name(obj.vocab, key)), patterns, obj._filter.get(key),
                        obj._callbacks.get(key)) for key, patterns in obj._patterns.items()),
                      key=lambda entry: entry[0])
    if isinstance(obj, PhraseMatcher):
        _, docs, callbacks, attr = obj.__reduce__()[1]  # docs: token attribute hashes
        return {"attr": attr, "docs": docs, "callbacks": callbacks}
    if hasattr(obj, "patterns"):  # a ruler used on its own
        return {"patterns": obj.patterns}
    return None
