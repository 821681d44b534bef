"""Ctrl+C during a step after apply (fit, train, export) says it stopped, as SIGTERM
does (h135). Before, typer ended a KeyboardInterrupt with status 130 and no word: a
`labeling run` stopped in train printed the apply tables and then nothing."""

import sys
from pathlib import Path

import pytest

from labeling import pipeline

sys.path.insert(0, str(Path(__file__).parent))
from conftest import cli  # noqa: E402


def _interrupt(*args, **kwargs):
    raise KeyboardInterrupt


@pytest.mark.parametrize("command, step", [("fit", "step_fit"), ("run", "step_train")])
def test_ctrl_c_says_the_command_did_not_finish(make_task, monkeypatch, command, step):
    config = make_task(config={"label_model": {"name": "mv", "params": make_task.DELETE}})
    if command == "fit":
        assert cli("apply", config, "--no-progress").exit_code == 0
    monkeypatch.setattr(pipeline, step, _interrupt)
    result = cli(command, config, *(["--no-progress"] if command == "run" else []))
    assert result.exit_code == 130, result.output
    last = result.stderr.strip().splitlines()[-1]
    assert last == (f"stopped by Ctrl+C: `labeling {command}` did not finish; the files of "
                    "the steps it finished are kept")
    assert "Traceback" not in result.output
    assert (config.parent / "run" / "L.parquet").is_file()  # apply's work is kept
