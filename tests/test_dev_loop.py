"""`labeling dev`: a real process watching a task; edits answer with a dev table,
errors keep it watching, Ctrl+C stops it cleanly, and test is never shown."""

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from labeling.dev_loop import TABLE_DONE


class Loop:
    def __init__(self, config: Path):
        env = dict(os.environ, COLUMNS="160", PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "labeling.cli", "dev", str(config), "--interval", "0.1"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            text=True, env=env)
        self.lines: queue.Queue = queue.Queue()
        self.seen: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line)

    def until_table(self, timeout: float = 120) -> str:
        """The output up to and including the next table's end marker."""
        out, deadline = [], time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=1)
            except queue.Empty:
                assert self.proc.poll() is None, "".join(self.seen + out)
                continue
            out.append(line)
            if TABLE_DONE in line:
                self.seen += out
                return "".join(out)
        raise AssertionError("no table within the timeout:\n" + "".join(self.seen + out))


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    time.sleep(0.05)  # a distinct mtime even on coarse clocks
    path.write_text(text.replace(old, new))


def test_dev_loop_answers_each_save_and_survives_errors(make_task):
    config = make_task(config={"label_model": {"name": "mv", "params": make_task.DELETE}})
    lfs = config.parent / "lfs.py"
    loop = Loop(config)
    try:
        first = loop.until_table()
        assert "kw_spam" in first and "label model (mv) on dev" in first
        assert "test" not in first.lower()

        _edit(lfs, '["song", "love"]', '["love"]')
        second = loop.until_table()
        assert "dev rows whose label-model label changed" in second
        kw_ham = next(line for line in second.splitlines() if "kw_ham" in line)
        assert "-0." in kw_ham  # its coverage fell, shown as a change

        _edit(lfs, "def long_text(x):", "def long_text(x)")  # a syntax error
        broken = loop.until_table()
        assert "error:" in broken and "lfs.py" in broken

        _edit(lfs, "def long_text(x)", "def long_text(x):")
        fixed = loop.until_table()
        assert "long_text" in fixed and "error" not in fixed

        _edit(lfs, "return SPAM if", "return 7 if")  # a vote outside the labels
        bad_vote = loop.until_table()
        assert "error:" in bad_vote and "long_text" in bad_vote
    finally:
        loop.proc.send_signal(signal.SIGINT)
        try:
            loop.proc.wait(timeout=120)  # a bound against a hang: a busy box may be mid-fit
        except subprocess.TimeoutExpired:
            loop.proc.kill()
            raise
    loop.reader.join(timeout=10)  # the reader thread owns stdout: take the rest from it
    rest = "".join(loop.lines.queue)
    assert loop.proc.returncode == 0, rest
    assert "stopped" in rest and "Traceback" not in "".join(loop.seen) + rest


def test_the_table_names_autos_choice_of_this_save(make_task):
    """Label-model auto is refit on every save: the table says which model it chose on
    these votes, and when that choice changed since the last save."""
    from rich.console import Console

    from labeling.dev_loop import render, take_snapshot
    from labeling.session import Session

    session = Session(make_task(config={"label_model": {"name": "auto",
                                                        "params": make_task.DELETE}}))
    first = take_snapshot(session)
    chosen = first.scores["label_model"]["chosen"]
    assert chosen in ("mv", "dawid_skene", "weighted_vote")
    console = Console(record=True, width=160)
    render(first, None, console)
    assert f"label model (auto: chose {chosen}) on dev" in console.export_text()

    previous = take_snapshot(session)
    previous.scores["label_model"]["chosen"] = "some_other_model"  # as if the last save chose it
    previous.scores["label_model"]["accuracy"] -= 0.25
    render(first, previous, console)
    text = console.export_text()
    # the changes were dropped before: rich read "[accuracy +0.250]" as a markup tag
    assert f"(auto: chose {chosen}) on dev" in text
    assert "[was some_other_model; accuracy +0.250]" in text
