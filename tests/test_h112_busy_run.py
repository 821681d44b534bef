"""A team on one server: the app open while a `labeling run` rewrites the run folder.

Before: the app showed whatever the folder held at that moment, one step after another of
a run (about two minutes on the bundled task): the new label model's probabilities beside
the old end model and scores, or, in the seconds between apply and fit, the error "probs.parquet:
does not match the current train data ...; run `labeling apply` and `labeling fit` again"
(while the lead's run was doing just that). Nothing said a run was going.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
from streamlit.testing.v1 import AppTest

from labeling import files
from labeling.config import load_config
from labeling.files import run_folder_holder, run_folder_lock

ENTRY = str(Path(__file__).resolve().parents[1] / "app" / "streamlit_app.py")
HOLD = ("import sys, time; from labeling.files import run_folder_lock\n"
        "with run_folder_lock(sys.argv[1], 'run'):\n"
        "    print('held', flush=True); sys.stdin.read()\n")


def _holder(run_dir: Path) -> subprocess.Popen:
    """Another process holding the run folder, as `labeling run` does, until its stdin ends."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(run_dir)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def _notes(at: AppTest) -> list[str]:
    """The page's info boxes, as read (the app escapes Markdown in data: paths, names)."""
    return [i.value.replace("\\", "") for i in at.info]


def _release(proc: subprocess.Popen) -> None:
    proc.stdin.close()
    proc.wait(timeout=60)


def test_holder_is_named_while_another_process_writes_and_none_after(tmp_path):
    run_dir = tmp_path / "run"
    assert run_folder_holder(run_dir) is None  # no folder yet
    with run_folder_lock(run_dir, "apply"):
        pass
    assert run_folder_holder(run_dir) is None  # a .lock left behind by an ended command
    proc = _holder(run_dir)
    try:
        assert f"`labeling run` (pid {proc.pid}," in run_folder_holder(run_dir)
        # looking took no lock: the holder still has it, and a writer here is refused
        assert f"`labeling run` (pid {proc.pid}," in run_folder_holder(run_dir)
    finally:
        _release(proc)
    assert run_folder_holder(run_dir) is None
    with run_folder_lock(run_dir, "run"):  # free again
        pass


def test_holder_without_proc_locks(tmp_path, monkeypatch):
    """Where there is no /proc/locks (macOS), a shared lock taken and dropped at once."""
    def no_proc(path, *args, **kwargs):
        if str(path) == "/proc/locks":
            raise FileNotFoundError(path)
        return open(path, *args, **kwargs)

    monkeypatch.setattr(files, "open", no_proc, raising=False)
    run_dir = tmp_path / "run"
    proc = _holder(run_dir)
    try:
        assert f"(pid {proc.pid}," in run_folder_holder(run_dir)
    finally:
        _release(proc)
    assert run_folder_holder(run_dir) is None


def test_the_app_says_a_run_is_writing_the_folder(tiny_app_project):
    run_dir = load_config(tiny_app_project).run_dir
    at = AppTest.from_file(ENTRY, default_timeout=60).run()
    assert not any("being written" in n for n in _notes(at))
    proc = _holder(run_dir)
    try:
        at.run()
        notes = [n for n in _notes(at) if "being written" in n]
        assert len(notes) == 1 and f"`labeling run` (pid {proc.pid}," in notes[0], notes
        assert "reload the page when it has finished" in notes[0]
        assert not at.exception
    finally:
        _release(proc)
    at.run()  # the run ended: the note goes
    assert not any("being written" in n for n in _notes(at))


def test_a_half_written_run_says_so_not_run_apply(tiny_app_project):
    """Between a run's apply and its fit the files do not match; the page says a run is
    writing them instead of only telling the annotator to run apply and fit."""
    run_dir = load_config(tiny_app_project).run_dir
    probs = pd.read_parquet(run_dir / "probs.parquet")  # as between apply and fit
    probs.iloc[1:].to_parquet(run_dir / "probs.parquet")  # (the new apply's rows)
    proc = _holder(run_dir)
    try:
        at = AppTest.from_file(ENTRY, default_timeout=60).run()
        assert any("being written by `labeling run`" in n for n in _notes(at))
        assert any("does not match the current" in e.value for e in at.error)
        assert not any("Fix the config" in n for n in _notes(at))
    finally:
        _release(proc)
