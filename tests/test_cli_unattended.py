"""The CLI as a script (a nightly CI job, a Makefile) drives it: no terminal, its
stdout piped to a file, exit statuses checked."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import labeling
from labeling.apply.applied import code_identity
from labeling.errors import LabelingError
from labeling.files import run_folder_lock

sys.path.insert(0, str(Path(__file__).parent))
from conftest import cli, one_error_line  # noqa: E402


def _labeling(*args, module="labeling.cli"):
    return subprocess.run([sys.executable, "-m", module, *args], capture_output=True,
                          text=True, timeout=120,
                          env={**os.environ, "NO_COLOR": "1", "TERM": "dumb"})


def test_version_prints_one_line_and_exits_0():
    # the build runs and cards record (s16: it printed 0.1.0, the same for every build)
    result = _labeling("--version")
    assert (result.returncode, result.stdout, result.stderr) == (
        0, f"labeling {code_identity()}\n", "")
    assert code_identity().startswith(f"{labeling.__version__}+")


def test_python_m_labeling_is_the_command():
    result = _labeling("--version", module="labeling")
    assert result.returncode == 0 and result.stdout == f"labeling {code_identity()}\n"


def test_an_unknown_option_before_the_command_is_one_line():
    # the group's own options are parsed outside the commands' error handling: this was
    # typer's usage line, hint and framed box
    result = _labeling("--bogus", "run")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == "error: No such option: --bogus (see `labeling --help`)\n"


def test_a_second_writer_of_a_run_folder_stops_with_one_line(make_task):
    # a nightly `labeling run` still going when the next one starts: each would read what
    # the other half-wrote (and both do all the work); the second stops at once, status 2
    config = make_task()
    run_dir = config.parent / "run"
    with run_folder_lock(run_dir, "run"):
        for command in ("run", "apply", "fit", "train", "export"):
            one_error_line(cli(command, config), f"{run_dir}: in use by `labeling run` (pid "
                                                 f"{os.getpid()}, since")
    assert not (run_dir / "L.parquet").exists()
    assert cli("apply", config).exit_code == 0  # released with the command


def test_the_apps_run_button_takes_the_lock_too(make_task):
    """Before: the app's "Run pipeline" ran apply/fit/train/export on a run folder a
    `labeling run` was writing, interleaving their steps."""
    from labeling.review.runner import run_pipeline

    config = make_task()
    run_dir = config.parent / "run"
    with run_folder_lock(run_dir, "run"):
        with pytest.raises(LabelingError, match=r"in use by `labeling run`"):
            run_pipeline(config)
    assert not (run_dir / "L.parquet").exists()
    run_pipeline(config)  # and holds it only while it runs
    with run_folder_lock(run_dir, "run"):
        pass


def test_a_killed_holder_leaves_no_stale_lock(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\n"
         "from labeling.files import run_folder_lock\n"
         "with run_folder_lock(sys.argv[1], 'train'):\n"
         "    print('held', flush=True)\n"
         "    time.sleep(600)\n", str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "held\n"
        with pytest.raises(LabelingError, match="in use by `labeling train`"):
            with run_folder_lock(tmp_path, "run"):
                pass
    finally:
        holder.kill()
        holder.wait(timeout=60)
    with run_folder_lock(tmp_path, "run"):  # an OS lock: it went with the process
        pass


def test_a_forked_worker_does_not_keep_the_lock_after_its_parent_is_killed(tmp_path):
    """Before: apply --n-jobs workers (forked) shared the lock through their copy of its
    fd; after a SIGKILL of the parent they held it until they ended, and the next command
    was told the dead parent was still running."""
    holder = subprocess.Popen(
        [sys.executable, "-c", "import os, sys, time\n"
         "from labeling.files import run_folder_lock\n"
         "with run_folder_lock(sys.argv[1], 'apply'):\n"
         "    child = os.fork()\n"
         "    if child == 0:\n"
         "        time.sleep(600)\n"
         "        os._exit(0)\n"
         "    print(child, flush=True)\n"
         "    time.sleep(600)\n", str(tmp_path)], stdout=subprocess.PIPE, text=True)
    child = None
    try:
        child = int(holder.stdout.readline())
        holder.kill()
        holder.wait(timeout=60)
        os.kill(child, 0)  # the worker lives on, orphaned
        with run_folder_lock(tmp_path, "fit"):  # and holds nothing
            pass
    finally:
        holder.kill()
        if child is not None:
            os.kill(child, signal.SIGKILL)


def test_a_file_system_without_locks_runs_unlocked_with_a_warning(tmp_path, monkeypatch,
                                                                  capsys):
    """Before: any flock error (ENOLCK: NFS without lockd) read as "in use" by whatever
    command last wrote .lock, for every command, for good."""
    import errno

    import labeling.files as files

    def no_locks(*args):
        raise OSError(errno.ENOLCK, "No locks available")

    with run_folder_lock(tmp_path, "report"):  # leaves a holder line in .lock
        pass
    monkeypatch.setattr(files.fcntl, "flock", no_locks)
    with run_folder_lock(tmp_path, "fit"):
        pass
    err = capsys.readouterr().err
    assert "cannot be locked (No locks available)" in err and "in use" not in err


SLOW_LF = """
import pathlib, time
from labeling import labeling_function

@labeling_function()
def slow(x):
    pathlib.Path(__file__).with_name("started").touch()
    time.sleep(60)
    return 1
"""


def test_sigterm_stops_a_step_as_ctrl_c_does(make_task):
    # a CI job's timeout sends SIGTERM: Python's default ended the process on the spot
    # (status -15, no word of where, no finally: temporary files and prompt LFs' spending
    # left as they were)
    config = make_task(lf_source=SLOW_LF)
    proc = subprocess.Popen([sys.executable, "-m", "labeling", "apply", str(config),
                             "--no-progress"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "NO_COLOR": "1", "TERM": "dumb"})
    try:
        deadline = time.monotonic() + 120
        while not (config.parent / "started").exists() and proc.poll() is None:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 143, err
    assert "interrupted: LF 'slow' on train row 1 (id=tr0)" in err
    assert err.rstrip().endswith("stopped by SIGTERM: `labeling apply` did not finish; the "
                                 "files of the steps it finished are kept")
    assert "Traceback" not in err
    run_dir = config.parent / "run"
    assert not list(run_dir.glob("**/*.tmp"))
    one_error_line(cli("fit", config), "L.parquet: not found")  # the lock went too


def _documented_metrics_keys() -> list[str]:
    text = (Path(__file__).parents[1] / "docs" / "scores.md").read_text(encoding="utf-8")
    table = text.split("<!-- metrics-keys -->", 1)[1].split("\n\n", 1)[0]
    rows = [line.split("|")[1] for line in table.splitlines()[2:]]
    return [key for row in rows for key in re.findall(r"`([^`]+)`", row)]


def test_the_documented_metrics_keys_are_in_a_run_and_match_what_it_prints(make_task):
    keys = _documented_metrics_keys()
    assert "end_model.test.f1" in keys and "gold_only.verdict" in keys
    config = make_task()
    result = cli("run", config, "--no-progress")
    assert result.exit_code == 0, result.output
    metrics = json.loads((config.parent / "run" / "metrics.json").read_text(encoding="utf-8"))
    for key in keys:
        value = metrics
        for part in key.split("."):
            assert isinstance(value, dict) and part in value, f"metrics.json lacks {key}"
            value = value[part]
    test = metrics["end_model"]["test"]
    row = next(line for line in result.output.splitlines() if "end model (" in line)
    assert f"{test['accuracy']:.3f}" in row and f"{test['f1']:.3f}" in row


def test_run_dir_puts_the_run_outside_the_config_folder(make_task, tmp_path, monkeypatch):
    # the config in a read-only checkout: its output_dir cannot be written, nor edited
    config = make_task()
    monkeypatch.chdir(tmp_path)
    result = cli("run", config, "--no-progress", "--run-dir", "nightly/run")
    assert result.exit_code == 0, result.output
    run_dir = tmp_path / "nightly" / "run"
    assert f"artifacts in {run_dir};" in " ".join(result.output.split())
    assert (run_dir / "model" / "model_card.json").is_file()
    assert not (config.parent / "run").exists()
    for command in ("evaluate", "report", "fit", "train", "export"):
        assert cli(command, config, "--run-dir", run_dir).exit_code == 0, command
    one_error_line(cli("evaluate", config), "nothing to evaluate")  # the config's own
