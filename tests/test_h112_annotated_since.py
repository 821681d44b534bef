"""A lead's `labeling evaluate` (and export, report) after annotators labeled dev rows in
the app: the scores on disk are the old gold's, and the command stops. Before, its one
line named dev.csv ("dev.csv: the dev gold changed since the last `labeling fit`"), a
file nobody had touched; the change was in annotations.sqlite."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from conftest import annotate_first_row, cli, one_error_line  # noqa: E402
from labeling import pipeline  # noqa: E402


def test_evaluate_names_the_annotations_not_the_untouched_dev_file(make_task):
    config = make_task()
    assert cli("run", config, "--no-progress").exit_code == 0
    annotate_first_row(pipeline.load_task(config), "dev")  # an annotator corrects a dev row
    result = cli("evaluate", config)
    one_error_line(result, f"{config.parent / 'annotations.sqlite'}: annotations given since "
                   "the last `labeling fit` change the dev gold", "run `labeling fit` again")
    assert "dev.csv" not in result.output
    assert cli("run", config, "--no-progress").exit_code == 0
    assert cli("evaluate", config).exit_code == 0  # rescored with the annotation


def test_a_corrected_dev_file_is_still_named(make_task):
    config = make_task()
    assert cli("run", config, "--no-progress").exit_code == 0
    frame = pd.read_csv(config.parent / "dev.csv")
    frame.loc[0, "label"] = "spam" if frame.loc[0, "label"] == "ham" else "ham"
    frame.to_csv(config.parent / "dev.csv", index=False)
    one_error_line(cli("evaluate", config), "dev.csv: the dev gold changed since the last "
                   "`labeling fit`")


def test_the_app_names_the_dev_file_of_a_run_that_used_annotations(make_task):
    """The app's pages rebuild the run's dev split with the annotations it used; a dev.csv
    corrected since is named, not the annotations."""
    from labeling.review.project import gold_drift, load_run

    config = make_task()
    annotate_first_row(pipeline.load_task(config), "dev")
    assert cli("run", config, "--no-progress").exit_code == 0
    assert gold_drift(load_run(config)) is None
    frame = pd.read_csv(config.parent / "dev.csv")
    frame.loc[1, "label"] = "spam" if frame.loc[1, "label"] == "ham" else "ham"
    frame.to_csv(config.parent / "dev.csv", index=False)
    note = gold_drift(load_run(config))
    assert "dev.csv: the dev gold changed since the last `labeling fit`" in note, note
