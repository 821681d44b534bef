"""Who holds a run folder, read from /proc/locks (labeling.files.run_folder_holder), on
file systems whose stat() device is not the one /proc/locks lists, and a command starting
the instant someone looks (where looking takes a shared lock for that instant).

Before: the line matched only on "FLOCK" and the stat() device: on btrfs (stat() gives a
subvolume's device) and NFS (a flock listed as POSIX) a writer was never seen; and a
`labeling run` starting while the app looked (macOS) was refused as "in use".
"""

from __future__ import annotations

import fcntl
import os

from labeling import files
from labeling.files import LOCK_FILE, run_folder_lock


def _lock_file(tmp_path, pid: int):
    path = tmp_path / LOCK_FILE
    path.write_text(f"`labeling run` (pid {pid}, since 2026-12-07 15:00:00)\n")
    return path, path.lstat()


def test_a_lock_line_on_another_device_counts_when_its_pid_wrote_the_lock_file(tmp_path):
    path, stat = _lock_file(tmp_path, 4242)
    line = f"1: FLOCK  ADVISORY  WRITE 4242 00:99:{stat.st_ino} 0 EOF"  # btrfs: 00:99
    assert files._holds(line, path, stat)
    assert files._holds(line.replace("FLOCK", "POSIX"), path, stat)  # NFS
    assert not files._holds(line.replace("4242", "4243"), path, stat)  # another file
    other_inode = line.replace(f":{stat.st_ino} ", f":{stat.st_ino + 1} ")
    assert not files._holds(other_inode, path, stat)
    assert not files._holds(f"1: LEASE  ACTIVE  READ 4242 00:99:{stat.st_ino} 0 EOF",
                            path, stat)


def test_a_lock_line_on_the_same_device_counts_whoever_wrote_the_lock_file(tmp_path):
    path, stat = _lock_file(tmp_path, 1)
    device = f"{os.major(stat.st_dev):02x}:{os.minor(stat.st_dev):02x}"
    line = f"2: FLOCK  ADVISORY  WRITE 777 {device}:{stat.st_ino} 0 EOF"
    assert files._holds(line, path, stat)
    assert files._holds(f"2: -> FLOCK  ADVISORY  WRITE 778 {device}:{stat.st_ino} 0 EOF",
                        path, stat)


def test_a_command_starting_while_someone_looks_waits_a_moment_instead_of_refusing(
        tmp_path, monkeypatch):
    real, busy = fcntl.flock, [2]  # the look's shared lock, for two tries

    def flock(handle, how):
        if how & fcntl.LOCK_EX and busy[0]:
            busy[0] -= 1
            raise BlockingIOError
        return real(handle, how)

    monkeypatch.setattr(files.fcntl, "flock", flock)
    monkeypatch.setattr(files.time, "sleep", lambda s: None)
    with run_folder_lock(tmp_path, "run"):
        assert "`labeling run`" in (tmp_path / LOCK_FILE).read_text()
    assert busy == [0]
