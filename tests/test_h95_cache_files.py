"""A long-lived project's cache files: a damaged LLM response cache stops with one line
naming it and the recovery (never a traceback, never a silent re-ask), and the recovery
it names works."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from conftest import cli  # noqa: E402
from llm_server import fake_openai  # noqa: E402,F401  (the fixture)

from labeling.errors import LabelingError  # noqa: E402
from labeling.llm.cache import Entry, ResponseCache  # noqa: E402

PROMPT_LFS = '''\
from labeling import keyword_lf
from labeling.llm import prompt_lf

HAM, SPAM = 0, 1
spam_words = keyword_lf(["subscribe", "channel", "free"], label=SPAM, name="kw_spam")
ham_words = keyword_lf(["song", "love"], label=HAM, name="kw_ham")
llm_promo = prompt_lf("llm_promo", "Does this ask to subscribe? {text}",
                      answers={"yes": SPAM, "no": HAM})
'''


def _filled(path: Path, n: int = 2000) -> Path:
    cache = ResponseCache(path)
    for i in range(n):
        cache.put(Entry(key=f"k{i}", lf="lf", model="m", prompt="p" * 200, reply="yes",
                        answer="1", reason=None))
    cache.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # everything in the main file
    cache.close()
    return path


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_damaged_response_cache_is_one_error_naming_the_file(tmp_path, damage):
    path = tmp_path / "llm_responses.sqlite"
    if damage == "garbage":  # another file under its name, a bad copy
        path.write_bytes(b"this is not a database " * 100)
    else:  # a full disk or a killed copy cut it short
        data = _filled(tmp_path / "good.sqlite").read_bytes()
        path.write_bytes(data[:len(data) // 2])
    # before: sqlite3.DatabaseError ("file is not a database", "database disk image is
    # malformed") raised from the constructor: a traceback out of `labeling plan/apply`
    with pytest.raises(LabelingError, match="not a readable LLM response cache") as caught:
        ResponseCache(path).count()
    assert str(path) in str(caught.value) and "move it aside" in str(caught.value)


def test_plan_with_a_damaged_response_cache_says_what_to_do_and_the_recovery_works(
        fake_openai, make_task, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", fake_openai.base_url)
    config = make_task(lf_source=PROMPT_LFS, config={"llm": {"progress": False}})
    cache = config.parent / "run" / "cache" / "llm_responses.sqlite"
    cache.parent.mkdir(parents=True)
    cache.write_bytes(b"\0" * 100 + b"not sqlite" * 200)
    result = cli("plan", config)
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and str(cache) in errors[0], result.output
    assert "not a readable LLM response cache" in errors[0] and "move it aside" in errors[0]
    assert fake_openai.received == 0

    cache.rename(cache.with_name("llm_responses.sqlite.bad"))  # what the message says
    again = cli("plan", config)
    assert again.exit_code == 0, again.output
    assert "llm_promo" in again.output


def test_a_locked_or_unopenable_cache_is_one_error_too(tmp_path):
    folder = tmp_path / "a_folder.sqlite"
    folder.mkdir()  # a folder where the file should be: SQLite cannot open it
    with pytest.raises(LabelingError, match="LLM response cache") as caught:
        ResponseCache(folder)
    assert str(folder) in str(caught.value)


@pytest.mark.parametrize("cut", [0, 10, 300])
def test_an_empty_or_cut_embedding_cache_is_a_warning_and_an_empty_cache(tmp_path, cut):
    # a disk that filled up leaves a 0-byte file: before, np.load raised EOFError ("No
    # data left in file") out of `labeling train`/`apply`, a traceback on every run
    import numpy as np

    from labeling.llm.embedding_cache import EmbeddingCache

    cache = EmbeddingCache(tmp_path, "minilm-test")
    cache.table = {f"{i:040x}": np.full(384, i, np.float32) for i in range(20)}
    cache.save()
    cache.path.write_bytes(cache.path.read_bytes()[:cut])
    with pytest.warns(UserWarning, match="unreadable embedding cache"):
        again = EmbeddingCache(tmp_path, "minilm-test")
    assert again.table == {}
    again.table = {"a" * 40: np.ones(384, np.float32)}
    again.save()  # the next save replaces it
    assert list(EmbeddingCache(tmp_path, "minilm-test").table) == ["a" * 40]
