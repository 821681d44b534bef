"""`labeling dev --run-dir D` (h121): the LF loop writes its run folder at D (relative
to the current folder), as run/apply/fit/show/report/export do, and leaves the config's
output_dir alone; before, `dev` had no --run-dir (a usage error, exit 2). `labeling dev`
where there is no config stops with one line, as the other commands do."""

import functools

import pytest
from typer.testing import CliRunner

import labeling.dev_loop
from labeling.cli import app
from labeling.errors import LabelingError


def test_dev_takes_run_dir_relative_to_the_current_folder(make_task, tmp_path, monkeypatch):
    config = make_task(config={"label_model": {"name": "mv", "params": make_task.DELETE}})
    # one table, then return (the loop runs until Ctrl+C otherwise)
    monkeypatch.setattr(labeling.dev_loop, "watch",
                        functools.partial(labeling.dev_loop.watch, max_rounds=1))
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["dev", str(config), "--run-dir", "scratch/run",
                                      "--interval", "0.01"])
    assert result.exit_code == 0, result.output
    assert labeling.dev_loop.TABLE_DONE in result.output and "error" not in result.output
    run = tmp_path / "scratch" / "run"
    assert (run / "L.parquet").is_file() and (run / "probs.parquet").is_file()
    assert not (config.parent / "run").exists()  # the config's output_dir: untouched


def test_dev_help_lists_run_dir():
    result = CliRunner().invoke(app, ["dev", "--help"], terminal_width=200)
    assert result.exit_code == 0 and "--run-dir" in result.output


def test_dev_without_a_config_stops_with_one_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a folder with no labeling.toml
    # before: "error: ...: config file not found", then "watching 0 files" until Ctrl+C
    with pytest.raises(LabelingError, match="labeling.toml: config file not found"):
        labeling.dev_loop.watch(max_rounds=1, interval=0.01)
    result = CliRunner().invoke(app, ["dev"])
    assert result.exit_code == 2
    assert result.stderr.strip().startswith("error: ") and len(result.stderr.splitlines()) == 1
