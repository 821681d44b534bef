"""With ``[end_model] params.max_train_rows`` the end model is fit on a sample of the
covered train rows: metrics.json's ``train_rows`` and the model card must say how many
trained it (found by r97: they said every covered row, 32, where 10 trained it)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from conftest import cli  # noqa: E402


def test_metrics_and_card_count_the_rows_the_model_was_fit_on(make_task):
    path = make_task(config={"label_model": {"name": "mv", "params": make_task.DELETE},
                             "end_model": {"name": "tfidf_logreg",
                                           "params": {"max_train_rows": 10}}})
    result = cli("run", path, "--no-progress")
    assert result.exit_code == 0, result.output
    run = path.parent / "run"
    end = json.loads((run / "metrics.json").read_text())["end_model"]
    cap = end["train_rows_cap"]
    assert cap["used"] == 10 < cap["covered"]
    assert end["train_rows"] == 10
    card = json.loads((run / "model" / "model_card.json").read_text())
    training = card["training"]
    assert training["weak_rows"] == 10 and training["weak_rows_sampled_from"] == cap["covered"]
    assert training["text"].startswith(f"Trained on 10 train rows, a seeded sample of the "
                                       f"{cap['covered']} covered ones (max_train_rows 10)")
    card_md = (run / "model" / "MODEL_CARD.md").read_text()
    assert "Trained on 10 train rows, a seeded sample" in card_md
