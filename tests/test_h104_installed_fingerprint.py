"""An installed (non-editable) labeling names its code in LF fingerprints by version, not
by reading it; a wheel rebuilt from a newer checkout keeps version 0.1.0, so the version
alone kept the LF column cache's votes of the old build's keyword_lf, regex_lf, ..."""

from __future__ import annotations

import pytest

from labeling.apply import libraries


def _install(site, digest: str) -> None:
    info = site / "labeling-0.1.0.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: labeling\nVersion: 0.1.0\n")
    (info / "RECORD").write_text(f"labeling/lf/core.py,sha256={digest},18000\n"
                                 "labeling-0.1.0.dist-info/RECORD,,\n")


@pytest.fixture
def site(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    libraries.package_version.cache_clear()
    yield tmp_path
    libraries.package_version.cache_clear()


def test_two_builds_of_one_version_are_two_fingerprints(site):
    _install(site, "old-build")
    before = libraries.package_version("labeling")
    _install(site, "new-build")  # `pip install --force-reinstall` of the newer wheel
    libraries.package_version.cache_clear()  # a new process
    after = libraries.package_version("labeling")

    assert before.startswith("labeling 0.1.0") and after.startswith("labeling 0.1.0")
    assert before != after


def test_one_build_is_one_fingerprint(site):
    _install(site, "a-build")
    first = libraries.package_version("labeling")
    libraries.package_version.cache_clear()
    assert libraries.package_version("labeling") == first


def test_other_packages_are_named_by_their_version_and_build():
    # the build too since h141 (tests/test_h141_library_builds.py): a rules package
    # rebuilt under the same version is another library, as labeling's own wheel is
    name, version, build = libraries.package_version("numpy").split()
    assert (name, version) == ("numpy", __import__("numpy").__version__) and len(build) == 16
