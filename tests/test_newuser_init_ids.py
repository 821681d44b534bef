"""`labeling init` on a file with an `id` column uses it (as a config without
`id_column` does), instead of writing `id_column = ""  # none in the file`."""

from __future__ import annotations

import pandas as pd
from typer.testing import CliRunner

from labeling.cli import app
from labeling.config import load_config


def _init(*args):
    return CliRunner().invoke(app, ["init", *map(str, args)])


def test_init_uses_the_files_id_column(tmp_path, make_task):
    frames = make_task.frames()
    data = pd.concat([frames["train"], frames["dev"], frames["test"]], ignore_index=True)
    source = tmp_path / "comments.csv"
    data.to_csv(source, index=False)
    result = _init(source, "--dir", tmp_path / "task")
    assert result.exit_code == 0, result.output
    text = (tmp_path / "task" / "labeling.toml").read_text()
    assert load_config(tmp_path / "task" / "labeling.toml").data.id_column == "id", text
    assert "none in the file" not in text  # before: id_column = "" and the ids unused


def test_init_without_an_id_column_and_opting_out(tmp_path, make_task):
    frames = make_task.frames()
    data = pd.concat([frames["train"], frames["dev"]], ignore_index=True)
    data.drop(columns="id").to_csv(tmp_path / "noid.csv", index=False)
    data.to_csv(tmp_path / "withid.csv", index=False)
    assert _init(tmp_path / "noid.csv", "--dir", tmp_path / "a").exit_code == 0
    assert load_config(tmp_path / "a" / "labeling.toml").data.id_column == ""
    # opting out of a file's 'id' column: the task would refuse it (another column read as
    # the ids), so init says so at once rather than write a task that cannot load
    refused = _init(tmp_path / "withid.csv", "--dir", tmp_path / "b", "--id-column", "")
    assert refused.exit_code == 2 and "but the file has a column 'id'" in refused.output
    assert not (tmp_path / "b").exists()
