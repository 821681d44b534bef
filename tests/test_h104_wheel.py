"""A wheel install (not editable, no checkout) has what the CLI needs: the review app.

The wheel is built from a copy of the project's files, offline (no build isolation: the
installed setuptools), as `pip wheel --no-build-isolation .` does.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from labeling.errors import LabelingError
from labeling.review import launch

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    for folder in ("labeling", "app"):
        shutil.copytree(ROOT / folder, src / folder,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-c", "import sys; from setuptools import build_meta; "
                    "build_meta.build_wheel(sys.argv[1])", str(out)],
                   cwd=src, check=True, capture_output=True, timeout=300)
    (path,) = out.glob("labeling-*.whl")
    with zipfile.ZipFile(path) as archive:
        yield archive


def test_the_wheel_carries_every_file_of_the_review_app(wheel):
    names = set(wheel.namelist())
    app = sorted(p.relative_to(ROOT / "app").as_posix() for p in (ROOT / "app").rglob("*")
                 if p.suffix in (".py", ".js") and "__pycache__" not in p.parts)
    assert "label_keys.js" in app  # the multi-label Annotate page's keys
    assert "streamlit_app.py" in app
    missing = [f for f in app
               if not any(n.endswith(f"/data/share/labeling/app/{f}") for n in names)]
    assert missing == []
    assert any(n.startswith("labeling/cli/") for n in names)  # the package, as before


def test_the_wheel_marks_the_package_typed(wheel):
    """PEP 561: without labeling/py.typed, mypy on a user's LF module says "module is
    installed, but missing library stubs or py.typed marker" for every labeling import."""
    assert "labeling/py.typed" in wheel.namelist()


def test_app_file_finds_the_copy_a_wheel_installed(tmp_path, monkeypatch):
    """No source tree next to the package: the entry file is the one pip recorded."""
    site = tmp_path / "venv" / "lib" / "python3.11" / "site-packages"
    info = site / "labeling-0.1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: labeling\nVersion: 0.1.0\n")
    (info / "RECORD").write_text("labeling/__init__.py,,\n"
                                 "../../../share/labeling/app/streamlit_app.py,,\n"
                                 "labeling-0.1.0.dist-info/RECORD,,\n")
    entry = tmp_path / "venv" / "share" / "labeling" / "app" / "streamlit_app.py"
    entry.parent.mkdir(parents=True)
    entry.write_text("# the app\n")
    monkeypatch.setattr(launch, "SOURCE_APP", tmp_path / "no checkout" / "streamlit_app.py",
                        raising=False)
    monkeypatch.syspath_prepend(str(site))

    assert launch.app_file() == entry.resolve()
    assert str(entry.resolve()) in launch.streamlit_command(8501)


def test_app_file_after_pip_install_target(tmp_path, monkeypatch):
    """`pip install --target D` puts share/ in D but its record says ../../share."""
    entry = tmp_path / "share" / "labeling" / "app" / "streamlit_app.py"
    entry.parent.mkdir(parents=True)
    entry.write_text("# the app\n")
    monkeypatch.setattr(launch, "SOURCE_APP", tmp_path / "app" / "streamlit_app.py",
                        raising=False)
    monkeypatch.setattr(sys, "path", [str(tmp_path)])  # the record of no installed copy
    assert launch.app_file() == entry


def test_app_file_without_any_copy_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setattr(launch, "SOURCE_APP", tmp_path / "gone" / "streamlit_app.py",
                        raising=False)
    monkeypatch.setattr(sys, "path", [str(tmp_path)])  # no installed labeling either
    with pytest.raises(LabelingError, match="reinstall labeling") as info:
        launch.app_file()
    assert "\n" not in str(info.value)


def test_app_file_prefers_the_source_tree():
    assert launch.app_file() == ROOT / "app" / "streamlit_app.py"
