"""A row's text edited under the same id after an apply: the label matrix holds the old
text's votes, so the steps that read it refuse until the next apply (before, fit, show
and the notebook's examples() used the old votes, shown next to the new text)."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from conftest import annotate_first_row, cli, one_error_line  # noqa: E402


def _edit_first_train_text(config_path: Path) -> None:
    path = config_path.parent / "train.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    row_id = lines[1].split(",", 1)[0]
    lines[1] = f"{row_id},an edited comment about nothing in particular,spam\n"
    path.write_text("".join(lines), encoding="utf-8")


def test_a_text_edited_under_its_id_stops_fit_and_show_until_the_next_apply(make_task):
    config_path = make_task(config={"label_model": {"name": "mv", "params": make_task.DELETE}})
    assert cli("apply", config_path, "--no-progress").exit_code == 0
    assert cli("fit", config_path).exit_code == 0  # an unedited run passes its own check
    header = (config_path.parent / "train.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header.startswith("id,text")
    _edit_first_train_text(config_path)
    one_error_line(cli("fit", config_path), "L.parquet", "a train row's text",
                   "run `labeling apply` again")
    one_error_line(cli("show", "kw_spam", config_path), "a train row's text")
    assert cli("apply", config_path, "--no-progress").exit_code == 0
    fitted = cli("fit", config_path)
    assert fitted.exit_code == 0, fitted.output
    metrics = json.loads((config_path.parent / "run" / "metrics.json").read_text())
    assert set(metrics["rows_at_apply"]) == {"train", "dev", "test"}


def test_cli_train_after_a_dev_gold_edit_asks_for_fit_first(make_task):
    # before: `labeling train` learned from the old gold's label model, and `evaluate`
    # then refused its scores (the notebook's train() already asked for fit())
    config_path = make_task(config={"label_model": {"name": "mv", "params": make_task.DELETE}})
    assert cli("apply", config_path, "--no-progress").exit_code == 0
    assert cli("fit", config_path).exit_code == 0
    path = config_path.parent / "dev.csv"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace(",spam\n", ",ham\n", 1), encoding="utf-8")
    one_error_line(cli("train", config_path), "dev.csv: the dev gold changed since the last fit",
                   "run `labeling fit` before `labeling train`")


def _fitted(make_task):
    """A tiny task after `labeling apply` and `labeling fit` (majority vote), loaded."""
    from labeling import pipeline

    config_path = make_task(config={"label_model": {"name": "mv", "params": make_task.DELETE}})
    assert cli("apply", config_path, "--no-progress").exit_code == 0
    assert cli("fit", config_path).exit_code == 0
    return config_path, pipeline.load_task(config_path)


def test_train_after_a_dev_annotation_names_the_annotations_not_dev_csv(make_task):
    # found in review: an annotation given in the app was blamed on dev.csv
    config_path, task = _fitted(make_task)
    annotate_first_row(task, "dev")
    one_error_line(cli("train", config_path), str(task.config.annotations_path),
                   "the dev gold changed since the last fit", "run `labeling fit`")


def test_train_after_a_train_row_annotation_asks_for_apply(make_task):
    # found in review: it said dev.csv changed and asked for fit, which then asked for apply
    config_path, task = _fitted(make_task)
    annotate_first_row(task, "train", label=1)
    one_error_line(cli("train", config_path), "does not match the current train data",
                   "run `labeling apply` and `labeling fit` again")


def test_the_rows_digest_is_computed_once_per_loaded_frame(make_task, monkeypatch):
    # found in review: ~3.7 s on 500k rows at every read of the votes
    import pandas as pd

    from labeling import artifacts, pipeline

    task = pipeline.load_task(make_task())
    calls = []
    real = pd.util.hash_pandas_object
    monkeypatch.setattr(pd.util, "hash_pandas_object",
                        lambda *a, **k: calls.append(1) or real(*a, **k))
    first = artifacts.rows_digests(task)
    assert artifacts.rows_digests(task) == first and len(calls) == 3  # one per split
    task.splits["dev"] = task.splits["dev"].assign(text="edited")  # a new frame: hashed
    assert artifacts.rows_digests(task)["dev"] != first["dev"] and len(calls) == 4


def test_train_after_a_gold_edit_with_an_unreadable_annotations_record_names_dev_csv(make_task):
    # found in the final review: the "was it an annotation?" check read the record
    # with json.loads unguarded (a traceback), where evaluate's check skipped it
    config_path = make_task(config={"label_model": {"name": "mv", "params": make_task.DELETE}})
    assert cli("apply", config_path, "--no-progress").exit_code == 0
    assert cli("fit", config_path).exit_code == 0
    (config_path.parent / "run" / "annotations_used.json").write_text("{half", encoding="utf-8")
    path = config_path.parent / "dev.csv"
    path.write_text(path.read_text(encoding="utf-8").replace(",spam\n", ",ham\n", 1),
                    encoding="utf-8")
    one_error_line(cli("train", config_path), "dev.csv: the dev gold changed since the last fit")
