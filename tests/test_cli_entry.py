"""``python -m labeling.cli`` runs the command (tests and benchmarks start it so)."""

from __future__ import annotations

import subprocess
import sys


def test_python_m_labeling_cli_runs_the_command():
    out = subprocess.run([sys.executable, "-m", "labeling.cli", "--help"], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "predict" in out.stdout and "serve" in out.stdout
