"""`labeling apply --lf X` after an upgrade of labeling: the note on the LFs it kept with
their last apply's votes tells an upgrade from an edit (h127). It said "kept the last
apply's votes of LFs edited since: kw_money" of an LF nobody edited."""

from __future__ import annotations

import sys
from pathlib import Path

from typer.testing import CliRunner

from labeling import pipeline
from labeling.apply import applied
from labeling.cli import app

sys.path.insert(0, str(Path(__file__).parent))
from test_h115_compare_after_apply import _task  # noqa: E402  (kw_money, kw_song)
from test_s16_upgrade_builds import (OLD_BUILD, _as_another_build_applied,  # noqa: E402
                                     _edit_metrics)


def _apply_only(config, name: str) -> str:
    result = CliRunner().invoke(app, ["apply", str(config), "--no-progress", "--lf", name])
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


def test_the_note_after_an_upgrade_says_upgraded_not_edited(tmp_path):
    config = _task(tmp_path)
    task = pipeline.load_task(config)
    pipeline.step_apply(task, progress=False)
    _edit_metrics(task.run_dir, lambda m: _as_another_build_applied(m, ["kw_money", "kw_song"]))
    out = _apply_only(config, "kw_song")
    assert "edited" not in out
    assert (f"note: kept the last apply's votes of LFs that changed since (labeling was "
            f"upgraded ({OLD_BUILD} -> {applied.code_identity()}); these LFs' votes may "
            "differ: kw_money); apply them too (--lf) before `labeling fit`") in out


def test_the_note_after_an_edit_still_says_edited(tmp_path):
    config = _task(tmp_path)
    pipeline.step_apply(pipeline.load_task(config), progress=False)
    lfs = config.parent / "lfs.py"
    text = lfs.read_text(encoding="utf-8")
    assert '"cash"]' in text, text
    lfs.write_text(text.replace('"cash"]', '"cash", "bitcoin"]'), encoding="utf-8")
    out = _apply_only(config, "kw_song")
    assert ("note: kept the last apply's votes of LFs edited since: kw_money; apply them "
            "too (--lf) before `labeling fit`") in out
