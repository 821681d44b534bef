"""`labeling init`'s last line is a command to paste into a shell, also for a folder
whose name has spaces and accents."""

from __future__ import annotations

import shlex
import subprocess

from typer.testing import CliRunner

from labeling.cli import app

ROWS = "id,text,label\n" + "".join(
    f"r{i},{'subscribe to my channel' if i % 2 else 'lovely song'} {i},"
    f"{'spam' if i % 2 else 'ham'}\n" for i in range(20)) + "u1,no label here,\n"


def _init(tmp_path, monkeypatch, *args):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "commentaires.csv").write_text(ROWS, encoding="utf-8")
    result = CliRunner().invoke(app, ["init", "commentaires.csv", *args])
    assert result.exit_code == 0, result.output
    return result.output.strip().splitlines()[-1]


def test_next_line_quotes_a_folder_with_spaces(tmp_path, monkeypatch):
    line = _init(tmp_path, monkeypatch, "--dir", "Projets clients/Données été")
    assert line.startswith("next: cd 'Projets clients/Données été' && labeling dev")
    command = line.removeprefix("next: ").split("   (")[0].replace("labeling dev", "pwd")
    shown = subprocess.run(["sh", "-c", command], cwd=tmp_path, capture_output=True,
                           text=True, timeout=30)
    assert shown.stdout.strip() == str(tmp_path / "Projets clients" / "Données été")
    assert shlex.split(command)[1] == "Projets clients/Données été"


def test_next_line_in_the_current_folder_has_no_cd(tmp_path, monkeypatch):
    line = _init(tmp_path, monkeypatch)
    assert line.startswith("next: labeling dev   (edit commentaires.py and save)")
