"""The LF authoring API: keyword/regex LFs and the spaCy LFs (blank pipeline + rules)."""

from __future__ import annotations

import math
from types import SimpleNamespace as Row

import numpy as np
import pandas as pd
import pytest
from snorkel.labeling import LabelingFunction

from labeling import ABSTAIN, entity_lf, keyword_lf, matcher_lf, regex_lf, spacy_lf
from labeling.lf.core import PatternLF
from labeling.lf.loader import load_lfs
from labeling.lf.nlp import default_nlp


def vote(lf, text, **extra):
    return lf(Row(text=text, **extra))


# --- keyword_lf ----------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("Please SUBSCRIBE!", 1),
    ("subscribe", 1),
    ("SubScribe to me", 1),
    ("(subscribe)", 1),
    ("subscribe,now", 1),
    ("subscriber", ABSTAIN),        # longer word
    ("unsubscribe", ABSTAIN),       # word inside another word
    ("subscribe_now", ABSTAIN),     # '_' is a word character
    ("subscribe2", ABSTAIN),
    ("sub scribe", ABSTAIN),
    ("", ABSTAIN),
])
def test_keyword_lf_whole_word_case_insensitive(text, expected):
    lf = keyword_lf("subscribe", label=1)
    assert vote(lf, text) == expected


def test_keyword_lf_several_keywords_and_phrases():
    lf = keyword_lf(["my channel", "sub4sub"], label=1)
    assert lf.name == "keyword_my_channel"
    assert vote(lf, "Visit MY CHANNEL now") == 1
    assert vote(lf, "sub4sub anyone?") == 1
    assert vote(lf, "mychannel") == ABSTAIN
    assert vote(lf, "my  channel") == 1  # any run of whitespace between its words


def test_keyword_lf_escapes_regex_metacharacters():
    lf = keyword_lf(["c++", "a.b"], label=0)
    assert vote(lf, "I write C++ daily") == 0
    assert vote(lf, "a.b") == 0
    assert vote(lf, "axb") == ABSTAIN  # '.' is not a wildcard
    assert vote(lf, "c") == ABSTAIN


def test_keyword_lf_options():
    substring = keyword_lf("sub", label=1, whole_word=False)
    assert vote(substring, "SUBSCRIBER") == 1
    sensitive = keyword_lf("Psy", label=0, case_sensitive=True)
    assert vote(sensitive, "Psy rocks") == 0
    assert vote(sensitive, "psy rocks") == ABSTAIN
    assert vote(sensitive, "PSY rocks") == ABSTAIN
    other_column = keyword_lf("bot", label=1, name="author_bot", column="author")
    assert other_column.name == "author_bot"
    assert other_column(Row(text="bot", author="a human")) == ABSTAIN
    assert other_column(Row(text="hello", author="spam bot 3000")) == 1


@pytest.mark.parametrize("keywords", [[], "", ["ok", ""], ["ok", 3]])
def test_keyword_lf_rejects_empty_or_non_string_keywords(keywords):
    with pytest.raises(ValueError, match="keywords must be non-empty strings"):
        keyword_lf(keywords, label=1)


def test_keyword_lf_is_a_snorkel_pattern_lf():
    lf = keyword_lf(["free", "money"], label=1, name="kw_money")
    assert isinstance(lf, PatternLF) and isinstance(lf, LabelingFunction)
    assert lf.label == 1 and lf.column == "text"
    assert lf.pattern.search("FREE stuff")


# --- regex_lf ------------------------------------------------------------------

def test_regex_lf_search_semantics_and_default_name():
    lf = regex_lf(r"check\s+(it\s+)?out", label=1)
    assert lf.name == "regex_check_s_it_s_out"
    assert vote(lf, "check it out") == 1
    assert vote(lf, "pls CHECK   OUT my vid") == 1  # searched anywhere, ignoring case
    assert vote(lf, "checkout") == ABSTAIN
    anchored = regex_lf(r"^\d+$", label=0, name="only_digits")
    assert vote(anchored, "12345") == 0
    assert vote(anchored, "12345 views") == ABSTAIN


def test_regex_lf_case_sensitive():
    lf = regex_lf(r"[A-Z]{5,}", label=1, name="caps", case_sensitive=True)
    assert vote(lf, "SUBSCRIBE now") == 1
    assert vote(lf, "subscribe now") == ABSTAIN


def test_regex_lf_default_name_is_capped():
    lf = regex_lf("a" * 100, label=1)
    assert lf.name == "regex_" + "a" * 40


@pytest.mark.parametrize("pattern", ["(unclosed", "[a-", "*starts", r"a{2,1}"])
def test_invalid_regex_raises_value_error_naming_it(pattern):
    with pytest.raises(ValueError) as info:
        regex_lf(pattern, label=1)
    message = str(info.value)
    assert repr(pattern) in message
    assert "invalid regex" in message


def test_invalid_regex_error_names_the_lf_when_named():
    with pytest.raises(ValueError, match=r"'my_lf'.*invalid regex"):
        regex_lf("(", label=1, name="my_lf")


# --- apply_column == row by row -------------------------------------------------

ODD_VALUES = [
    math.nan, None, "", " ", "nan", "None", 0, 3.5, pd.NA,
    "ＳＵＢＳＣＲＩＢＥ to my channel",           # full-width letters
    "Subscribe\u00a0now",                         # no-break space
    "subscribe\ufeff", "\ufeffsubscribe",         # BOM glued to the word
    "Ünïcödé sübscribe", "subscribé", "café money",
    "İSTANBUL check it out", "ß straße",
    "🔥🔥 subscribe 🔥🔥", "check\nout", "check\tout", "my\nchannel",
    "www.example.com", "HTTP://BIT.LY/abc", "x" * 10_000 + " subscribe",
]


@pytest.fixture(scope="module")
def youtube_lfs(repo_root):
    return load_lfs([str(repo_root / "functions" / "youtube_spam.py")], repo_root)


@pytest.fixture(scope="module")
def train_texts(repo_root):
    return pd.read_csv(repo_root / "data" / "youtube" / "train.csv", dtype=str,
                       keep_default_na=False)["text"].tolist()


def _extra_pattern_lfs():
    return [keyword_lf(["subscribe", "my channel"], label=1, name="kw_a"),
            keyword_lf("sub", label=1, name="kw_sub_substring", whole_word=False),
            keyword_lf("Money", label=0, name="kw_cs", case_sensitive=True),
            regex_lf(r"^\s*$", label=0, name="re_blank"),  # matches the empty string
            regex_lf(r"nan|none", label=1, name="re_nan_none")]


def test_apply_column_equals_row_by_row_on_bundled_train(youtube_lfs, train_texts):
    pattern_lfs = [lf for lf in youtube_lfs if isinstance(lf, PatternLF)]
    assert len(pattern_lfs) >= 5  # the example module's keyword and regex LFs
    any_vote = False
    for lf in pattern_lfs + _extra_pattern_lfs():
        column = lf.apply_column(pd.Series(train_texts))
        rows = np.array([vote(lf, t) for t in train_texts])
        assert column.dtype == np.int8
        np.testing.assert_array_equal(column, rows, err_msg=lf.name)
        any_vote |= bool((column != ABSTAIN).any())
    assert any_vote


def test_apply_column_equals_row_by_row_on_odd_values(youtube_lfs):
    values = pd.Series(ODD_VALUES, dtype=object)
    for lf in [lf for lf in youtube_lfs if isinstance(lf, PatternLF)] + _extra_pattern_lfs():
        column = lf.apply_column(values)
        rows = np.array([vote(lf, v) for v in ODD_VALUES])
        np.testing.assert_array_equal(column, rows, err_msg=lf.name)


def test_missing_values_match_nothing_not_the_string_nan():
    lf = regex_lf("nan|none", label=1, name="re_nan")
    blank = regex_lf(r"^$", label=0, name="re_empty")
    values = [math.nan, None, pd.NA, "nan"]
    assert lf.apply_column(values).tolist() == [ABSTAIN, ABSTAIN, ABSTAIN, 1]
    # A missing cell reads as the empty string.
    assert blank.apply_column(values).tolist() == [0, 0, 0, ABSTAIN]


def test_apply_column_of_empty_column():
    lf = keyword_lf("x", label=1)
    out = lf.apply_column([])
    assert out.shape == (0,) and out.dtype == np.int8


# --- spaCy LFs -----------------------------------------------------------------

def test_default_nlp_has_the_rule_based_entity_ruler():
    import spacy

    nlp = default_nlp()
    assert nlp is default_nlp()  # one shared pipeline
    assert "labeling_rules" in nlp.pipe_names
    if not spacy.util.is_package("en_core_web_sm"):
        assert nlp.pipe_names == ["sentencizer", "labeling_rules"]


@pytest.mark.parametrize("text, entity", [
    ("see www.example.com now", "URL"),
    ("http://bit.ly/xyz is great", "URL"),
    ("mail me at bob@example.com", "EMAIL"),
    ("win $100 today", "MONEY"),
    ("follow @johnny_b now", "HANDLE"),
])
def test_rule_entities(text, entity):
    doc = default_nlp()(text)
    assert entity in {ent.label_ for ent in doc.ents}


def test_entity_lf_finds_url_and_email():
    lf = entity_lf("has_link", ["URL", "EMAIL"], label=1)
    assert lf.name == "has_link"
    assert vote(lf, "visit www.example.com today") == 1
    assert vote(lf, "write to someone@example.org") == 1
    assert vote(lf, "nice song, love it") == ABSTAIN
    assert vote(lf, "win $100 today") == ABSTAIN  # MONEY is not asked for
    assert vote(lf, None) == ABSTAIN  # missing text parses as empty
    money = entity_lf("has_money", ["MONEY"], label=1)
    assert vote(money, "win $100 today") == 1
    assert vote(money, "visit www.example.com today") == ABSTAIN


def test_matcher_lf_pattern():
    lf = matcher_lf("my_channel", [[{"LOWER": {"IN": ["my", "our"]}},
                                     {"LOWER": "channel"}]], label=1)
    assert lf.name == "my_channel"
    assert vote(lf, "Check out MY Channel!") == 1
    assert vote(lf, "our channel is new") == 1
    assert vote(lf, "channel my energy") == ABSTAIN
    assert vote(lf, "mychannel") == ABSTAIN


def test_matcher_lf_optional_token():
    lf = matcher_lf("visit", [[{"LOWER": "visit"}, {"LOWER": "my", "OP": "?"},
                               {"LOWER": "page"}]], label=1)
    assert vote(lf, "visit page") == 1
    assert vote(lf, "please visit my page") == 1
    assert vote(lf, "visit their page") == ABSTAIN


def test_spacy_lf_decorator_gives_parsed_doc():
    from spacy.tokens import Doc

    seen = []

    @spacy_lf()
    def many_tokens(x):
        seen.append(x.doc)
        return 1 if len(x.doc) > 4 else ABSTAIN

    assert isinstance(many_tokens, LabelingFunction)
    assert many_tokens.name == "many_tokens"
    assert vote(many_tokens, "one two three four five six") == 1
    assert vote(many_tokens, "too short") == ABSTAIN
    assert all(isinstance(doc, Doc) for doc in seen)
    assert [t.text for t in seen[-1]] == ["too", "short"]


def test_spacy_lf_custom_name_and_entities():
    @spacy_lf(name="url_first_token")
    def url_first(x):
        return 1 if len(x.doc) and x.doc[0].like_url else ABSTAIN

    assert url_first.name == "url_first_token"
    assert vote(url_first, "www.example.com is cool") == 1
    assert vote(url_first, "cool www.example.com") == ABSTAIN
