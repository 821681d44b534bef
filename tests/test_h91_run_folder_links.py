"""A run folder another user can write (a team's shared folder, ``--run-dir /tmp/run``
created by someone else first): the files a command writes there at fixed names must not
be followed through a symbolic link planted in their place, or the command overwrites
whatever file of its user the link points to (``~/.bashrc``)."""

from __future__ import annotations

import os

import pytest

from labeling.errors import LabelingError
from labeling.files import LOCK_FILE, check_writable, run_folder_lock


@pytest.fixture
def victim(tmp_path):
    path = tmp_path / "home" / ".bashrc"
    path.parent.mkdir()
    path.write_text("export PATH=$HOME/bin:$PATH\n")
    return path


def test_a_lock_file_planted_as_a_link_is_refused_not_followed(tmp_path, victim):
    run = tmp_path / "run"
    run.mkdir()
    (run / LOCK_FILE).symlink_to(victim)
    with pytest.raises(LabelingError, match=r"\.lock: is a symbolic link; refusing"):
        with run_folder_lock(run, "run"):
            pass
    assert victim.read_text() == "export PATH=$HOME/bin:$PATH\n"  # before: the holder line


def test_the_lock_still_works_and_names_its_holder(tmp_path):
    with run_folder_lock(tmp_path, "run"):
        assert "`labeling run` (pid" in (tmp_path / LOCK_FILE).read_text()
        with pytest.raises(LabelingError, match="in use by `labeling run`"):
            with run_folder_lock(tmp_path, "fit"):
                pass


def test_the_write_check_does_not_follow_a_planted_link(tmp_path, victim):
    run = tmp_path / "run"
    run.mkdir()
    (run / f".write-check-{os.getpid()}").symlink_to(victim)  # before: its fixed name
    check_writable(run)
    assert victim.read_text() == "export PATH=$HOME/bin:$PATH\n"  # before: emptied
    assert [p.name for p in run.iterdir()] == [f".write-check-{os.getpid()}"]  # left as is
