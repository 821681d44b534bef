"""Generated keyword LFs (hundreds, built in a loop) load without compiling the long
Unicode boundary class; only a non-ASCII text compiles it, and the votes and the
fingerprint are those of the eagerly compiled pattern."""

import re
from types import SimpleNamespace as Row

import numpy as np
import pytest

from labeling import ABSTAIN, keyword_lf
from labeling.apply.fingerprint import lf_fingerprint
from labeling.lf import core
from labeling.lf.core import TextColumn, keyword_form

TEXTS = ["Please SUBSCRIBE to my channel", "subscriber count", "free gift card", "",
         "Straße gesperrt", "STRASSE", "café au lait", "le CAFÉ", "gift🔥", "western\nunion",
         "WESTERN UNION!", "freebie", "no match here", "naïve sub4sub"]


@pytest.fixture
def unicode_compiles(monkeypatch):
    """The patterns compiled from now on that hold the Unicode boundary class."""
    _clear_compiled()
    seen, real = [], re.compile
    unicode_class = core._word_or_mark()

    def spy(pattern, flags=0):
        if isinstance(pattern, str) and unicode_class in pattern:
            seen.append(pattern)
        return real(pattern, flags)

    monkeypatch.setattr(re, "compile", spy)
    yield seen
    _clear_compiled()


def _clear_compiled():
    if hasattr(core, "_compiled"):
        core._compiled.cache_clear()


def test_ascii_keyword_lfs_on_ascii_texts_never_compile_the_unicode_class(unicode_compiles):
    lfs = [keyword_lf([f"word{i}", f"other {i}", "subscribe"], label=i % 2, name=f"kw{i}")
           for i in range(50)]
    ascii_texts = [t for t in TEXTS if t.isascii()]
    for lf in lfs:
        lf.apply_column(ascii_texts)
        assert [lf(Row(text=t)) for t in ascii_texts][0] == lf.label
    assert unicode_compiles == []
    lfs[0].apply_column(["Straße subscribe"])  # a non-ASCII text needs it: once
    lfs[0](Row(text="Straße subscribe"))
    assert len(unicode_compiles) == 1


@pytest.mark.parametrize("keywords, case_sensitive", [
    (["subscribe", "sub4sub"], False), (["straße", "western union"], False),
    (["café", "gift"], False), (["CAFÉ", "Straße"], True), (["free", "gift"], True),
    (["🔥"], False)])
def test_votes_are_those_of_the_eagerly_compiled_pattern(keywords, case_sensitive):
    lf = keyword_lf(keywords, label=1, name="kw", case_sensitive=case_sensitive)
    eager = re.compile(lf.source, lf.flags)
    expected = [1 if eager.search(keyword_form(t)) else ABSTAIN for t in TEXTS]
    assert [lf(Row(text=t)) for t in TEXTS] == expected
    assert lf.apply_column(TextColumn(TEXTS)).tolist() == expected
    assert lf.pattern.pattern == lf.source and lf.pattern.flags == eager.flags


def test_fingerprint_does_not_change_when_the_pattern_is_first_compiled():
    _clear_compiled()
    lf = keyword_lf(["café", "straße"], label=1, name="kw")
    before = lf_fingerprint(lf, 2)
    assert lf.apply_column(["le café"]).tolist() == [1]
    assert lf_fingerprint(lf, 2) == before
    # "strasse" is "straße" in any case: the same votes, the same fingerprint
    assert lf_fingerprint(keyword_lf(["café", "strasse"], label=1, name="kw"), 2) == before
    assert lf_fingerprint(keyword_lf(["cafe", "straße"], label=1, name="kw"), 2) != before


def test_regex_lf_still_rejects_a_bad_regex_when_built():
    with pytest.raises(ValueError, match=r"regex_lf 'bad': invalid regex"):
        core.regex_lf("(unclosed", label=1, name="bad")
    lf = core.PatternLF("given", re.compile("Spam", re.IGNORECASE), label=1)
    assert lf.pattern.flags & re.IGNORECASE and lf(Row(text="SPAM")) == 1
    assert np.array_equal(lf.apply_column(["spam", "ham"]), [1, -1])


def test_assigning_a_pattern_replaces_the_lfs_pattern_and_its_shortcuts():
    """``lf.pattern = re.compile(...)`` (an attribute before it was compiled lazily) still
    works, and drops the old pattern's prefilter and ASCII form, which would keep the
    old votes."""
    lf = keyword_lf(["subscribe"], label=1, name="kw")
    before = lf_fingerprint(lf, 2)
    lf.pattern = re.compile(r"free|gift", re.IGNORECASE)
    assert lf(Row(text="FREE stuff")) == 1 and lf(Row(text="subscribe")) == ABSTAIN
    assert lf.apply_column(["FREE stuff", "subscribe", "a gift"]).tolist() == [1, -1, 1]
    assert lf_fingerprint(lf, 2) != before
    with pytest.raises(TypeError, match="LF 'kw': pattern must be a compiled regex"):
        lf.pattern = "free"
