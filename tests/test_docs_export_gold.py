"""docs/cli.md: `evaluate` refuses to reprint scores computed against gold since
corrected. `labeling export` writes those same scores into the model card, next to the
sha256 of the test file as it is now: after a test label was corrected, the card stated
the old gold's test scores as the new file's (the multi-label export already refused)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from conftest import cli, one_error_line  # noqa: E402
from labeling.errors import LabelingError  # noqa: E402
from labeling.session import Session  # noqa: E402
from test_evaluate_gold_changed import flip_first_label  # noqa: E402


def test_export_after_a_test_gold_correction_names_the_file_and_the_step(make_task, tmp_path):
    config = make_task()
    assert cli("run", config, "--no-progress").exit_code == 0
    card = config.parent / "runs" / "tiny" / "model" / "model_card.json"
    if not card.is_file():  # the run folder is the config's output_dir
        card = next(config.parent.rglob("model_card.json"))
    before = card.read_text(encoding="utf-8")
    flip_first_label(config.parent / "test.csv")
    one_error_line(cli("export", config), "test.csv: the test gold changed since the last "
                   "`labeling fit`", "run `labeling fit` again")
    assert card.read_text(encoding="utf-8") == before  # the card was not rewritten
    with pytest.raises(LabelingError, match="the test gold changed"):
        Session(config).export(tmp_path / "elsewhere")
    assert not (tmp_path / "elsewhere").exists()
    assert cli("run", config, "--no-progress").exit_code == 0  # rescored, exported
    assert json.loads(card.read_text(encoding="utf-8")) != json.loads(before)
