"""An installed package rebuilt from changed code under the same version number (a
team's rules package kept at 0.1.0, reinstalled after an edit) changes the fingerprint
of the LFs that call it: its files' hashes (RECORD) are part of its name, as labeling's
own were (h141). Before, the cached columns of the old code were reused."""

from __future__ import annotations

import base64
import hashlib
import importlib
import os
import sys

import pytest
from snorkel.labeling import LabelingFunction

from labeling.apply import libraries
from labeling.apply.fingerprint import lf_fingerprint


def install(site, code: str) -> None:
    """``h141lib`` 0.1.0 in ``site`` as pip installs a wheel: the code and a RECORD
    holding its hash."""
    package = site / "h141lib"
    package.mkdir(exist_ok=True)
    (package / "__init__.py").write_text(code)
    digest = base64.urlsafe_b64encode(hashlib.sha256(code.encode()).digest()).rstrip(b"=")
    info = site / "h141lib-0.1.0.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: h141lib\nVersion: 0.1.0\n")
    (info / "RECORD").write_text(f"h141lib/__init__.py,sha256={digest.decode()},{len(code)}\n"
                                 "h141lib-0.1.0.dist-info/RECORD,,\n")


def clear_caches() -> None:
    """What a new process starts without."""
    for cached in (libraries.library_top, libraries.package_version, libraries._distributions):
        cached.cache_clear()
    sys.modules.pop("h141lib", None)
    importlib.invalidate_caches()


@pytest.fixture
def site(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    dirs = libraries._library_dirs()
    monkeypatch.setattr(libraries, "_library_dirs",
                        lambda: (*dirs, os.path.realpath(tmp_path) + os.sep))
    clear_caches()
    yield tmp_path
    clear_caches()


def fingerprint() -> str:
    import h141lib

    return lf_fingerprint(LabelingFunction("lib_lf", f=h141lib.vote), 2)


def test_a_package_rebuilt_under_the_same_version_changes_the_fingerprint(site):
    install(site, "def vote(x):\n    return 1 if 'a' in x.text else -1\n")
    before = fingerprint()
    assert fingerprint() == before
    install(site, "def vote(x):\n    return 0 if 'a' in x.text else -1\n")  # same 0.1.0
    clear_caches()
    assert fingerprint() != before
    install(site, "def vote(x):\n    return 1 if 'a' in x.text else -1\n")  # the same again
    clear_caches()
    assert fingerprint() == before
