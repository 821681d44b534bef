"""The model card hashes the files the model was made from (data files, annotations,
LF modules): `labeling export` after one of them changed since `labeling train` stops
with one line naming it. Before, the card recorded the sha256 of the edited file, which
never trained the model (seen: a train text edited under the same id, then export)."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from conftest import (DEFAULT_LFS, cli, default_config, default_frames,  # noqa: E402
                      one_error_line, write_task)

from labeling.export.skops_io import file_sha256  # noqa: E402


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One tiny task after `labeling run`, copied per test (the run takes seconds)."""
    root = tmp_path_factory.mktemp("sources") / "task"
    config = write_task(root, default_frames(), DEFAULT_LFS, default_config())
    assert cli("run", config, "--no-progress").exit_code == 0
    return root


@pytest.fixture
def project(trained, tmp_path):
    root = tmp_path / "task"
    shutil.copytree(trained, root)  # a copied project: paths in the record are relative
    return root


def test_the_card_hashes_what_train_read(project, tmp_path):
    assert cli("export", project / "labeling.toml", "--out", tmp_path / "m").exit_code == 0
    card = json.loads((tmp_path / "m" / "model_card.json").read_text())
    recorded = json.loads((project / "run" / "metrics.json").read_text())["sources_at_train"]
    assert recorded == {name: file_sha256(project / name)
                        for name in ("train.csv", "dev.csv", "test.csv", "lfs.py")}
    assert card["training_files"]["train"]["sha256"] == recorded["train.csv"]
    assert card["training_files"]["lf module"]["sha256"] == recorded["lfs.py"]


@pytest.mark.parametrize("name, edit", [
    ("train.csv", lambda text: text.replace("tr0,", "tr0,edited ", 1)),  # a text, same id
    ("test.csv", lambda text: text.replace("\n", "\r\n")),  # the same rows, other bytes
    ("lfs.py", lambda text: text + "\n# a comment: the same LFs, another file\n"),
])
def test_export_refuses_a_file_changed_since_train(project, tmp_path, name, edit):
    path = project / name
    path.write_bytes(edit(path.read_text(encoding="utf-8")).encode("utf-8"))
    one_error_line(cli("export", project / "labeling.toml", "--out", tmp_path / "m"),
                   f"{path}: changed since the last `labeling train`",
                   "the model card would hash a file the model was not made from")
    assert not (tmp_path / "m").exists()


def test_the_card_hashes_the_config_train_read_and_an_edit_since_does_not_stop_export(
        project, tmp_path):
    """Before: the card hashed no config, so the seed and the models' settings that made
    the model could not be traced from it. Recorded at train, not checked at export:
    an edit of a setting that trains nothing (the LLM budget) must not force a retrain."""
    config = project / "labeling.toml"
    at_train = file_sha256(config)
    assert json.loads((project / "run" / "metrics.json").read_text())[
        "config_at_train"] == at_train
    config.write_text(config.read_text(encoding="utf-8") + "\n# a comment\n", encoding="utf-8")
    assert cli("export", config, "--out", tmp_path / "m").exit_code == 0
    card = json.loads((tmp_path / "m" / "model_card.json").read_text())
    assert card["training_files"]["config"]["sha256"] == at_train != file_sha256(config)
    assert card["training_files"]["config"]["file"] == "labeling.toml"
    assert "labeling.toml" in (tmp_path / "m" / "MODEL_CARD.md").read_text(encoding="utf-8")
