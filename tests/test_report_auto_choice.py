"""`labeling report` names the label model `auto` chose, as `labeling run` does: its row
read "label model (auto)" (reported by the docs audit)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from conftest import cli  # noqa: E402


def test_the_report_row_names_autos_choice(make_task):
    config = make_task(config={"label_model": {"name": "auto", "params": make_task.DELETE}})
    assert cli("run", config, "--no-progress").exit_code == 0
    chosen = json.loads((config.parent / "run" / "metrics.json").read_text())[
        "label_model"]["chosen"]
    assert chosen in ("mv", "dawid_skene", "weighted_vote", "snorkel")
    result = cli("report", config)
    assert result.exit_code == 0, result.output
    rows = json.loads((config.parent / "run" / "report.json").read_text())["rows"]
    assert [r["name"] for r in rows if r["kind"] == "label_model"] == [
        f"label model (auto: {chosen})"]
