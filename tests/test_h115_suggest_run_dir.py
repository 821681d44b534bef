"""`labeling suggest --run-dir D` reads and writes the run of `apply/fit --run-dir D` (h115).

Before: docs/cli.md says to give the same `--run-dir` to each command of a run kept outside
a read-only checkout, but `suggest` had none (`error: No such option: --run-dir`), and
without it looked for the run in the config's output_dir."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from labeling.cli import app

ROOT = Path(__file__).resolve().parents[1]
KEPT_LFS = "LFS = [subscribe, check_out, song_praise, views_talk, short_comment]\n"


def _task(root: Path) -> Path:
    """The bundled task with five of its LFs (no prompt LFs: no MiniLM embedding)."""
    shutil.copytree(ROOT / "data" / "youtube", root / "data" / "youtube")
    source = (ROOT / "functions" / "youtube_spam.py").read_text(encoding="utf-8")
    (root / "functions").mkdir()
    (root / "functions" / "youtube_spam.py").write_text(
        source.split("# --- prompts")[0] + KEPT_LFS, encoding="utf-8")
    shutil.copy(ROOT / "labeling.toml", root / "labeling.toml")
    return root / "labeling.toml"


def test_suggest_uses_the_run_folder_given(tmp_path):
    config, run = str(_task(tmp_path / "task")), str(tmp_path / "elsewhere")
    runner = CliRunner()
    for step in ("apply", "fit"):
        out = runner.invoke(app, [step, config, "--run-dir", run, "--no-progress"][
            : 4 if step == "fit" else 5])
        assert out.exit_code == 0, out.output
    out = runner.invoke(app, ["suggest", config, "--run-dir", run, "--n", "3",
                              "--label", "spam"])
    assert out.exit_code == 0, out.output
    assert "proposed LFs" in out.output
    ids = list(json.loads((Path(run) / "suggestions.json").read_text())["last"])
    out = runner.invoke(app, ["suggest", config, "--run-dir", run, "--reject", ids[0]])
    assert out.exit_code == 0 and f"rejected {ids[0]}" in out.output, out.output
    assert not (tmp_path / "task" / "runs").exists()  # nothing in the config's output_dir
