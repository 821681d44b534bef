"""The ``labeling app`` command: ``streamlit run app/streamlit_app.py`` on 127.0.0.1.

Why a subprocess with environment variables: Streamlit owns its process (server, event
loop, script threads); the project is handed over as ``LABELING_PROJECT`` (and
optionally ``LABELING_RUN_DIR``), which the app reads (:mod:`labeling.review.project`).
Bound to 127.0.0.1 only: the app shows data and writes annotations, so it is not
exposed to the network; tracebacks are hidden (``client.showErrorDetails``) because
the app shows one-line errors itself.

Always headless: a non-headless Streamlit asks for an email on its first run (stdin),
which on a fresh machine stops it before it serves; so the browser is opened here, once
the server answers its health check. Every setting is a flag, so nothing depends on
``~/.streamlit``. The child ends with the parent: SIGTERM, SIGINT and SIGHUP are
forwarded to it as a SIGTERM (Streamlit's own clean shutdown), then waited for.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
import webbrowser
from importlib import metadata
from pathlib import Path

from labeling.config import home_path
from labeling.errors import LabelingError
from labeling.review.project import ENV_ANNOTATIONS, ENV_PROJECT, ENV_RUN_DIR


SOURCE_APP = Path(__file__).resolve().parents[2] / "app" / "streamlit_app.py"
INSTALLED_APP = "share/labeling/app/streamlit_app.py"  # pyproject.toml's data-files


def app_file() -> Path:
    """``app/streamlit_app.py`` of the source tree this package belongs to (a checkout,
    ``pip install -e .``: a pyproject.toml beside it names the project "labeling"), else
    the copy a wheel installed (under ``<prefix>/share``, found through the installed
    files' record, wherever pip put them). For a wheel, ``SOURCE_APP`` is
    ``site-packages/app/streamlit_app.py``: another project's top-level ``app``, if any."""
    if SOURCE_APP.is_file() and _is_labeling_checkout(SOURCE_APP.parents[1]):
        return SOURCE_APP
    for dist in metadata.distributions(name="labeling"):
        for entry in dist.files or []:
            if entry.as_posix().endswith(INSTALLED_APP) and Path(entry.locate()).is_file():
                return Path(entry.locate()).resolve()
    # `pip install --target D` moves share/ into D, where its record no longer points
    beside = SOURCE_APP.parents[1] / INSTALLED_APP
    if beside.is_file():
        return beside
    raise LabelingError(f"{SOURCE_APP}: the app's entry file is missing, and no installed "
                        f"copy (.../{INSTALLED_APP}) is recorded: reinstall labeling")


def _is_labeling_checkout(root: Path) -> bool:
    """Whether ``root`` holds labeling's own pyproject.toml."""
    try:
        with open(root / "pyproject.toml", "rb") as file:
            return tomllib.load(file).get("project", {}).get("name") == "labeling"
    except (OSError, tomllib.TOMLDecodeError, AttributeError):
        return False


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


FORWARDED_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGINT", "SIGHUP")
                          if hasattr(signal, name))
STOP_GRACE_S = 10  # after this, a child that ignores SIGTERM is killed
HEALTH_WAIT_S = 120  # the browser is not opened for a server that never answers


def streamlit_command(port: int) -> list[str]:
    """The ``streamlit run`` argv (flags as in Streamlit's own e2e harness)."""
    return [sys.executable, "-m", "streamlit", "run", str(app_file()),
            "--server.address", "127.0.0.1", "--server.port", str(port),
            "--server.headless", "true",
            "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
            "--client.showErrorDetails", "none", "--client.toolbarMode", "minimal"]


def app_environment(project: Path, run_dir: Path | None = None,
                    annotations: Path | None = None, env=None) -> dict[str, str]:
    """``env`` (default: this process's) plus the app's ``LABELING_*`` variables."""
    out = dict(os.environ if env is None else env)
    out[ENV_PROJECT] = str(home_path(project).resolve())
    for var, value in ((ENV_RUN_DIR, run_dir), (ENV_ANNOTATIONS, annotations)):
        if value is not None:  # "~/runs" quoted: the home folder, as --run-dir elsewhere
            out[var] = str(home_path(value).resolve())
    return out


def url(port: int) -> str:
    return f"http://127.0.0.1:{port}"


def answers_health(base_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base_url}/_stcore/health", timeout=2) as reply:
            return reply.read().strip() == b"ok"
    except OSError:
        return False


def _stop(child: subprocess.Popen) -> None:
    if child.poll() is None:
        child.terminate()
    try:
        child.wait(timeout=STOP_GRACE_S)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


def serve(port: int, env: dict[str, str], open_browser: bool) -> int:
    """Run the app until it exits or this process gets SIGTERM/SIGINT/SIGHUP; the exit
    status (128 + signal number when stopped by a signal)."""
    received: list[int] = []
    child: subprocess.Popen | None = None

    def forward(signum, _frame):
        received.append(signum)
        if child is not None and child.poll() is None:
            child.terminate()

    # installed before the child exists: a signal in between must not orphan it
    previous = {signum: signal.signal(signum, forward) for signum in FORWARDED_SIGNALS}
    try:
        child = subprocess.Popen(streamlit_command(port), env=env, stdin=subprocess.DEVNULL)
        if received:  # arrived while the child was being started
            child.terminate()
        if open_browser:
            deadline = time.monotonic() + HEALTH_WAIT_S
            while (child.poll() is None and not received and time.monotonic() < deadline
                   and not answers_health(url(port))):
                time.sleep(0.2)
            if child.poll() is None and not received and answers_health(url(port)):
                webbrowser.open(url(port))
        code = child.wait()
    finally:
        if child is not None:
            _stop(child)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 128 + received[0] if received else code
