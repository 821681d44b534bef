"""Annotations made in the app become dev gold in the next run, and the app keeps
showing each run with exactly the gold that run used."""

from labeling import pipeline
from labeling.review.annotations import AnnotationStore
from labeling.review.project import load_run


def test_annotations_become_dev_gold_and_the_app_matches_the_run(make_task):
    config_path = make_task(config={"label_model": {"name": "mv", "params": make_task.DELETE}})
    task = pipeline.load_task(config_path)
    train_id, dev_id = task.splits["train"]["id"][0], task.splits["dev"]["id"][0]
    old_dev_label = int(task.splits["dev"]["label"][0])
    store = AnnotationStore(task.config.annotations_path)
    store.set("tiny", train_id, 1, label_name="spam")
    store.set("tiny", dev_id, 1 - old_dev_label, label_name=task.config.labels[1 - old_dev_label])
    store.set("tiny", "no-such-id", 0, label_name="ham")
    store.set("tiny", task.splits["dev"]["id"][1], 1, label_name="ham")  # stale name: ignored

    task = pipeline.load_task(config_path)
    metrics = pipeline.run(task, progress=False)
    assert metrics["data"]["dev"]["annotations"] == {"dev_overridden": 1, "moved_from_train": 1,
                                                     "ignored": 1}
    assert train_id not in set(task.splits["train"]["id"])
    dev = task.splits["dev"].set_index("id")["label"]
    assert dev[train_id] == 1 and dev[dev_id] == 1 - old_dev_label
    assert metrics["data"]["dev"]["n"] == len(task.splits["dev"])

    # Annotating after the run changes the next run, not how the app shows this one.
    store.set("tiny", task.splits["train"]["id"][0], 0, label_name="ham")
    run = load_run(config_path.parent)
    assert list(run.frames["dev"]["id"]) == list(task.splits["dev"]["id"])
    assert list(run.frames["train"]["id"]) == list(task.splits["train"]["id"])
