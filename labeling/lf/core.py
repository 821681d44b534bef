"""Python labeling functions: snorkel's decorator, plus keyword and regex LFs.

Every LF here is a snorkel ``LabelingFunction``: called on a row ``x`` it returns a
class index or ``ABSTAIN`` (-1). Keyword and regex LFs also carry their compiled
pattern, so the applier can run them over a whole column at once with exactly the
semantics of calling them row by row.

>>> import re
>>> from types import SimpleNamespace as Row
>>> lf = keyword_lf(["subscribe", "my channel"], label=1)
>>> lf.name, lf(Row(text="Please SUBSCRIBE!")), lf(Row(text="subscriber"))
('keyword_subscribe', 1, -1)
>>> regex_lf(r"check\\s+(it\\s+)?out", label=1)(Row(text="check it out"))
1
"""

from __future__ import annotations

import re
from typing import Iterable

import numpy as np
from snorkel.labeling import LabelingFunction, labeling_function

ABSTAIN = -1

__all__ = ["ABSTAIN", "PatternLF", "keyword_lf", "labeling_function", "regex_lf"]


def _text_of(value) -> str:
    # Missing cells (NaN/None) match nothing rather than the string "nan".
    return value if isinstance(value, str) else ""


class PatternLF(LabelingFunction):
    """Votes ``label`` when ``pattern`` is found in ``column``, else abstains.

    Keyword LFs also set a fast path for ASCII texts: ``ascii_literals`` (lowercase
    keywords, one of which must occur in the lowercased text) and
    ``ascii_lower_pattern`` (matches the lowercased text exactly where ``pattern``
    matches the original). A C-level substring test rejects most texts before any
    regex runs, and IGNORECASE, which disables re's literal search, is avoided.
    """

    ascii_literals: tuple[str, ...] = ()
    ascii_lower_pattern: re.Pattern | None = None

    def __init__(self, name: str, pattern: re.Pattern, label: int, column: str = "text"):
        self.pattern = pattern
        self.label = label
        self.column = column
        super().__init__(name, f=self._vote)

    def _vote(self, x) -> int:
        return self.label if self.pattern.search(_text_of(getattr(x, self.column))) else ABSTAIN

    def apply_column(self, values: Iterable) -> np.ndarray:
        """Votes for a whole column: the same result as calling the LF on each row."""
        texts = [_text_of(v) for v in values]
        search = self.pattern.search
        if self.ascii_lower_pattern is None:
            hits = [search(t) is not None for t in texts]
        else:
            fast, literals = self.ascii_lower_pattern.search, self.ascii_literals
            hits = []
            for t in texts:
                if t.isascii():
                    low = t.lower()
                    hits.append(any(w in low for w in literals) and fast(low) is not None)
                else:
                    hits.append(search(t) is not None)
        dtype = np.int8 if self.label <= 127 else np.int16
        return np.where(np.array(hits, dtype=bool), self.label, ABSTAIN).astype(dtype)


def regex_lf(pattern: str, label: int, name: str | None = None, column: str = "text",
             case_sensitive: bool = False) -> PatternLF:
    """An LF voting ``label`` where the regex ``pattern`` matches (``re.search``)."""
    flags = 0 if case_sensitive else re.IGNORECASE
    try:
        compiled = re.compile(pattern, flags)
    except re.error as exc:
        raise ValueError(f"regex_lf {name or pattern!r}: invalid regex: {exc}") from None
    if name is None:
        name = "regex_" + re.sub(r"\W+", "_", pattern).strip("_")[:40]
    return PatternLF(name, compiled, label, column)


def keyword_lf(keywords: str | Iterable[str], label: int, name: str | None = None,
               column: str = "text", case_sensitive: bool = False,
               whole_word: bool = True) -> PatternLF:
    """An LF voting ``label`` where any of ``keywords`` occurs (as a whole word by default)."""
    words = [keywords] if isinstance(keywords, str) else list(keywords)
    if not words or not all(isinstance(w, str) and w for w in words):
        raise ValueError(f"keyword_lf {name!r}: keywords must be non-empty strings")

    def build(ws):
        alternatives = "|".join(re.escape(w) for w in ws)
        return rf"(?<!\w)(?:{alternatives})(?!\w)" if whole_word else f"(?:{alternatives})"

    if name is None:
        name = "keyword_" + re.sub(r"\W+", "_", words[0]).strip("_")
    lf = regex_lf(build(words), label, name=name, column=column, case_sensitive=case_sensitive)
    if not case_sensitive and all(w.isascii() for w in words):
        # On ASCII text, IGNORECASE on ASCII literals == exact match after lower().
        lf.ascii_literals = tuple(w.lower() for w in words)
        lf.ascii_lower_pattern = re.compile(build(lf.ascii_literals))
    return lf
