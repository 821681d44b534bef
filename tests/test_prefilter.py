"""The regex prefilter never changes a pattern LF's votes, however odd the text."""

import random
from types import SimpleNamespace

import numpy as np
import pytest

from labeling import keyword_lf, regex_lf
from labeling.lf.prefilter import required_literals

PATTERNS = [
    r"check\s+(it\s+)?out", r"\b(beautiful|amazing)\s+voice\b", r"https?://|www\.",
    r"(?i:Subscribe)", r"Subscribe", r"(?-i:ABC)def", r"x?yz+", r"(ab|cd)ef|gh",
    r"\bcheck\s+(my|our)\b", r"fo{2,}d", r"(?=kelvin)k\w+", r"stra(ss|ß)e", r"s{1,2}t",
]
WORDS = ["check", "CHECK", "out", "it", "beautiful", "Amazing", "voice", "VOICE", "http://",
         "www.", "Subscribe", "SUBSCRIBE", "ABCdef", "abcDEF", "xyz", "yzzz", "abef", "cdEF",
         "gh", "my", "our", "food", "fooood", "kelvin", "\u212aelvin", "stra\u00dfe", "STRASSE",
         "\u017ft", "st", "\u00e9t\u00e9", "caf\u00e9", "\u0130stanbul", "", " ", "\n"]


def random_texts(n=3000, seed=3):
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(0, 6))) for _ in range(n)]


@pytest.mark.parametrize("case_sensitive", [False, True])
@pytest.mark.parametrize("pattern", PATTERNS)
def test_column_votes_equal_row_votes(pattern, case_sensitive):
    lf = regex_lf(pattern, label=1, name="p", case_sensitive=case_sensitive)
    texts = random_texts()
    rowwise = [lf(SimpleNamespace(text=t)) for t in texts]
    assert lf.apply_column(texts).tolist() == rowwise


def test_keyword_fast_path_on_unicode_case_folding():
    lf = keyword_lf(["kelvin", "st", "strasse"], label=1)
    texts = random_texts(seed=9)
    assert lf.apply_column(texts).tolist() == [lf(SimpleNamespace(text=t)) for t in texts]


def test_required_literals_are_conservative():
    assert required_literals(r"\w+\s", 0) is None
    assert required_literals(r"(a|b)c", 0) is None          # too short to be worth it
    assert required_literals(r"(foo)?bar", 0) == ["bar"]    # an optional part is not required
    assert sorted(required_literals(r"alpha|beta", 0)) == ["alpha", "beta"]
    assert np.all([required_literals(p, 0) is None or all(required_literals(p, 0))
                   for p in PATTERNS])
