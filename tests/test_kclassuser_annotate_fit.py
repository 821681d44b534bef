"""A dev row labeled in the app and then `labeling fit` (no apply in between): fit scores
against the annotated gold, so the app must show that gold too, with no warning that
the gold changed since the fit (it said "run `labeling fit` again", which changed
nothing: only `apply` recorded the annotations the app rebuilds the run's gold from)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from labeling import pipeline  # noqa: E402
from labeling.gold import AnnotationStore  # noqa: E402
from labeling.review.project import gold_drift, load_run  # noqa: E402


def test_fit_after_an_annotation_is_what_the_app_shows(make_task):
    config_path = make_task(config={"label_model": {"name": "mv", "params": make_task.DELETE}})
    task = pipeline.load_task(config_path)
    pipeline.step_apply(task, progress=False)
    pipeline.step_fit(task)
    dev_id = task.splits["dev"]["id"][0]
    flipped = 1 - int(task.splits["dev"]["label"][0])
    AnnotationStore(task.config.annotations_path).set(
        "tiny", dev_id, flipped, split="dev", label_name=task.config.labels[flipped])

    task = pipeline.load_task(config_path)  # as `labeling fit` loads it
    pipeline.step_fit(task)
    run = load_run(config_path.parent)
    assert run.frames["dev"].set_index("id")["label"][dev_id] == flipped
    assert gold_drift(run) is None


def test_multi_label_fit_after_an_annotation_is_what_the_app_shows(tmp_path):
    from test_multilabel_loop import write_project

    from labeling import multilabel_steps
    from labeling.review.ml_project import load_multilabel_run

    config = write_project(tmp_path / "p")
    task = pipeline.load_task(config)
    multilabel_steps.step_apply(task)
    multilabel_steps.step_fit(task)
    dev_id = task.splits["dev"]["id"][0]
    labels = task.config.labels
    AnnotationStore(task.config.annotations_path).set_label_set(
        "ml", dev_id, [0, 1], split="dev", labels=labels)

    task = pipeline.load_task(config)  # as `labeling fit` loads it
    multilabel_steps.step_fit(task)
    run = load_multilabel_run(config.parent)
    assert gold_drift(run) is None
