"""Which LFs an LF module contributes, as docs/authoring.md says (labeling.lf.loader).

Before: the docs said a module's top-level lists, tuples and dicts are collected, but not
that this means every one of them, whatever its name (a ``DISABLED = [...]`` list kept
aside was applied), nor that only one level is walked (a dict of lists is not), nor how
to leave LFs out (define ``LFS``).
"""

from __future__ import annotations

import types
from pathlib import Path

from labeling.lf.core import keyword_lf
from labeling.lf.loader import lfs_of_module

DOC = Path(__file__).resolve().parents[1] / "docs" / "authoring.md"


def _module(**names) -> types.ModuleType:
    module = types.ModuleType("lfs_under_test")
    for name, value in names.items():
        setattr(module, name, value)
    return module


def test_what_a_module_contributes_is_what_the_docs_say():
    on, off = keyword_lf(["free"], label=1, name="kw_on"), keyword_lf(["old"], label=1,
                                                                     name="kw_old")
    deep = keyword_lf(["deep"], label=0, name="kw_deep")
    # a list kept aside under any name is applied
    assert [lf.name for lf in lfs_of_module(_module(kw_on=on, DISABLED=[off]))] == [
        "kw_on", "kw_old"]
    # LFS: exactly that list
    assert [lf.name for lf in lfs_of_module(_module(kw_on=on, DISABLED=[off], LFS=[on]))] == [
        "kw_on"]
    # one level only: a dict of lists, a list of lists are not walked
    assert lfs_of_module(_module(BY_LABEL={"ham": [deep]}, NESTED=[[deep]])) == []

    text = " ".join(DOC.read_text(encoding="utf-8").split())
    assert "`DISABLED = [kw_old, re_old]` applies those LFs too" in text
    assert "Only one level is walked" in text and "dict of lists" in text
    assert "To leave some out, define `LFS`" in text
