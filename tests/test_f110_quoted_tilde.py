"""A quoted ``~`` (the shell leaves it, as for a folder with spaces) is the home folder in
``labeling export --out``, ``predict -m`` / ``--input``, ``serve --model`` and
``labeling app`` (its project and ``--run-dir``), as in ``--run-dir`` of the other commands.

Before: "~" was a folder name in the current folder ("~/model: not found", or an export
written under ./~).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from labeling.errors import LabelingError

sys.path.insert(0, str(Path(__file__).parent))
from conftest import cli  # noqa: E402


@pytest.fixture
def home(tmp_path, monkeypatch):
    home = tmp_path / "home é"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(tmp_path)  # a "~" folder would be made here
    return home


def test_export_and_predict_with_a_quoted_tilde(tiny_app_project, home, tmp_path):
    result = cli("export", tiny_app_project, "--out", "~/My models/tiny")
    assert result.exit_code == 0, result.output
    assert (home / "My models" / "tiny" / "model_card.json").is_file()
    assert not (tmp_path / "~").exists()
    (home / "in.txt").write_text("free money now\n", encoding="utf-8")
    result = cli("predict", "-m", "~/My models/tiny", "hello")
    assert result.exit_code == 0, result.output  # before: "~/My models/tiny: ... not found"
    assert result.output.count("\n") == 1
    result = cli("predict", "-m", "~/My models/tiny", "--input", "~/in.txt")
    assert result.exit_code == 0 and result.output.count("\n") == 1, result.output


def test_serve_model_with_a_quoted_tilde(home, monkeypatch):
    import labeling.serve

    seen = []

    def build_server(model_dir, **options):
        seen.append(model_dir)
        raise LabelingError("stopped before serving")

    monkeypatch.setattr(labeling.serve, "build_server", build_server)
    result = cli("serve", "--model", "~/models/m", "--port", "0")
    assert "stopped before serving" in result.output
    assert seen == [home / "models" / "m"]  # before: Path("~/models/m")


def test_app_project_and_run_dir_with_a_quoted_tilde(home, monkeypatch):
    from labeling.review import launch
    from labeling.review.project import ENV_PROJECT, ENV_RUN_DIR

    envs = []
    monkeypatch.setattr(launch, "serve", lambda port, env, open_browser: envs.append(env) or 0)
    result = cli("app", "~/proj", "--run-dir", "~/runs/r1", "--no-browser", "--port", "8999")
    assert result.exit_code == 0, result.output
    assert envs[0][ENV_PROJECT] == str((home / "proj").resolve())
    assert envs[0][ENV_RUN_DIR] == str((home / "runs" / "r1").resolve())  # before: ./~/runs/r1
