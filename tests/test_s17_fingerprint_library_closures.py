"""With labeling installed from a wheel, its code is named by version in LF fingerprints,
not read: before, so were the values its LF factories closed over, so `entity_lf("org",
["ORG"], SPAM)` edited to `["ORG", "PERSON"]` (or to another label) kept its fingerprint
and the next apply served the old votes from the cache (h133). The values a library
function was made with are now hashed; its code still is not."""

from __future__ import annotations

from unittest import mock

import pytest

from labeling.apply import fingerprint
from labeling.apply.libraries import library_top
from labeling.lf.nlp import entity_lf, matcher_lf


@pytest.fixture
def installed():
    """labeling as a wheel install sees it: a library, named by its build."""
    def top(name):
        return "labeling" if str(name).partition(".")[0] == "labeling" else library_top(name)

    with mock.patch.object(fingerprint, "library_top", top), \
            mock.patch.object(fingerprint, "library_version", lambda t: f"{t} 0.1.0 abc"):
        yield


@pytest.mark.parametrize("own", [False, True])
def test_an_installed_factorys_arguments_are_in_the_fingerprint(installed, own):
    def fp(lf):
        return fingerprint.lf_fingerprint(lf, 2, own=own)

    org = fp(entity_lf("org", ["ORG"], 1))
    assert fp(entity_lf("org", ["ORG"], 1)) == org  # the same LF: the same fingerprint
    assert fp(entity_lf("org", ["ORG", "PERSON"], 1)) != org
    assert fp(entity_lf("org", ["ORG"], 0)) != org
    hello = [[{"LOWER": "hello"}]]
    assert fp(matcher_lf("m", hello, 1)) == fp(matcher_lf("m", hello, 1))
    assert fp(matcher_lf("m", hello, 1)) != fp(matcher_lf("m", hello, 0))

