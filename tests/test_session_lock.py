"""The notebook's steps hold the run folder as the CLI's do (found by r97): a
Session.apply beside a `labeling run` interleaved their writes, and `labeling cache
--prune` could delete the column files a notebook apply was writing."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from labeling.errors import LabelingError  # noqa: E402
from labeling.files import run_folder_lock  # noqa: E402
from labeling.session import Session  # noqa: E402


def test_notebook_steps_stop_while_another_command_writes_the_run_folder(make_task):
    config = make_task(config={"label_model": {"name": "mv", "params": make_task.DELETE}})
    session = Session(config)
    run_dir = session.task.run_dir
    with run_folder_lock(run_dir, "run"):
        for step in (session.apply, session.fit, session.train, session.export):
            with pytest.raises(LabelingError,
                               match=rf"in use by `labeling run` \(pid {os.getpid()}"):
                step()
    assert not (run_dir / "L.parquet").exists()
    session.apply()  # held only while the step runs
    session.fit()
    with run_folder_lock(run_dir, "run"):
        pass
