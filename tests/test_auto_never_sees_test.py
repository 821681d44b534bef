"""The label model ``auto`` never looks at test: poison the test gold, run the real
pipeline (load_task, step_apply, step_fit), and everything but the test score must stay
the same. The end-model twin is tests/test_end_model.py::test_pipeline_auto_never_looks_at_test.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from labeling import pipeline
from labeling.models import AutoLabelModel


def _fit_run(make_task, test: pd.DataFrame):
    config = {"label_model": {"name": "auto", "params": {"epochs": make_task.DELETE,
                                                         "seed": make_task.DELETE}}}
    task = pipeline.load_task(make_task(test=test, config=config))
    pipeline.step_apply(task, progress=False)
    section = pipeline.step_fit(task)["label_model"]
    probs = pd.read_parquet(task.run_dir / pipeline.PROBS_FILE)
    saved = json.loads((task.run_dir / "label_model.json").read_text(encoding="utf-8"))
    return task, section, probs, saved


def test_label_model_auto_never_looks_at_test(make_task):
    frames = make_task.frames()
    poisoned = frames["test"].copy()
    poisoned["label"] = poisoned["label"].map({"spam": "ham", "ham": "spam"})
    poisoned = poisoned.sample(frac=1.0, random_state=0)  # and in another order
    _, clean, clean_probs, clean_saved = _fit_run(make_task, frames["test"])
    task, dirty, dirty_probs, dirty_saved = _fit_run(make_task, poisoned)

    assert clean["chosen"] == dirty["chosen"]
    assert clean["cv_scores"] == dirty["cv_scores"]
    assert clean["dev"] == dirty["dev"]
    assert clean_saved == dirty_saved  # every learned number of the chosen model
    for split in ("train", "dev"):
        pd.testing.assert_frame_equal(clean_probs.xs(split, level="split"),
                                      dirty_probs.xs(split, level="split"))
    assert clean["test"] != dirty["test"]  # the poison did reach the test score

    # And the poison is strong enough to show if test ever reached the choice: auto
    # given the poisoned test rows as extra dev rows scores its candidates differently.
    L = pipeline.read_label_matrices(task)
    y_dev, y_test = task.gold("dev"), task.gold("test")
    leaked = AutoLabelModel(cardinality=2).fit(
        L["train"], y_dev=np.concatenate([y_dev, y_test]),
        L_dev=np.concatenate([L["dev"], L["test"]]))
    assert leaked.cv_scores_ != dirty["cv_scores"]
