"""`labeling dev --run-dir D` (h121): the LF loop writes its run folder at D (relative
to the current folder), as run/apply/fit/show/report/export do, and leaves the config's
output_dir alone; before, `dev` had no --run-dir (a usage error, exit 2)."""

import functools

from typer.testing import CliRunner

import labeling.dev_loop
from labeling.cli import app


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
