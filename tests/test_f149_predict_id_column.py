"""`labeling predict -i FILE` prints the ids of the column the model's task read its ids
from (the card's `id_column`, single- and multi-label), not only a column close to `id`:
a task with `id_column = "ticket_id"` printed no ids on its own test file unless
`--id-column ticket_id` was given. `--id-column` given always wins; a card without
`id_column` (an older export) behaves as before."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_cli import invoke, ok  # noqa: E402
from test_multilabel_export import _project  # noqa: E402

TEXTS = ["check out my channel", "i love this song"]


def _model(youtube_run, tmp_path, id_column) -> Path:
    """The bundled model, its card saying its task read the ids from ``id_column``
    (None: no `id_column` in the card, as an older export)."""
    task, run_dir, _ = youtube_run
    model = tmp_path / "model"
    shutil.copytree(run_dir / "model", model)
    card = json.loads((model / "model_card.json").read_text())
    assert card["id_column"] == task.config.data.id_column  # what export wrote
    card.pop("id_column")
    if id_column is not None:
        card["id_column"] = id_column
    (model / "model_card.json").write_text(json.dumps(card))
    return model


def _first_fields(result) -> list[str]:
    return [line.split("\t")[0] for line in ok(result).stdout.splitlines()]


def test_the_tasks_id_column_is_printed(youtube_run, tmp_path):
    model = _model(youtube_run, tmp_path, "ticket_id")
    path = tmp_path / "test.csv"
    # an `id` column too: the task's own id column is the one its test file's ids are in
    pd.DataFrame({"id": ["x", "y"], "ticket_id": ["T-1", "T-2"], "text": TEXTS}
                 ).to_csv(path, index=False)
    assert _first_fields(invoke("predict", "-m", model, "-i", path)) == ["T-1", "T-2"]
    rows = ok(invoke("predict", "-m", model, "-i", path, "--format", "jsonl")).stdout
    assert [json.loads(r)["id"] for r in rows.splitlines()] == ["T-1", "T-2"]


@pytest.mark.parametrize("asked,first", [("id", ["x", "y"]), ("", None)])
def test_an_id_column_asked_for_wins(youtube_run, tmp_path, asked, first):
    model = _model(youtube_run, tmp_path, "ticket_id")
    path = tmp_path / "test.csv"
    pd.DataFrame({"id": ["x", "y"], "ticket_id": ["T-1", "T-2"], "text": TEXTS}
                 ).to_csv(path, index=False)
    out = ok(invoke("predict", "-m", model, "-i", path, "--id-column", asked)).stdout
    lines = out.splitlines()
    if first is None:  # no ids: label, probability, text
        assert [line.split("\t")[2] for line in lines] == TEXTS
    else:
        assert [line.split("\t")[0] for line in lines] == first


def test_a_file_without_the_tasks_id_column_and_an_old_card_read_id(youtube_run, tmp_path):
    path = tmp_path / "test.csv"
    pd.DataFrame({"ID": ["x", "y"], "text": TEXTS}).to_csv(path, index=False)
    for n, recorded in enumerate(("ticket_id", None)):
        model = _model(youtube_run, tmp_path / str(n), recorded)
        assert _first_fields(invoke("predict", "-m", model, "-i", path)) == ["x", "y"]


def test_a_multilabel_task_with_ticket_ids_prints_them(tmp_path):
    config = _project(tmp_path / "ml")
    for name in ("train.csv", "dev.csv", "test.csv"):
        table = pd.read_csv(tmp_path / "ml" / name).rename(columns={"id": "ticket_id"})
        table.to_csv(tmp_path / "ml" / name, index=False)
    config.write_text(config.read_text().replace('label_column = "labels"\n',
                                                 'label_column = "labels"\n'
                                                 'id_column = "ticket_id"\n'))
    ok(invoke("run", config, "--no-progress"))
    model = config.parent / "runs" / "ml" / "model"
    assert json.loads((model / "model_card.json").read_text())["id_column"] == "ticket_id"
    test = pd.read_csv(config.parent / "test.csv")
    assert _first_fields(invoke("predict", "-m", model, "-i", config.parent / "test.csv")
                         ) == test["ticket_id"].tolist()


def test_the_card_records_the_nested_dev_cv_score_its_verdict_states(youtube_run):
    from labeling.train.gold_budget import nested_end_cv

    _, run_dir, metrics = youtube_run
    card = json.loads((run_dir / "model" / "model_card.json").read_text())
    assert card["cv"]["end_model_nested"] == nested_end_cv(metrics["end_model"])
