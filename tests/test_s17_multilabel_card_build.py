"""The multi-label model card records the build of labeling, as the single-label card
does (h133): ``labeling_build`` (the exporting build) and per LF the fingerprint apply
took and the build that applied it (``code``). Before, the multi-label card had neither,
so `labeling compare` could not tell a labeling upgrade from an LF edit there."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent))
from test_multilabel_export import _project  # noqa: E402

from labeling.apply.applied import code_identity  # noqa: E402
from labeling.cli import app  # noqa: E402


def test_the_multilabel_card_records_the_builds_as_the_single_label_card(tmp_path):
    config = _project(tmp_path / "ml")
    result = CliRunner().invoke(app, ["run", str(config), "--no-progress"])
    assert result.exit_code == 0, result.output
    run = config.parent / "runs" / "ml"
    card = json.loads((run / "model" / "model_card.json").read_text(encoding="utf-8"))
    metrics = json.loads((run / "metrics.json").read_text(encoding="utf-8"))
    build = code_identity()
    assert card["labeling_build"] == build
    applied = metrics["applied_lfs"]
    assert [lf["name"] for lf in card["lfs"]] == list(applied)
    for lf in card["lfs"]:
        assert lf["fingerprint"] == applied[lf["name"]]
        assert lf["code"] == metrics["applied_code"][lf["fingerprint"]]
        assert lf["code"]["labeling"] == build
        assert lf["target_label"]  # what the multi-label card said before stays
