"""The suite itself: its subprocesses can be stopped with SIGINT even when the suite was
started in the background with SIGINT ignored (tests/conftest.py,
``interruptible_children``)."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent

# In a process that starts with SIGINT ignored (as `make test &` does): load the suite's
# conftest, then ask a child process what it does on SIGINT.
PROBE = f"""
import signal, subprocess, sys
sys.path.insert(0, {str(TESTS)!r})
import conftest
child = "import signal; print(signal.getsignal(signal.SIGINT) is signal.default_int_handler)"
print(subprocess.run([sys.executable, "-c", child], capture_output=True, text=True).stdout.strip())
"""


def test_children_of_a_suite_started_with_sigint_ignored_can_be_interrupted():
    # before: every child inherited the ignored SIGINT, so in a background run the tests
    # that stop `labeling dev` / `labeling apply` with SIGINT timed out (three of them)
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                            timeout=120,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True", result.stdout + result.stderr
