"""keyword_lf's "whole words, any case" on the texts of a European marketplace: accents
typed as combining marks, German ß/SS, Turkish dotted I, emoji and punctuation keywords
glued to words, scripts without spaces, phrases across line breaks (docs/authoring.md)."""

import unicodedata
from types import SimpleNamespace as Row

import numpy as np
import pytest

from labeling import ABSTAIN, keyword_lf


def nfd(text):
    return unicodedata.normalize("NFD", text)


CASES = [  # keywords, text, fires
    (["straße"], "STRASSE GESPERRT", True),        # str.upper("straße") == "STRASSE"
    (["straße"], "Strasse", True),
    (["strasse"], "an der Straße", True),
    (["straße"], "STRAẞE", True),
    (["straße"], "Straßenbahn", False),            # still whole words
    (["istanbul"], "İSTANBUL'dan", True),
    (["İstanbul"], "istanbul", True),
    (["café"], nfd("Le CAFÉ du coin"), True),       # é typed as e + U+0301
    (["cafe"], nfd("le café du coin"), False),      # 'cafe' is not a word in 'café'
    (["naïve"], nfd("naïve"), True),
    (["привет"], "ПРИВЕТ мир", True),
    (["привет"], "приветствую", False),
    (["🔥"], "hot🔥🔥 deal", True),                # emoji glued to a word
    (["😍"], "love it😍", True),
    (["❤️"], "I ❤ it", True),                      # with and without U+FE0F
    (["❤"], "I ❤️ it", True),
    (["💸"], "money", False),
    (["$$$"], "make$$$ fast", True),
    (["50%"], "50%off today", True),
    (["50%"], "150% off", False),                  # a word end stays bounded
    (["c++"], "C++11 book", True),
    (["e-mail"], "send your E-Mail", True),
    (["e-mail"], "e-mails", False),
    (["東京"], "我在東京", True),                  # no spaces between words in Han
    (["銀行振込"], "代金は銀行振込でお願いします", True),
    (["western union"], "via Western\r\nUnion", True),  # any run of whitespace
    (["western union"], "via western\u00a0 union", True),
    (["western union"], "westernunion", False),
    (["नमस"], "नमस्ते", False),                    # a virama (a mark) continues the word
]


@pytest.mark.parametrize("keywords, text, fires", CASES)
def test_keyword_lf_whole_words_any_case_beyond_ascii(keywords, text, fires):
    lf = keyword_lf(keywords, label=1, name="kw")
    assert lf(Row(text=text)) == (1 if fires else ABSTAIN)


def test_keyword_lf_column_equals_row_by_row_on_unicode_texts():
    texts = [text for _, text, _ in CASES] + ["", "plain ascii strasse", "STRASSE"]
    for keywords, _, _ in CASES:
        lf = keyword_lf(keywords, label=1, name="kw")
        rows = np.array([lf(Row(text=t)) for t in texts])
        np.testing.assert_array_equal(lf.apply_column(texts), rows, err_msg=str(keywords))


def test_keyword_lf_case_sensitive_keeps_sharp_s_exact():
    lf = keyword_lf(["Straße"], label=1, name="kw", case_sensitive=True)
    assert lf(Row(text="Straße")) == 1
    assert lf(Row(text="Strasse")) == ABSTAIN


def test_keyword_lf_default_names_of_keywords_without_letters_are_distinct():
    names = {keyword_lf([k], label=1).name for k in ["💸", "🔥", "$$$"]}
    assert len(names) == 3 and "keyword_" not in names
    assert keyword_lf(["💸"], label=1).name == "keyword_money_with_wings"


def test_keyword_of_only_a_variation_selector_is_refused_not_matching_everything():
    with pytest.raises(ValueError, match="keywords must be non-empty strings"):
        keyword_lf(["\ufe0f"], label=1)


def test_regex_lf_default_name_of_a_pattern_without_letters_is_not_bare():
    from labeling import regex_lf

    assert regex_lf(r"\$\$+", label=1).name != "regex_"
