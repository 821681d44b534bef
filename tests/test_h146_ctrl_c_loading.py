"""Ctrl+C (or SIGTERM) while a command loads its task (the pipeline's imports, the data,
the LF modules: seconds, spaCy's load in an LF module) says so in one line (h146).
Before, `open_task` ran outside the step's SIGINT/SIGTERM handling: Ctrl+C ended with
typer's silent status 130 and SIGTERM killed the process on the spot (143, no word)."""

import signal
import sys
from pathlib import Path

import pytest

from labeling import pipeline

sys.path.insert(0, str(Path(__file__).parent))
from conftest import cli  # noqa: E402


def _ctrl_c(config):
    raise KeyboardInterrupt


def _sigterm(config):
    if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
        raise AssertionError("no SIGTERM handler while loading: the process would die")
    signal.raise_signal(signal.SIGTERM)
    raise AssertionError("the SIGTERM handler did not raise")


@pytest.mark.parametrize("command", ["run", "apply", "show", "suggest"])
def test_ctrl_c_while_loading_says_what_was_interrupted(make_task, monkeypatch, command):
    config = make_task(config={"label_model": {"name": "mv", "params": make_task.DELETE}})
    monkeypatch.setattr(pipeline, "load_task", _ctrl_c)
    args = ["some_lf"] if command == "show" else []
    result = cli(command, *args, config)
    assert result.exit_code == 130, result.output
    assert result.stderr.strip().splitlines() == [
        f"stopped by Ctrl+C while loading the task ({config}, its data and LF modules): "
        f"`labeling {command}` did not start; nothing was written"]
    assert not (config.parent / "run").exists()


def test_sigterm_while_loading_is_one_line_and_143(make_task, monkeypatch):
    config = make_task(config={"label_model": {"name": "mv", "params": make_task.DELETE}})
    before = signal.getsignal(signal.SIGTERM)
    monkeypatch.setattr(pipeline, "load_task", _sigterm)
    result = cli("run", config, "--no-progress")
    assert result.exit_code == 143, result.output
    assert result.stderr.strip().splitlines()[-1].startswith(
        "stopped by SIGTERM while loading the task (")
    assert signal.getsignal(signal.SIGTERM) == before  # the handler is put back


def test_ctrl_c_in_a_command_without_a_step_still_one_line(make_task, monkeypatch):
    """`labeling evaluate` holds no run folder: Ctrl+C in it said nothing either."""
    config = make_task(config={"label_model": {"name": "mv", "params": make_task.DELETE}})
    assert cli("apply", config, "--no-progress").exit_code == 0
    assert cli("fit", config).exit_code == 0
    monkeypatch.setattr(pipeline, "read_metrics", lambda run_dir: _ctrl_c(None))
    result = cli("evaluate", config)
    assert result.exit_code == 130, result.output
    assert result.stderr.strip().splitlines()[-1] == (
        "stopped by Ctrl+C: `labeling evaluate` did not finish")
