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

import functools
from typing import Callable, Sequence

from snorkel.labeling import LabelingFunction
from snorkel.preprocess import preprocessor

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


@preprocessor(memoize=True, memoize_key=lambda x: x.text)
def spacy_doc(x):
    """Adds ``x.doc``, the parsed ``text``; memoized so LFs share one parse per text."""
    x.doc = default_nlp()(x.text if isinstance(x.text, str) else "")
    return x


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

    return LabelingFunction(name, vote, pre=[spacy_doc])
