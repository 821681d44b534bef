"""Required literals of a regex: a cheap, exact test that rules texts out before it runs.

For a pattern, :func:`required_literals` returns strings of which at least one occurs
in every match (or None when it cannot tell). A text containing none of them cannot
match, so a C-level ``in`` test skips the regex engine for most texts. With
IGNORECASE the test runs on ``text.lower()`` and only for ASCII text and literals,
where lowercasing is exactly what IGNORECASE compares; other texts run the regex.

>>> required_literals(r"check\\s+(it\\s+)?out", 0)
['check']
>>> sorted(required_literals(r"https?://|www\\.", 0))
['http', 'www.']
>>> required_literals(r"\\w+", 0) is None
True
"""

from __future__ import annotations

import functools
import re

try:  # the parser behind re.compile; private, so any surprise means "no prefilter"
    from re import _constants as _c
    from re import _parser as _sre_parse
except ImportError:  # pragma: no cover
    _sre_parse = None

MIN_LENGTH = 2  # shorter literals match too often to be worth the test


def _best(candidates: list[list[str]]) -> list[str] | None:
    """The alternative set whose shortest literal is longest (the most selective)."""
    usable = [c for c in candidates if c and min(map(len, c)) >= MIN_LENGTH]
    return max(usable, key=lambda c: (min(map(len, c)), -len(c))) if usable else None


def _sequence(items) -> list[str] | None:
    candidates, run = [], []
    for op, av in items:
        if op is _c.LITERAL:
            run.append(chr(av))
            continue
        if run:
            candidates.append(["".join(run)])
            run = []
        if op is _c.SUBPATTERN:
            candidates.append(_sequence(av[-1]))
        elif op is _c.BRANCH:
            branches = [_sequence(b) for b in av[1]]
            if all(b is not None for b in branches):
                candidates.append([lit for b in branches for lit in b])
        elif op in (_c.MAX_REPEAT, _c.MIN_REPEAT, _c.POSSESSIVE_REPEAT) and av[0] >= 1:
            candidates.append(_sequence(av[2]))
    if run:
        candidates.append(["".join(run)])
    return _best([c for c in candidates if c is not None])


def required_literals(pattern: str, flags: int) -> list[str] | None:
    """Literals, one of which every match contains; None when unknown."""
    found = _required_literals(pattern, flags)
    return None if found is None else list(found)


@functools.lru_cache(maxsize=1024)  # an LF module re-imported by `labeling dev` parses once
def _required_literals(pattern: str, flags: int) -> tuple[str, ...] | None:
    if _sre_parse is None:
        return None
    try:
        parsed = _sre_parse.parse(pattern, flags)
        if parsed.state.flags & (re.VERBOSE | re.LOCALE):
            return None
        found = _sequence(list(parsed))
        return None if found is None else tuple(found)
    except Exception:  # unexpected parse tree: no prefilter, never a wrong answer
        return None
