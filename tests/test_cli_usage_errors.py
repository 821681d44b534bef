"""Usage errors (unknown command or option, missing or malformed value) print one line,
as every other input error of the CLI, and exit 2 (before: a usage line, a hint and a
framed box over five lines)."""

from __future__ import annotations

import subprocess
import sys

import pytest

CASES = [
    (["train", "--bogus"], "error: No such option: --bogus (see `labeling train --help`)"),
    (["bogus"], "error: No such command 'bogus' (see `labeling --help`)"),
    (["show"], "error: Missing argument 'lf' (see `labeling show --help`)"),
    (["show", "x", "--limit", "abc"], "error: Invalid value for '--limit'"),
    (["predict"], "error: Missing option '--model' / '-m' (see `labeling predict --help`)"),
]


@pytest.mark.parametrize(("args", "line"), CASES)
def test_a_usage_error_is_one_line(args, line):
    # a real process: the framing came from typer's standalone error printing, which the
    # in-process test runner does not reproduce
    result = subprocess.run([sys.executable, "-m", "labeling.cli", *args], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert result.stderr.startswith(line), result.stderr


def test_help_still_works():
    result = subprocess.run([sys.executable, "-m", "labeling.cli", "train", "--help"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "Usage: labeling train" in result.stdout
