"""An LF that imports a module of the user's inside its body (``from my_words import
WORDS``, ``import my_rules``) is fingerprinted with that module's content (h133).
Before, such a module was not among the function's globals, so it was not hashed: an
edit to it left the fingerprint as it was, and the next apply served the old votes
from the cache (a cached apply differed from --no-cache)."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

from labeling.apply.fingerprint import lf_fingerprint
from labeling.apply.fingerprint_imports import function_imports
from labeling.pipeline import load_task, step_apply

LFS = '''
from labeling import ABSTAIN, labeling_function

@labeling_function()
def lazy_words(x):
    from {module}_words import WORDS
    return 1 if any(w in x.text.lower() for w in WORDS) else ABSTAIN

@labeling_function()
def lazy_rules(x):
    import {module}_rules
    return {module}_rules.vote(x.text)
'''
RULES = '''
def vote(text):
    return 0 if "{word}" in text.lower() else -1
'''


def _L(config: Path, **overrides) -> pd.DataFrame:
    step_apply(load_task(config), progress=False, **overrides)
    return pd.read_parquet(config.parent / "run" / "L.parquet")


def _new_process(module: str) -> None:
    """What a new `labeling apply` starts from: the helper modules not imported yet."""
    for name in (f"{module}_words", f"{module}_rules"):
        sys.modules.pop(name, None)


@pytest.mark.parametrize("edited", ["words", "rules"])
def test_editing_a_module_an_lf_imports_in_its_body_recomputes_it(make_task, edited):
    module = f"s17_{edited}"
    config = make_task(lf_source=LFS.format(module=module),
                       files={f"{module}_words.py": "WORDS = ['subscribe']\n",
                              f"{module}_rules.py": RULES.format(word="song")})
    try:
        before = _L(config)
        if edited == "words":
            (config.parent / f"{module}_words.py").write_text(
                "WORDS = ['subscribe', 'song', 'love']\n")
        else:
            (config.parent / f"{module}_rules.py").write_text(RULES.format(word="love"))
        _new_process(module)
        cached = _L(config)
        _new_process(module)
        fresh = _L(config, cache=False)
    finally:
        _new_process(module)
    column = {"words": "lazy_words", "rules": "lazy_rules"}[edited]
    assert not before[column].equals(fresh[column])  # the edit changes its votes
    pd.testing.assert_frame_equal(cached, fresh)


def test_a_library_imported_in_the_body_is_named_by_version_not_imported():
    def lf(x):
        import json  # noqa: F401 (already imported: its version all the same, s18)
        import email.mime.audio  # noqa: F401
        import no_such_module_s17  # noqa: F401
        return -1

    sys.modules.pop("email.mime.audio", None)
    found = dict(function_imports(lf))
    assert found["json"].startswith("python ")  # imported or not: the stdlib's version
    assert found["email.mime.audio"].startswith("python ")  # the stdlib's version
    assert "email.mime.audio" not in sys.modules  # not imported to be named
    assert found["no_such_module_s17"] is None
    assert lf_fingerprint(lf) == lf_fingerprint(lf)
