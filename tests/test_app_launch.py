"""`labeling app` as a real process: it serves without any prompt on a fresh machine, and
its Streamlit child ends with it on SIGTERM or SIGINT.

Each test starts `python -m labeling.cli app` with stdin empty and a fresh HOME (no
~/.streamlit: Streamlit's first-run "Email:" prompt would show there when not headless),
polls the health endpoint, and stops it. Deadlines are bounds against a hang, not
timings. The browser is a script (BROWSER) that writes the URL it was asked to open.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from labeling.review.launch import free_port

STARTUP_BOUND_S = 90  # the app imports pandas, sklearn and streamlit: slow on a busy CI box
EXIT_BOUND_S = 30


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reply:
            return reply.read().strip() == b"ok"
    except OSError:
        return False


def _children(pid: int) -> list[int]:
    """Direct children of ``pid`` (Linux /proc)."""
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def _alive(pid: int) -> bool:
    """Running and not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture
def launch(make_task, tmp_path):
    """Start `labeling app` over a tiny task (no run yet: the app shows its run page);
    yields a function (extra args) -> (process, url, log path). Every process and any
    Streamlit child left behind are killed at the end, by pid."""
    started: list[tuple[subprocess.Popen, list[int]]] = []
    home = tmp_path / "home"
    home.mkdir()
    opened = tmp_path / "browser-opened.txt"
    browser = tmp_path / "browser"  # webbrowser runs BROWSER as one executable, URL appended
    browser.write_text(f"#!{sys.executable}\nimport sys\n"
                       f"open({str(opened)!r}, 'w').write(sys.argv[1])\n")
    browser.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMLIT_")}
    # DISPLAY set, as on a desktop: without it Streamlit turns headless by itself on Linux
    # and the first-run "Email:" prompt (the defect) could never show here.
    env.update(HOME=str(home), BROWSER=str(browser), XDG_CONFIG_HOME=str(home / ".config"),
               DISPLAY=":0")
    project = make_task()

    def start(*args):
        port = free_port()
        log_path = tmp_path / f"app-{port}.log"
        log = open(log_path, "wb")  # a file, not a pipe: a full pipe would block the app
        proc = subprocess.Popen([sys.executable, "-m", "labeling.cli", "app", str(project.parent),
                                 "--port", str(port), *args],
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                env=env, cwd=tmp_path)
        log.close()
        children: list[int] = []
        started.append((proc, children))
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + STARTUP_BOUND_S
        while not _answers(url):
            if proc.poll() is not None or time.monotonic() > deadline:
                children += _children(proc.pid)
                pytest.fail(f"`labeling app {' '.join(args)}` did not serve {url} "
                            f"within {STARTUP_BOUND_S} s (exit {proc.poll()}):\n"
                            + log_path.read_text(errors="replace")[-3000:])
            time.sleep(0.3)
        children += _children(proc.pid)
        return proc, url, log_path

    start.opened = opened
    yield start
    for proc, children in started:
        for pid in children:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=EXIT_BOUND_S)


def _stopped(proc: subprocess.Popen, url: str, child: int) -> None:
    """The parent exits, the port stops answering and the child is gone, within bounds."""
    proc.wait(timeout=EXIT_BOUND_S)
    deadline = time.monotonic() + EXIT_BOUND_S
    while (_answers(url) or _alive(child)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _answers(url), f"{url} still serves after `labeling app` exited"
    assert not _alive(child), f"the Streamlit child {child} outlived `labeling app`"


def test_app_serves_without_a_prompt_on_a_fresh_home_and_opens_the_browser(launch):
    proc, url, log = launch()  # with the browser: the case that used to ask for an email
    assert "Email" not in log.read_text(errors="replace")
    deadline = time.monotonic() + EXIT_BOUND_S  # the browser is opened once health is ok
    while not launch.opened.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert launch.opened.read_text() == url


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_the_streamlit_child_ends_with_the_app(launch, signum):
    proc, url, _ = launch("--no-browser")
    children = _children(proc.pid)
    assert len(children) == 1, children
    proc.send_signal(signum)  # to the parent only, as `kill PID` or a supervisor does
    _stopped(proc, url, children[0])
    assert proc.returncode == 128 + signum
