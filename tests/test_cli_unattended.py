"""The CLI as a script (a nightly CI job, a Makefile) drives it: no terminal, its
stdout piped to a file, exit statuses checked."""

from __future__ import annotations

import os
import subprocess
import sys

import labeling


def _labeling(*args, module="labeling.cli"):
    return subprocess.run([sys.executable, "-m", module, *args], capture_output=True,
                          text=True, timeout=120,
                          env={**os.environ, "NO_COLOR": "1", "TERM": "dumb"})


def test_version_prints_one_line_and_exits_0():
    result = _labeling("--version")
    assert (result.returncode, result.stdout, result.stderr) == (
        0, f"labeling {labeling.__version__}\n", "")


def test_python_m_labeling_is_the_command():
    result = _labeling("--version", module="labeling")
    assert result.returncode == 0 and result.stdout == f"labeling {labeling.__version__}\n"


def test_an_unknown_option_before_the_command_is_one_line():
    # the group's own options are parsed outside the commands' error handling: this was
    # typer's usage line, hint and framed box
    result = _labeling("--bogus", "run")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == "error: No such option: --bogus (see `labeling --help`)\n"
