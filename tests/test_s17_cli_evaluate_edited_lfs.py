"""`labeling evaluate` after an LF edit (h135): it reprints the last run's scores, and
`show`, `report`, `suggest` and `export` refuse such a run, but evaluate printed them
with no word that they are of the LFs before the edit. Now a `note:` line says which
LFs changed and that the scores are of the LFs applied."""

import sys
from pathlib import Path

from labeling import pipeline

sys.path.insert(0, str(Path(__file__).parent))
from conftest import DEFAULT_LFS, cli  # noqa: E402


def test_evaluate_notes_lfs_edited_since_the_run(make_task):
    config = make_task(config={"label_model": {"name": "mv", "params": make_task.DELETE}})
    pipeline.run(pipeline.load_task(config), progress=False)
    result = cli("evaluate", config)
    assert result.exit_code == 0, result.output
    assert "note:" not in result.output  # nothing edited
    lfs = config.parent / "lfs.py"
    lfs.write_text(DEFAULT_LFS.replace('"free"]', '"free", "win"]'), encoding="utf-8")
    result = cli("evaluate", config)
    assert result.exit_code == 0, result.output
    first = result.stdout.splitlines()[0]
    assert first.startswith("note: ") and "(changed: kw_spam)" in first, result.stdout
    assert "the scores below are of the LFs it applied" in first
    assert "test" in result.stdout  # the scores are still shown
