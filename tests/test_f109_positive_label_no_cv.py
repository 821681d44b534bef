"""`labeling fit` refuses a positive_label no dev gold row has only when a dev CV would
choose by its F1 (label model auto: 2 or more dev gold rows; the end model: n_folds or
more): with fewer rows nothing is chosen by it, and the fit went on (labeling.pipeline)."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from conftest import default_frames  # noqa: E402
from labeling import pipeline  # noqa: E402
from labeling.errors import LabelingError  # noqa: E402
from labeling.train.auto import end_model_cv_runs  # noqa: E402


def _ham_dev(rows: int) -> pd.DataFrame:
    dev = default_frames()["dev"]
    return dev[dev["label"] == "ham"].head(rows).reset_index(drop=True)


def _task(make_task, rows, label_model="mv", end_params=None):
    config = make_task(dev=_ham_dev(rows), config={
        "label_model": {"name": label_model, "params": make_task.DELETE},
        "end_model": {"name": "tfidf_logreg", "params": end_params or {}}})
    task = pipeline.load_task(config)
    pipeline.step_apply(task, progress=False)
    return task


@pytest.mark.parametrize("rows, end_params", [(1, None), (2, None), (3, {"n_folds": 4})])
def test_no_dev_cv_no_refusal(make_task, rows, end_params):
    task = _task(make_task, rows, end_params=end_params)
    pipeline.step_fit(task)  # before: "positive_label: F1 of class 'spam' cannot be measured"
    pipeline.step_train(task)
    assert "cv" not in pipeline.read_metrics(task.run_dir)["end_model"]


@pytest.mark.parametrize("rows, label_model", [(2, "auto"), (3, "mv")])
def test_a_dev_cv_still_refuses_it(make_task, rows, label_model):
    task = _task(make_task, rows, label_model)
    with pytest.raises(LabelingError, match=r"labeling\.toml: positive_label: F1 of class "
                                            r"'spam' cannot be measured: no dev gold row"):
        pipeline.step_fit(task)


def test_end_model_cv_runs():
    assert not end_model_cv_runs("tfidf_logreg", {}, 2)
    assert end_model_cv_runs("auto", {}, 3)
    assert not end_model_cv_runs("auto", {"n_folds": 5}, 4)
    assert not end_model_cv_runs("minilm_finetune", {}, 100)  # fit once, never CV
