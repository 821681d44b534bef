"""The ``labeling app`` command: ``streamlit run app/streamlit_app.py`` on 127.0.0.1.

Why a subprocess with environment variables: Streamlit owns its process (server, event
loop, script threads); the project is handed over as ``LABELING_PROJECT`` (and
optionally ``LABELING_RUN_DIR``), which the app reads (:mod:`labeling.review.project`).
Bound to 127.0.0.1 only: the app shows data and writes annotations, so it is not
exposed to the network; tracebacks are hidden (``client.showErrorDetails``) because
the app shows one-line errors itself.
"""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

from labeling.errors import LabelingError
from labeling.review.project import ENV_ANNOTATIONS, ENV_PROJECT, ENV_RUN_DIR


def app_file() -> Path:
    """``app/streamlit_app.py`` of the source tree this package belongs to."""
    path = Path(__file__).resolve().parents[2] / "app" / "streamlit_app.py"
    if not path.is_file():
        raise LabelingError(f"{path}: the app's entry file is missing (the app ships with the "
                            "source tree; install the project with `pip install -e .`)")
    return path


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def streamlit_command(port: int, headless: bool = True) -> list[str]:
    """The ``streamlit run`` argv (flags as in Streamlit's own e2e harness)."""
    return [sys.executable, "-m", "streamlit", "run", str(app_file()),
            "--server.address", "127.0.0.1", "--server.port", str(port),
            "--server.headless", "true" if headless else "false",
            "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
            "--client.showErrorDetails", "none", "--client.toolbarMode", "minimal"]


def app_environment(project: Path, run_dir: Path | None = None,
                    annotations: Path | None = None, env=None) -> dict[str, str]:
    """``env`` (default: this process's) plus the app's ``LABELING_*`` variables."""
    out = dict(os.environ if env is None else env)
    out[ENV_PROJECT] = str(Path(project).resolve())
    for var, value in ((ENV_RUN_DIR, run_dir), (ENV_ANNOTATIONS, annotations)):
        if value is not None:
            out[var] = str(Path(value).resolve())
    return out
