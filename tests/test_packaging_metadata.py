"""pyproject.toml's license is an SPDX expression (PEP 639): setuptools deprecated the
``{ text = ... }`` table and stops building it after 2027-02-18, which would break
``pip install -e .`` on a fresh machine (CI) with nothing changed here."""

import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def test_license_is_an_spdx_string_and_setuptools_reads_it():
    data = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))
    assert data["project"]["license"] == "Apache-2.0"
    requires = data["build-system"]["requires"]
    assert any(r.replace(" ", "").startswith("setuptools>=") and
               tuple(int(p) for p in r.split(">=")[1].split(".")) >= (77,) for r in requires)
