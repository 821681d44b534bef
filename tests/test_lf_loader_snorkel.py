"""LF modules written for snorkel (found by h94): slicing functions are not LFs, and
label constants must be the positions of ``labels`` in labeling.toml."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from labeling.errors import LFLoadError
from labeling.lf.loader import load_lfs

sys.path.insert(0, str(Path(__file__).parent))
from conftest import cli, one_error_line  # noqa: E402

WITH_SLICE = '''
from snorkel.slicing import slicing_function
from labeling import ABSTAIN, keyword_lf

HAM, SPAM = 0, 1
spam_words = keyword_lf(["subscribe"], label=SPAM, name="kw_spam")

@slicing_function()
def short_comment(x):
    return len(x.text.split()) < 5
'''


def test_a_slicing_function_in_the_module_is_not_collected_as_an_lf(tmp_path):
    (tmp_path / "lfs.py").write_text(WITH_SLICE)
    assert [lf.name for lf in load_lfs(["lfs.py"], tmp_path)] == ["kw_spam"]


def test_a_slicing_function_listed_in_LFS_is_refused_by_name(tmp_path):
    (tmp_path / "lfs.py").write_text(WITH_SLICE + "\nLFS = [spam_words, short_comment]\n")
    with pytest.raises(LFLoadError, match=r"LFS\[1\] is a slicing function"):
        load_lfs(["lfs.py"], tmp_path)


SWAPPED = '''
from labeling import keyword_lf

HAM, SPAM = 0, 1
NOT_SPAM = 0
spam_words = keyword_lf(["subscribe"], label=SPAM, name="kw_spam")
'''


def test_label_constants_that_disagree_with_labels_are_an_error(tmp_path):
    (tmp_path / "lfs.py").write_text(SWAPPED)
    with pytest.raises(LFLoadError) as err:
        load_lfs(["lfs.py"], tmp_path, labels=["spam", "ham"])
    message = str(err.value)
    assert "lfs.py" in message and "HAM = 0" in message and "'ham' is label 1" in message
    assert "\n" not in message
    # the same constants agree with labels in the order they were written for
    assert len(load_lfs(["lfs.py"], tmp_path, labels=["ham", "spam"])) == 1
    # a label whose constant is spelled from its words: "not spam" -> NOT_SPAM
    (tmp_path / "lfs2.py").write_text("from labeling import keyword_lf\nNOT_SPAM = 0\n"
                                      "kw = keyword_lf(['hi'], label=1, name='kw2')\n")
    with pytest.raises(LFLoadError, match="NOT_SPAM = 0, but 'not spam' is label 1"):
        load_lfs(["lfs2.py"], tmp_path, labels=["spam", "not spam"])


def test_the_pipeline_checks_constants_against_the_config(make_task):
    path = make_task(config={"labels": ["spam", "ham"], "positive_label": "spam"})
    result = cli("apply", path)
    assert result.exit_code == 2
    one_error_line(result, "HAM = 0", "'ham' is label 1")


def test_a_constant_two_labels_spell_is_not_checked(tmp_path):
    """Labels "ok" and "OK" both spell OK: labeling suggest writes `OK, LABEL_1 = 0, 1`
    for them, which the check refused (r100)."""
    from labeling.suggest.codegen import label_constants

    assert "OK" in label_constants(["ok", "OK"])
    (tmp_path / "lfs.py").write_text("from labeling import keyword_lf\nOK = 0\n"
                                     "kw = keyword_lf(['fine'], label=OK, name='kw_ok')\n")
    assert len(load_lfs(["lfs.py"], tmp_path, labels=["ok", "OK"])) == 1
    assert len(load_lfs(["lfs.py"], tmp_path, labels=["OK", "ok"])) == 1
