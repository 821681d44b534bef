"""A run folder's files damaged mid-project (cut short by a full disk, a bad copy, an
edit by hand): each command stops with one line naming the file and what to run, never
a pyarrow or JSON traceback."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from conftest import cli, default_config, default_frames, write_task  # noqa: E402
from conftest import DEFAULT_LFS, one_error_line  # noqa: E402

from labeling import pipeline  # noqa: E402


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    root = tmp_path_factory.mktemp("damaged")
    config = write_task(root / "task", default_frames(), DEFAULT_LFS,
                        default_config() | {"label_model": {"name": "mv"}})
    pipeline.run(pipeline.load_task(config), progress=False)
    return config


@pytest.fixture
def task_copy(finished, tmp_path):
    shutil.copytree(finished.parent, tmp_path / "task")
    return tmp_path / "task" / "labeling.toml"


def _cut(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:len(path.read_bytes()) // 3])


@pytest.mark.parametrize("name, command, step", [
    ("L.parquet", "fit", "apply"),
    ("probs.parquet", "train", "fit"),
])
def test_a_cut_parquet_artifact_is_one_line_naming_the_step(task_copy, name, command, step):
    path = task_copy.parent / "run" / name
    _cut(path)
    one_error_line(cli(command, task_copy), str(path), "unreadable", f"run `labeling {step}`")


def test_a_cut_label_matrix_read_elsewhere_is_one_line_too(task_copy):
    # `show` reads L.parquet in labeling.review: pyarrow's own message, on one line
    path = task_copy.parent / "run" / "L.parquet"
    _cut(path)
    one_error_line(cli("show", "kw_spam", task_copy), str(path), "Parquet")
    one_error_line(cli("export", task_copy))


@pytest.mark.parametrize("content", ['{"task": "tiny", "labels": [', "[1, 2]"])
def test_a_damaged_metrics_file_is_one_line(task_copy, content):
    path = task_copy.parent / "run" / "metrics.json"
    path.write_text(content)
    for command in ("fit", "evaluate"):
        one_error_line(cli(command, task_copy), str(path), "not a readable metrics file",
                       "move it aside")
    path.unlink()  # the recovery it names
    result = cli("run", task_copy, "--no-progress")
    assert result.exit_code == 0, result.output
