"""`labeling app` launches labeling's own review app, not another project's top-level
``app/streamlit_app.py`` that a wheel install puts beside labeling in site-packages.

Before: ``SOURCE_APP`` (``<parent of labeling>/app/streamlit_app.py``) was used whenever
the file existed, so another installed project's ``app`` package was run.
"""

from __future__ import annotations

import pytest

from labeling.review import launch


@pytest.fixture
def site(tmp_path, monkeypatch):
    """A venv's site-packages with labeling's wheel recorded (its app under share/) and
    another project's app/streamlit_app.py."""
    site = tmp_path / "venv" / "lib" / "python3.11" / "site-packages"
    info = site / "labeling-0.1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: labeling\nVersion: 0.1.0\n")
    (info / "RECORD").write_text("labeling/__init__.py,,\n"
                                 "../../../share/labeling/app/streamlit_app.py,,\n")
    ours = tmp_path / "venv" / "share" / "labeling" / "app" / "streamlit_app.py"
    ours.parent.mkdir(parents=True)
    ours.write_text("# labeling's app\n")
    theirs = site / "app" / "streamlit_app.py"
    theirs.parent.mkdir(parents=True)
    theirs.write_text("# another project's app\n")
    monkeypatch.setattr(launch, "SOURCE_APP", theirs)
    monkeypatch.syspath_prepend(str(site))
    return site, ours, theirs


@pytest.mark.parametrize("pyproject", [None, '[project]\nname = "other"\n', "not toml ["])
def test_another_projects_app_beside_the_package_is_not_launched(site, pyproject):
    root, ours, theirs = site
    if pyproject is not None:
        (root / "pyproject.toml").write_text(pyproject)
    assert launch.app_file() == ours.resolve()  # before: theirs


def test_a_labeling_checkout_runs_its_own_app(site):
    root, ours, theirs = site
    (root / "pyproject.toml").write_text('[project]\nname = "labeling"\nversion = "0.1.0"\n')
    assert launch.app_file() == theirs
