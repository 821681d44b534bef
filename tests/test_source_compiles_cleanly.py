"""Every Python file of the project compiles without a warning.

An invalid escape in a string (``"\\W"`` in a docstring) is a DeprecationWarning on
Python 3.11, a SyntaxWarning from 3.12 and meant to become an error: users would see it
on the first import of the module, and a later Python would refuse the file.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted(p for folder in ("labeling", "app", "functions", "benchmarks", "tests")
                 for p in (ROOT / folder).rglob("*.py"))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_file_compiles_without_warnings(path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        compile(path.read_text(encoding="utf-8"), str(path), "exec")
