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

import functools
import re
import unicodedata
from typing import Iterable

import numpy as np
from snorkel.labeling import LabelingFunction, labeling_function

from labeling.lf.prefilter import required_literals

ABSTAIN = -1

APPLIES, DOES_NOT_APPLY = 1, 0  # multi-label votes on an LF's target label
# The dev and test frames hold their gold here; no LF sees it (labeling.apply drops it):
# an LF reading it would score itself on its own answer key.
GOLD_COLUMN = "label"
GOLD_HIDDEN = "the gold label is not shown to LFs"


def as_lfs_see_it(df):
    """The DataFrame ``df`` without its gold column: no LF reads the gold, and what keys
    rows by content (the LF column cache, the run's row digests) keys them by what LFs
    see, so a gold edit never recomputes votes.

    A frame without a gold column is returned as it is, not copied (pandas before 3.0
    copies every column in ``drop``, even when nothing is dropped): its callers only
    read it."""
    if GOLD_COLUMN not in df.columns:
        return df
    return df.drop(columns=GOLD_COLUMN)


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

    ``pattern`` is a compiled regex, or its source and ``flags``: it is compiled when
    first needed. A keyword LF's pattern holds a long Unicode class (:func:`_word_or_mark`)
    that takes milliseconds to compile, and with ``ascii_lower_pattern`` set only
    non-ASCII texts need it: 300 generated keyword LFs load without compiling it.
    """

    ascii_literals: tuple[str, ...] = ()
    ascii_lower_pattern: re.Pattern | None = None
    normalize = None  # keyword LFs: the form texts are compared in (keyword_form)

    def __init__(self, name: str, pattern: re.Pattern | str, label: int, column: str = "text",
                 flags: int = 0):
        # The source and flags, not the compiled object, are the LF's state (and what its
        # fingerprint hashes): compiling it later changes nothing the LF holds.
        if isinstance(pattern, re.Pattern):
            pattern, flags = pattern.pattern, pattern.flags
        self.source, self.flags = pattern, flags
        self.label = label
        self.column = column
        super().__init__(name, f=self._vote)

    @property
    def pattern(self) -> re.Pattern:
        return _compiled(self.source, self.flags)

    @pattern.setter
    def pattern(self, pattern: re.Pattern) -> None:  # ``lf.pattern = re.compile(...)``
        if not isinstance(pattern, re.Pattern):
            raise TypeError(f"LF '{self.name}': pattern must be a compiled regex "
                            f"(re.compile), not {type(pattern).__name__}")
        self.source, self.flags = pattern.pattern, pattern.flags
        self.ascii_literals, self.ascii_lower_pattern = (), None  # they were the old one's

    def _vote(self, x) -> int:
        text = _text_of(getattr(x, self.column))
        if self.ascii_lower_pattern is not None and text.isascii():
            return self.label if self.ascii_lower_pattern.search(text.lower()) else ABSTAIN
        if self.normalize is not None:
            text = self.normalize(text)
        return self.label if self.pattern.search(text) else ABSTAIN

    def apply_column(self, values: "Iterable | TextColumn") -> np.ndarray:
        """Votes for a whole column: the same result as calling the LF on each row."""
        column = values if isinstance(values, TextColumn) else TextColumn(values)
        texts, search = column.texts, None
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
                search = search or self.pattern.search
                hits[i] = search(t if self.normalize is None else self.normalize(t)) is not None
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
        _compiled(pattern, flags)
    except re.error as exc:
        raise ValueError(f"regex_lf {name or pattern!r}: invalid regex: {exc}") from None
    if name is None:
        name = "regex_" + name_part(pattern)[:40]
    return _pattern_lf(name, pattern, flags, label, column, literals_of=pattern)


def _pattern_lf(name: str, pattern: str, flags: int, label: int, column: str,
                literals_of: str) -> PatternLF:
    """A PatternLF with its ASCII prefilter: the required literals of ``literals_of``, a
    pattern with the same literals as ``pattern``."""
    lf = PatternLF(name, pattern, label, column, flags)
    literals = required_literals(literals_of, flags)
    if literals and all(w.isascii() for w in literals):
        lf.ascii_literals = tuple(sorted({w.lower() for w in literals}))
    return lf


@functools.lru_cache(maxsize=4096)  # LFs rebuilt by `labeling dev` compile once
def _compiled(pattern: str, flags: int) -> re.Pattern:
    return re.compile(pattern, flags)


def keyword_lf(keywords: str | Iterable[str], label: int, name: str | None = None,
               column: str = "text", case_sensitive: bool = False,
               whole_word: bool = True) -> PatternLF:
    """An LF voting ``label`` where any of ``keywords`` occurs (as a whole word by default).

    Texts and keywords are compared in :func:`keyword_form`; a space in a keyword stands
    for any run of whitespace; "any case" also equates German "ss" and "ß"; an end of a
    keyword that is a letter or digit of a spaced script must not continue a word in the
    text, other ends (punctuation, emoji, Han, kana, Thai) may (docs/authoring.md)."""
    words = [keywords] if isinstance(keywords, str) else list(keywords)
    if not words or not all(isinstance(w, str) and keyword_form(w) for w in words):
        raise ValueError(f"keyword_lf {name!r}: keywords must be non-empty strings")
    if name is None:
        name = "keyword_" + name_part(words[0])
    words = [keyword_form(w) for w in words]
    flags = 0 if case_sensitive else re.IGNORECASE
    # The pattern with the Unicode boundary class is compiled only when a text needs it;
    # its literals are those of the same pattern with \w (lookarounds hold none), which
    # parses in a fraction of the time.
    lf = _pattern_lf(name, _keywords_regex(words, whole_word, case_sensitive, _word_or_mark()),
                     flags, label, column,
                     literals_of=_keywords_regex(words, whole_word, case_sensitive, r"\w"))
    lf.normalize = keyword_form
    if not case_sensitive and all(w.isascii() for w in words):
        # On ASCII text, IGNORECASE on ASCII literals == exact match after lower(), and
        # \w is the whole boundary class (no marks).
        lf.ascii_lower_pattern = re.compile(
            _keywords_regex([w.lower() for w in words], whole_word, False, r"\w"))
    return lf


# --- what "whole words, any case" means beyond ASCII (docs/authoring.md) ------------

# Scripts written without spaces between words (Thai, Lao, Myanmar, Khmer, kana, Han):
# a keyword end in one of them needs no word boundary ("東京" in "我在東京に").
_UNSPACED = re.compile("[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff"
                       "\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
                       "\uff66-\uff9f\U00020000-\U0003134f]")
_VARIATION_SELECTORS = {0xFE0E: None, 0xFE0F: None}  # text/emoji style of one symbol
# a keyword's whitespace runs, and (any case) German ss/ß: "STRASSE" is "Straße" upper-cased
_KEYWORD_PIECES = re.compile(r"(\s+|ss|[ßẞ])", re.IGNORECASE)


def keyword_form(text: str) -> str:
    """What keyword LFs compare: NFC (an accent typed as a separate combining mark is
    the same letter) without emoji variation selectors ("❤️" is "❤")."""
    if text.isascii():
        return text
    if not unicodedata.is_normalized("NFC", text):  # the test is ~50x faster than the work
        text = unicodedata.normalize("NFC", text)
    if "\ufe0f" in text or "\ufe0e" in text:
        text = text.translate(_VARIATION_SELECTORS)
    return text


@functools.lru_cache(maxsize=1)
def _word_or_mark() -> str:
    """A character class: word characters and the combining marks of the Basic
    Multilingual Plane (an accent left over after NFC, or a vowel sign, belongs to the
    letter before it; \\w alone misses it). Runs of marks are joined across word
    characters and unassigned code points, which change nothing, for a short class; the
    planes above hold few marks and would make the class several times slower."""
    def joins(cp: int) -> bool:
        return bool(_WORD.match(chr(cp))) or unicodedata.category(chr(cp)) == "Cn"

    marks = [cp for cp in range(0x10000) if unicodedata.category(chr(cp)).startswith("M")]
    runs = [[marks[0], marks[0]]]
    for cp in marks[1:]:
        if all(joins(gap) for gap in range(runs[-1][1] + 1, cp)):
            runs[-1][1] = cp
        else:
            runs.append([cp, cp])
    return "[\\w" + "".join(f"{chr(a)}-{chr(b)}" for a, b in runs) + "]"


_WORD = re.compile(r"\w")


def _bounded(char: str) -> bool:
    """Whether a keyword ending in ``char`` must not continue a word there: letters and
    digits of spaced scripts; not punctuation, symbols or emoji ("c++", "50%", "🔥")."""
    return bool(re.match(r"\w", char)) and not _UNSPACED.match(char)


def _keywords_regex(words: list[str], whole_word: bool, case_sensitive: bool,
                    word_char: str) -> str:
    """One alternation per kind of ends (with a word boundary or not), longest first; a
    boundary is no ``word_char`` (a character class) on that side."""
    groups: dict[tuple[bool, bool], list[str]] = {}
    for word in sorted(words, key=len, reverse=True):
        pieces = _KEYWORD_PIECES.split(word)
        body = "".join(re.escape(p) if i % 2 == 0 else r"\s+" if p.isspace() else
                       re.escape(p) if case_sensitive else "(?:ss|ß)"
                       for i, p in enumerate(pieces))
        ends = (whole_word and _bounded(word[0]), whole_word and _bounded(word[-1]))
        groups.setdefault(ends, []).append(body)
    return "|".join((f"(?<!{word_char})" if left else "") + f"(?:{'|'.join(bodies)})"
                    + (f"(?!{word_char})" if right else "")
                    for (left, right), bodies in groups.items())


def name_part(text: str) -> str:
    """A name's part for ``text`` (a default LF name, ``labeling init``'s label
    constants): its words, or for text without any ("$$$", "🔥") its characters'
    Unicode names ("dollar_sign_dollar_sign...")."""
    words = re.sub(r"\W+", "_", text).strip("_")
    if words:
        return words
    names = (unicodedata.name(c, f"u{ord(c):04x}") for c in text if not c.isspace())
    return re.sub(r"\W+", "_", " ".join(names).lower()).strip("_")[:40] or "blank"


def for_label(target: str, lf: LabelingFunction) -> LabelingFunction:
    """Multi-label tasks: ``lf`` votes on the label named ``target`` only, with
    ``APPLIES`` (1), ``DOES_NOT_APPLY`` (0) or ``ABSTAIN`` (-1). Returns ``lf``."""
    if not isinstance(target, str) or not target:
        raise ValueError(f"for_label: the target must be a label name, got {target!r}")
    lf.target_label = target
    return lf
