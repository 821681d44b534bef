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

from labeling.lf.prefilter import required_literals

ABSTAIN = -1

APPLIES, DOES_NOT_APPLY = 1, 0  # multi-label votes on an LF's target label

__all__ = ["ABSTAIN", "APPLIES", "DOES_NOT_APPLY", "PatternLF", "TextColumn", "for_label",
           "keyword_lf", "labeling_function", "regex_lf"]


def _text_of(value) -> str:
    # Missing cells (NaN/None) match nothing rather than the string "nan".
    return value if isinstance(value, str) else ""


class PatternLF(LabelingFunction):
    """Votes ``label`` when ``pattern`` is found in ``column``, else abstains.

    Fast path for ASCII texts: ``ascii_literals`` are lowercase strings one of which
    occurs in the lowercased text of every match (see :mod:`labeling.lf.prefilter`), so
    a C-level substring test rejects most texts before any regex runs. Keyword LFs
    also set ``ascii_lower_pattern``, which matches the lowercased text exactly where
    ``pattern`` matches the original, avoiding IGNORECASE (it disables re's literal
    search).
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

    def apply_column(self, values: "Iterable | TextColumn") -> np.ndarray:
        """Votes for a whole column: the same result as calling the LF on each row."""
        column = values if isinstance(values, TextColumn) else TextColumn(values)
        texts, search = column.texts, self.pattern.search
        if self.ascii_literals:
            # Only rows that can match run the regex: non-ASCII rows, and ASCII rows
            # holding one of the required literals (checked in C by Arrow).
            candidates = np.flatnonzero(~column.ascii | column.contains_any(self.ascii_literals))
        else:
            candidates = range(len(texts))
        confirm = self.ascii_lower_pattern.search if self.ascii_lower_pattern else None
        hits = np.zeros(len(texts), dtype=bool)
        for i in candidates:
            t = texts[i]
            if confirm is not None and column.ascii[i]:
                hits[i] = confirm(t.lower()) is not None
            else:
                hits[i] = search(t) is not None
        dtype = np.int8 if self.label <= 127 else np.int16
        return np.where(hits, self.label, ABSTAIN).astype(dtype)


class TextColumn:
    """A text column prepared once for every pattern LF that reads it: the Python
    strings, an ASCII mask, and the ASCII-lowercased text as an Arrow array for
    vectorized substring tests (on ASCII text, ASCII lowering is exactly str.lower)."""

    def __init__(self, values: Iterable):
        import pyarrow as pa
        import pyarrow.compute as pc

        self.texts = [_text_of(v) for v in values]
        array = pa.array(self.texts, type=pa.large_string())
        self.ascii = pc.string_is_ascii(array).to_numpy(zero_copy_only=False)
        self._lower = pc.ascii_lower(array)

    def contains_any(self, literals) -> np.ndarray:
        import pyarrow.compute as pc

        found = np.zeros(len(self.texts), dtype=bool)
        for literal in literals:
            found |= pc.match_substring(self._lower, literal).to_numpy(zero_copy_only=False)
        return found


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
    lf = PatternLF(name, compiled, label, column)
    literals = required_literals(pattern, flags)
    if literals and all(w.isascii() for w in literals):
        lf.ascii_literals = tuple(sorted({w.lower() for w in literals}))
    return lf


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
        lf.ascii_lower_pattern = re.compile(build([w.lower() for w in words]))
    return lf


def for_label(target: str, lf: LabelingFunction) -> LabelingFunction:
    """Multi-label tasks: ``lf`` votes on the label named ``target`` only, with
    ``APPLIES`` (1), ``DOES_NOT_APPLY`` (0) or ``ABSTAIN`` (-1). Returns ``lf``."""
    if not isinstance(target, str) or not target:
        raise ValueError(f"for_label: the target must be a label name, got {target!r}")
    lf.target_label = target
    return lf
