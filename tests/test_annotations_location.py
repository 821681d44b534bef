"""Where annotations live (found by h92): the app's --annotations / LABELING_ANNOTATIONS
store was written by the app but never read by a run, the app's own Run pipeline page
included, so a team's labels never became dev gold. Now labeling.toml's `annotations`
names the store for the CLI and the app alike, and the app's Run pipeline page reads
the store the app writes."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from conftest import cli  # noqa: E402
from labeling import pipeline  # noqa: E402
from labeling.gold import AnnotationStore  # noqa: E402
from labeling.review.runner import run_pipeline  # noqa: E402

def _annotate(path: Path, task) -> None:
    dev = task.splits["dev"]
    flipped = 1 - int(dev["label"][0])
    AnnotationStore(path).set(task.config.name, dev["id"][0], flipped, split="dev",
                              label_name=task.config.labels[flipped], text=dev["text"][0])


def test_the_config_names_the_annotation_store(make_task):
    path = make_task(config={"annotations": "shared/team.sqlite",
                             "label_model": {"name": "mv", "params": make_task.DELETE}})
    task = pipeline.load_task(path)
    assert task.config.annotations_path == path.parent / "shared" / "team.sqlite"
    _annotate(task.config.annotations_path, task)
    task = pipeline.load_task(path)
    assert task.annotation_report, task.annotation_report
    gold = task.gold("dev")
    assert int(gold[0]) != int(pipeline.load_task(path, annotations=path.parent / "none.sqlite")
                               .gold("dev")[0])
    assert cli("apply", path).exit_code == 0


def test_the_apps_run_reads_the_store_the_app_writes(make_task, tmp_path):
    path = make_task(config={"label_model": {"name": "mv", "params": make_task.DELETE}})
    store = tmp_path / "elsewhere" / "annotations.sqlite"
    task = pipeline.load_task(path)
    _annotate(store, task)
    plain = pipeline.load_task(path)
    moved = pipeline.load_task(path, annotations=store)
    assert int(moved.gold("dev")[0]) != int(plain.gold("dev")[0])
    run_pipeline(path, annotations=store)
    used = json.loads((task.run_dir / "annotations_used.json").read_text())
    assert used and any(used.values()), used


def test_the_apps_suggest_page_reads_the_store_the_app_writes(make_task, tmp_path):
    """After the app's Run pipeline moved an annotated train row to dev, its Suggest
    page loaded the task with the config's store and stopped with "L.parquet: does not
    match the current train data" (r100)."""
    from labeling.review.suggestions import propose

    path = make_task(config={"label_model": {"name": "mv", "params": make_task.DELETE}})
    store = tmp_path / "elsewhere" / "annotations.sqlite"
    task = pipeline.load_task(path)
    train = task.splits["train"]
    AnnotationStore(store).set(task.config.name, train["id"][0], 1, split="train",
                               label_name="spam", text=train["text"][0])
    run_pipeline(path, annotations=store)
    proposals, _ = propose(path, annotations=store, embeddings=False)
    assert proposals is not None
