"""A train row labeled in the app moves to dev on the next run; the app must still know
it is labeled, and a correction made there must reach the run after.

Before (found by the reviewer walkthrough, helper-h74): annotations are keyed by the
split the row was labeled in (train), but after the run the app shows the row in dev, and
read and wrote its label under dev: its pages said "Your label: none yet", the annotate
page offered it again as unlabeled, and a correction was saved as a dev row that the next
run ignored (the row moved again with its old train label) -- the correction was lost.
"""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from labeling import pipeline
from labeling.gold import AnnotationStore
from labeling.review import slices
from labeling.review.project import load_run

ENTRY = str(Path(__file__).resolve().parents[1] / "app" / "streamlit_app.py")


def _store(config: Path, monkeypatch) -> AnnotationStore:
    """The task's own annotations.sqlite, which the runs read, for the app too."""
    path = config.parent / "annotations.sqlite"
    monkeypatch.setenv("LABELING_ANNOTATIONS", str(path))
    return AnnotationStore(path)


def _rerun(config: Path) -> None:
    pipeline.run(pipeline.load_task(config), progress=False)


def _detail(dev_id: str) -> AppTest:
    at = AppTest.from_file(ENTRY, default_timeout=60)
    at.run()
    at.switch_page("views/example.py").run()
    at.selectbox(key="detail_select").set_value(("dev", dev_id)).run()
    assert not at.exception and not at.error, (at.exception, [e.value for e in at.error])
    return at


def test_a_moved_train_row_keeps_its_label_and_a_correction_reaches_the_next_run(
        tiny_app_project, monkeypatch):
    config = tiny_app_project
    store = _store(config, monkeypatch)
    train_id = str(load_run(config).frames["train"]["id"].iloc[0])
    store.set("tiny", train_id, 1, split="train", label_name="spam")  # labeled, then a run
    _rerun(config)
    run = load_run(config)
    dev_id = train_id  # moved to dev under its own id (no dev row has it)
    assert int(run.frames["dev"].set_index("id").at[dev_id, "label"]) == 1

    at = _detail(dev_id)
    assert any("Your label: **spam**" in c.value for c in at.caption)  # was: none yet
    at.button(key="detail_ann-0").click().run()  # corrected to ham
    assert not at.exception and not at.error
    table = store.table("tiny")
    assert len(table) == 1  # the train row replaced, no dev row beside it
    assert (table["split"].iloc[0], table["label_name"].iloc[0]) == ("train", "ham")

    _rerun(config)  # the correction is the gold the next run uses
    rerun = load_run(config)
    assert int(rerun.frames["dev"].set_index("id").at[dev_id, "label"]) == 0


def test_the_annotate_page_counts_a_moved_row_as_labeled(tiny_app_project, monkeypatch):
    config = tiny_app_project
    store = _store(config, monkeypatch)
    train_ids = load_run(config).frames["train"]["id"].astype(str).tolist()
    for train_id in train_ids[:4]:  # spam texts labeled ham: the label model is wrong on them
        store.set("tiny", train_id, 0, split="train", label_name="ham")
    _rerun(config)
    run = load_run(config)
    moved = set(train_ids[:4])  # in dev now, under their own ids
    assert moved <= set(run.frames["dev"]["id"])
    name, ids = next((n, slices.slice_ids(run, "dev", n)) for n in slices.SLICES
                     if set(slices.slice_ids(run, "dev", n)) & moved)
    labeled = len(set(ids) & moved)

    at = AppTest.from_file(ENTRY, default_timeout=60)
    at.run()
    at.switch_page("views/annotate.py").run()
    at.selectbox(key="ann_split").select("dev").run()
    at.selectbox(key="ann_slice").select(name).run()
    assert not at.exception and not at.error
    progress = at.get("progress")[0].proto.text
    assert progress == f"{labeled} of {len(ids)} examples in this slice labeled"  # was 0 of


def test_multilabel_a_moved_train_row_keeps_its_set_and_a_correction_reaches_the_next_run(
        tmp_path, monkeypatch):
    """The same on a multi-label task (the GoEmotions sample of test_app_multilabel)."""
    import sys

    from labeling import multilabel_steps

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from test_app_multilabel import LABELS, _project

    config = _project(tmp_path / "ml")
    monkeypatch.setenv("LABELING_PROJECT", str(config))
    monkeypatch.delenv("LABELING_RUN_DIR", raising=False)
    store = _store(config, monkeypatch)
    train_id = str(pipeline.load_task(config).splits["train"]["id"].iloc[0])
    fear, joy = LABELS.index("fear"), LABELS.index("joy")
    store.set_label_set("goemotions_ekman", train_id, [fear], split="train", labels=LABELS)
    multilabel_steps.run(pipeline.load_task(config), export=False)

    at = AppTest.from_file(ENTRY, default_timeout=120)
    at.run()
    at.switch_page("views/ml_example.py").run()
    at.selectbox(key="ml_detail_select").set_value(("dev", train_id)).run()
    assert not at.exception and not at.error, (at.exception, [e.value for e in at.error])
    assert any("your saved label set" in c.value for c in at.caption)  # was: label model's
    boxes = {c.label: c for c in at.checkbox}
    assert boxes["fear"].value and not boxes["joy"].value
    boxes["fear"].uncheck()
    boxes["joy"].check()
    at.button(key=f"ml_detail_ann-dev-{train_id}-save").click().run()
    assert not at.exception and not at.error
    table = store.table("goemotions_ekman")
    assert len(table) == 1  # the train row replaced, no dev row beside it
    assert (table["split"].iloc[0], table["label_name"].iloc[0]) == ("train", "joy")

    multilabel_steps.run(pipeline.load_task(config), export=False)
    from labeling.review.ml_project import load_multilabel_run

    dev = load_multilabel_run(config).frames["dev"].set_index("id")
    assert tuple(dev.at[train_id, "label"]) == (joy,)  # was: (fear,), the correction lost
