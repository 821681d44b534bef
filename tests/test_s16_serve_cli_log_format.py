"""`labeling serve --log-format`: the CLI passes it to the server (one process and
--workers), and a format it does not know is a one-line error, exit 2, before the model
loads. Before: the option did not exist (serve(..., log_format=) was Python-only)."""

from __future__ import annotations

import sys
from pathlib import Path

from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_serve import model_dir  # noqa: E402,F401

import labeling.serve as serve_module  # noqa: E402
from labeling.cli import app  # noqa: E402


def _stub(monkeypatch, got: dict) -> None:
    monkeypatch.setattr(serve_module, "build_server", lambda **options: type(
        "S", (), {"name": "m", "exported": type("E", (), {"runtime": "sklearn"})})())
    monkeypatch.setattr(serve_module, "serve", lambda *a, **kw: got.update(serve=kw))
    monkeypatch.setattr(serve_module, "serve_workers", lambda *a, **kw: got.update(workers=kw))


def test_log_format_reaches_the_server(model_dir, monkeypatch):  # noqa: F811
    got = {}
    _stub(monkeypatch, got)
    for extra, where in (([], "serve"), (["--workers", "2"], "workers")):
        result = CliRunner().invoke(app, ["serve", "-m", str(model_dir), "--log-format",
                                          "json", *extra])
        assert result.exit_code == 0, result.output
        assert got[where]["log_format"] == "json"
    result = CliRunner().invoke(app, ["serve", "-m", str(model_dir)])
    assert result.exit_code == 0 and got["serve"]["log_format"] == "text"


def test_an_unknown_log_format_is_one_line_before_the_model_loads(model_dir, monkeypatch):  # noqa: F811
    got = {}
    _stub(monkeypatch, got)
    monkeypatch.setattr(serve_module, "build_server", lambda **options: got.update(built=1))
    result = CliRunner().invoke(app, ["serve", "-m", str(model_dir), "--log-format", "xml"])
    assert result.exit_code == 2, result.output
    assert "--log-format 'xml'" in result.output and "built" not in got
    assert len(result.output.strip().splitlines()) == 1, result.output
