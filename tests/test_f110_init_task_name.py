"""`labeling init "commentaires été.csv"` names the task after the file without its
accents; a name of no Latin letter is "task".

Before: every accented letter became "_" ("commentaires_t_"), and a Greek or Chinese file
name gave the task "_".
"""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from labeling.cli import app
from labeling.config import load_config
from labeling.scaffold import task_name


@pytest.mark.parametrize("stem, name", [
    ("commentaires été", "commentaires_ete"), ("Straße Œuvre", "Strasse_OEuvre"),
    ("σχόλια", "task"), ("評論", "task"), ("data-2024.v1", "data-2024.v1")])
def test_a_file_name_gives_a_readable_task_name(stem, name):
    assert task_name(stem) == name


@pytest.mark.parametrize("file, name", [("commentaires été.csv", "commentaires_ete"),
                                        ("σχόλια.csv", "task")])
def test_init_names_the_task_and_its_lf_module(tmp_path, make_task, file, name):
    frames = make_task.frames()
    data = pd.concat([frames["train"], frames["dev"]], ignore_index=True).drop(columns="id")
    source = tmp_path / file
    data.to_csv(source, index=False)
    result = CliRunner().invoke(app, ["init", str(source), "--dir", str(tmp_path / "t")])
    assert result.exit_code == 0, result.output
    assert load_config(tmp_path / "t" / "labeling.toml").name == name
    assert (tmp_path / "t" / "functions" / f"{name}.py").is_file()
