"""A multi-label prompt LF's local margin and stale votes (h133). Its votes on the local
backend depend on the margin (``[llm] local_margin``, or ``local_margin=`` on the LF):
after either changes, the next step must not take the old votes for the LF's."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent))
from test_multilabel_prompts import LFS, _task  # noqa: E402

from labeling.cli import app  # noqa: E402

FEEL = [f"feel:{label}" for label in ("joy", "anger", "fear")]


def _cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture
def applied(monkeypatch, tmp_path):
    """A multi-label task with prompt LFs on the local backend, applied once."""
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    config = _task(tmp_path / "t")
    result = _cli("apply", config, "--no-progress")
    assert result.exit_code == 0, result.output
    L = pd.read_parquet(config.parent / "runs" / "mlp" / "L.parquet")
    assert (L[FEEL] >= 0).any().all()  # the usual margin: the columns vote
    return config


def _refused_then_recomputed(config: Path) -> None:
    result = _cli("fit", config)
    assert result.exit_code != 0 and "changed: feel:joy, feel:anger, feel:fear" in \
        result.output, result.output
    result = _cli("apply", config, "--no-progress")
    assert result.exit_code == 0, result.output
    L = pd.read_parquet(config.parent / "runs" / "mlp" / "L.parquet")
    assert (L[FEEL] == -1).all().all()  # cosine gaps are < 2: no label clears it


def test_the_configs_local_margin_changes_the_prompt_lfs(applied):
    config = applied
    config.write_text(config.read_text() + "\n[llm]\nlocal_margin = 2.0\n")
    _refused_then_recomputed(config)


def test_the_lfs_own_local_margin_changes_it(applied):
    config = applied
    lfs = config.parent / "lfs.py"
    lfs.write_text(LFS.replace("labels=DESCRIPTIONS)", "labels=DESCRIPTIONS, local_margin=2.0)"))
    assert "local_margin=2.0" in lfs.read_text()
    _refused_then_recomputed(config)
