"""spaCy-based labeling functions that work without a downloaded pipeline.

:func:`default_nlp` uses ``en_core_web_sm`` when it is installed and otherwise
``spacy.blank("en")`` with a sentencizer and an EntityRuler that tags ``URL``,
``EMAIL``, ``MONEY`` and ``HANDLE`` (``@name``) spans from token shapes, so entity
LFs have something real to look at on a fresh machine. Nothing is ever downloaded.
One preprocessor parses each text once and shares the ``Doc`` across all LFs.

>>> from types import SimpleNamespace as Row
>>> has_url = entity_lf("has_url", ["URL"], label=1)
>>> has_url(Row(text="see www.example.com now")), has_url(Row(text="nice song"))
(1, -1)
"""

from __future__ import annotations

import copy
import functools
from typing import Callable, Sequence

from snorkel.labeling import LabelingFunction

from labeling.lf.core import ABSTAIN

__all__ = ["default_nlp", "entity_lf", "matcher_lf", "spacy_doc", "spacy_lf"]

RULE_PATTERNS = [
    {"label": "URL", "pattern": [{"LIKE_URL": True}]},
    {"label": "EMAIL", "pattern": [{"LIKE_EMAIL": True}]},
    {"label": "MONEY", "pattern": [{"ORTH": {"IN": ["$", "€", "£"]}}, {"LIKE_NUM": True}]},
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

    lf = LabelingFunction(name, vote, pre=[spacy_doc])
    lf.fingerprint_extra = patterns  # the matcher object hides them from fingerprints
    return lf
