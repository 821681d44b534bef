"""`labeling --help` lists each command with its summary on one line (h115).

Before: typer's rich command list kept the docstrings' line breaks, so `init`'s summary
read "..., an LF module with one LF of each kind, and a" and, on the next line,
"dev/test split of the labeled rows ..." (so did dev, show, report and suggest).
"""

from __future__ import annotations

import re

import typer.main
from typer.testing import CliRunner

from labeling.cli import app

GROUP = typer.main.get_command(app)


def test_every_command_summary_is_one_line_of_the_command_list():
    result = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "400"}, prog_name="labeling")
    assert result.exit_code == 0, result.output
    lines = [re.sub(r"[│╭╮╰╯─]", " ", line).strip() for line in result.output.splitlines()]
    for name, command in GROUP.commands.items():
        summary = " ".join(command.help.split("\n\n")[0].split())
        assert f"{name} {summary}" in [" ".join(line.split()) for line in lines], (
            f"labeling --help: {name}'s summary is not on one line")


def test_a_command_help_page_still_shows_its_whole_docstring():
    result = CliRunner().invoke(app, ["init", "--help"], env={"COLUMNS": "400"},
                                prog_name="labeling")
    assert result.exit_code == 0, result.output
    assert "dev/test split of the labeled rows" in result.output
