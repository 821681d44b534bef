"""docs/cli.md against the `labeling` command itself: every command and every option
the CLI has is in the page's command block under its command, every option the page
names there exists, and `labeling CMD --help` prints every option's help text as written
(rich markup once ate `[apply]` out of "default: [apply] cache")."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

from labeling.cli import app

CLI_MD = Path(__file__).resolve().parents[1] / "docs" / "cli.md"
GROUP = typer.main.get_command(app)
COMMANDS = sorted(GROUP.commands)


def cli_options(name: str) -> set[str]:
    """Every spelling of every option of ``labeling NAME`` (``--cache`` and
    ``--no-cache``, ``-m`` and ``--model``), without ``--help``."""
    opts: set[str] = set()
    for param in GROUP.commands[name].params:
        opts |= {o for o in [*param.opts, *param.secondary_opts] if o.startswith("-")}
    return opts - {"--help"}


def documented_options() -> dict[str, set[str]]:
    """The options named in docs/cli.md's command block, by command: the lines from
    ``labeling CMD`` up to the next ``labeling ...`` line."""
    block = re.search(r"```text\n(labeling .*?)```", CLI_MD.read_text(encoding="utf-8"), re.S)
    assert block, "docs/cli.md: no ```text block of commands"
    by_command: dict[str, set[str]] = {}
    current = None
    for line in block.group(1).splitlines():
        start = re.match(r"labeling ([a-z]+)", line)
        if start:
            current = start.group(1)
            by_command.setdefault(current, set())
        if current:
            by_command[current] |= set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*|-[a-z])\b",
                                                  line))
    return by_command


def test_the_page_lists_every_command_and_only_those():
    assert len(COMMANDS) >= 15  # run ... serve: not an empty app
    assert sorted(documented_options()) == COMMANDS


@pytest.mark.parametrize("name", COMMANDS)
def test_every_option_is_documented_and_every_documented_option_exists(name):
    documented = documented_options()[name]
    actual = cli_options(name)
    assert actual - documented == set(), f"labeling {name}: options missing from docs/cli.md"
    assert documented - actual == set(), f"labeling {name}: docs/cli.md names options it lacks"


def test_the_page_block_is_not_empty():
    documented = documented_options()
    assert {"--fault-tolerant", "--no-cache", "--engine"} <= documented["run"]
    assert {"-m", "--model", "--workers"} <= documented["serve"]


@pytest.mark.parametrize("name", COMMANDS)
def test_help_prints_every_option_help_as_written(name):
    result = CliRunner().invoke(app, [name, "--help"], env={"COLUMNS": "400"},
                                prog_name="labeling")
    assert result.exit_code == 0, result.output
    shown = " ".join(re.sub(r"[│╭╮╰╯─]", " ", result.output).split())
    helps = [p.help for p in GROUP.commands[name].params if getattr(p, "help", None)]
    assert helps, f"labeling {name}: no option or argument has help"
    for text in helps:  # help is rich markup: "\\[" is a literal "["
        text = text.replace("\\[", "[")
        assert " ".join(text.split()) in shown, f"labeling {name} --help: {text!r} not shown"


def test_the_readme_cli_table_names_every_command_and_only_existing_options():
    readme = (CLI_MD.parents[1] / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `labeling ([a-z]+)([^`]*)` \|", readme, re.M)
    assert sorted(name for name, _ in rows) == COMMANDS
    for name, usage in rows:
        named = set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", usage))
        assert named <= cli_options(name), f"README: labeling {name} {usage}"


@pytest.mark.parametrize("name", COMMANDS)
def test_every_option_says_what_it_does(name):
    bare = [p.opts for p in GROUP.commands[name].params
            if p.param_type_name == "option" and not p.help]
    assert bare == [], f"labeling {name} --help: options with no help text"
