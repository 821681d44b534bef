"""`labeling fit` after a train: the end model in metrics.json predates the new label
model, so its scores must not appear beside the new ones as if they belonged together."""

from __future__ import annotations

import sys
from pathlib import Path

from typer.testing import CliRunner

from labeling.cli import app

sys.path.insert(0, str(Path(__file__).parent))
from conftest import rerun  # noqa: E402

runner = CliRunner()


def _ok(*args) -> str:
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def _score_rows(output: str) -> dict[str, str]:
    """Rows of the printed scores table, by the model named in their first cell."""
    rows = {}
    for line in output.splitlines():
        cells = [c.strip() for c in line.strip("│┃|").split("│")]
        for model in ("majority vote", "label model", "end model"):
            if cells and cells[0].startswith(model):
                rows[model] = line
    return rows


def test_fit_after_train_does_not_show_the_old_end_model_as_current(make_task):
    config = make_task()
    _ok("apply", config)
    _ok("fit", config)
    trained = _score_rows(_ok("train", config))
    assert "end model" in trained  # train shows the end model it just trained

    same = _ok("fit", config)  # the very probabilities it was trained on: still current
    assert "stale" not in same and "(stale)" not in _ok("evaluate", config), same
    rerun(config.parent / "run" / "L.parquet")  # as after an apply that changed a vote
    output = _ok("fit", config)
    rows = _score_rows(output)
    assert "label model" in rows and "majority vote" in rows
    assert "end model" not in rows or "stale" in rows["end model"], output
    assert "stale" in output and "labeling train" in output, output


def test_fit_before_any_train_mentions_no_end_model(make_task):
    config = make_task()
    _ok("apply", config)
    output = _ok("fit", config)
    assert "end model" not in output and "stale" not in output, output
