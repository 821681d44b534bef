"""The review app never shows a run's results as current after the LFs changed.

A new user removes or edits an LF and opens (or reruns) the app before running the
pipeline again: every page must say the LF table, votes and scores are the last run's,
naming the LFs that changed, instead of listing a removed LF as if it still voted.
Likewise an in-sample score is never shown as an estimate (the End model page on dev).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

sys.path.insert(0, str(Path(__file__).parent))
from test_multilabel_loop import LABELS, write_project  # noqa: E402

from labeling import pipeline  # noqa: E402

ENTRY = str(Path(__file__).resolve().parents[1] / "app" / "streamlit_app.py")
PAGES = ("overview", "lfs", "conflicts", "slices", "example", "end_model", "annotate")


@pytest.fixture
def project(tiny_app_project) -> Path:
    return tiny_app_project


def _open(page: str | None = None) -> AppTest:
    at = AppTest.from_file(ENTRY, default_timeout=60)
    at.run()
    if page:
        at.switch_page(f"views/{page}.py").run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return at


def _stale_warnings(at: AppTest) -> list[str]:
    return [w.value for w in at.warning if "changed since this run" in w.value]


def _changed(at: AppTest) -> list[str]:
    """What the expander under the stale warning lists (the LFs' names)."""
    return [m.value.replace("\\", "") for e in at.expander  # Markdown-escaped: kw\\_ham
            if e.label == "Which LFs changed" for m in e.markdown]


def test_a_fresh_run_has_no_stale_warning(project):
    at = _open()
    for page in PAGES:
        at.switch_page(f"views/{page}.py").run()
        assert not at.exception and not _stale_warnings(at), page


def test_a_removed_lf_marks_every_page_as_the_old_run(project):
    lfs = project.parent / "lfs.py"
    lfs.write_text(lfs.read_text().replace(
        'ham_words = keyword_lf(["song", "love"], label=HAM, name="kw_ham")\n', ""))
    at = _open()
    for page in PAGES:
        at.switch_page(f"views/{page}.py").run()
        assert not at.exception, (page, at.exception)
        warnings = _stale_warnings(at)
        assert len(warnings) == 1 and warnings[0].startswith("1 of the task's LFs"), page
        assert "labeling run" in warnings[0] and "kw" not in warnings[0], warnings
        assert len(_changed(at)) == 1 and "gone: kw" in _changed(at)[0], page


def test_an_lf_edited_while_the_app_is_open_is_noticed_on_the_next_rerun(project):
    at = _open("lfs")
    assert not _stale_warnings(at)
    lfs = project.parent / "lfs.py"
    lfs.write_text(lfs.read_text().replace('["song", "love"]', '["love"]'))
    at.run()
    warnings = _stale_warnings(at)
    assert len(warnings) == 1 and warnings[0].startswith("1 of the task's LFs changed")
    changed = _changed(at)
    assert len(changed) == 1 and "changed: kw" in changed[0] and "ham" in changed[0]


def test_the_end_model_page_says_a_dev_score_is_in_sample(make_task, tmp_path, monkeypatch):
    """A task without a test split: the End model page can only show dev, which trained
    the end model. Before: 'accuracy 1.000' and 'gets every example right', unmarked."""
    config = make_task(test=False, config={
        "label_model": {"name": "mv", "params": make_task.DELETE},
        "data": {"test": make_task.DELETE}})
    pipeline.run(pipeline.load_task(config), progress=False)
    monkeypatch.setenv("LABELING_PROJECT", str(config))
    monkeypatch.setenv("LABELING_ANNOTATIONS", str(tmp_path / "annotations.sqlite"))
    at = _open("end_model")
    assert any("(in-sample)" in c.value for c in at.caption)
    assert any("In-sample" in w.value for w in at.warning)


@pytest.fixture
def ml_project(tmp_path, monkeypatch) -> Path:
    """The multi-label loop's tiny task (labels: test_multilabel_loop.LABELS) run once,
    with the app's environment pointing at it; returns the config path."""
    from labeling import multilabel_steps

    config = write_project(tmp_path / "ml")
    multilabel_steps.run(pipeline.load_task(config), export=False)
    monkeypatch.setenv("LABELING_PROJECT", str(config))
    monkeypatch.delenv("LABELING_RUN_DIR", raising=False)
    monkeypatch.setenv("LABELING_ANNOTATIONS", str(tmp_path / "annotations.sqlite"))
    return config


def test_a_multi_label_run_with_an_lf_added_since(ml_project):
    config = ml_project
    at = _open()
    assert not _stale_warnings(at)
    lfs = config.parent / "lfs.py"
    lfs.write_text(lfs.read_text() + "\nextra = for_label('joy', keyword_lf(['meh'], "
                   "label=APPLIES, name='kw_meh'))\n")
    at.run()
    warnings = _stale_warnings(at)
    assert len(warnings) == 1 and warnings[0].startswith("1 of the task's LFs changed")
    assert len(_changed(at)) == 1 and "new: kw" in _changed(at)[0] and "meh" in _changed(at)[0]


def test_labels_reordered_since_the_run_offer_a_new_run(project):
    """Votes are stored as label indices: with the config's labels swapped, the pages
    showed kw_spam voting 'ham' and the label model saying 'ham'. Now the run counts as
    no run, and the app offers to run the pipeline."""
    text = project.read_text()
    project.write_text(text.replace('labels = ["ham", "spam"]', 'labels = ["spam", "ham"]'))
    at = AppTest.from_file(ENTRY, default_timeout=60)
    at.run()
    assert not at.exception
    infos = [i.value for i in at.info]
    assert any("are not the config" in i and "run the pipeline again" in i for i in infos)
    assert at.button(key="run_pipeline")


def test_a_multi_label_run_from_before_a_label_was_added_offers_a_new_run(tmp_path,
                                                                          monkeypatch):
    """Before: the app's error page ('Fix the config ... and reload'), with no way to
    run the pipeline from the app although the config was fine and the run was old."""
    import sys

    from labeling import multilabel_steps

    sys.path.insert(0, str(Path(__file__).parent))
    from test_multilabel_loop import write_project

    config = write_project(tmp_path / "ml")
    multilabel_steps.run(pipeline.load_task(config), export=False)
    text = config.read_text()
    config.write_text(text.replace('labels = ["joy", "anger", "neutral"]',
                                   'labels = ["joy", "anger", "neutral", "surprise"]'))
    assert "surprise" in config.read_text()
    monkeypatch.setenv("LABELING_PROJECT", str(config))
    monkeypatch.setenv("LABELING_ANNOTATIONS", str(tmp_path / "annotations.sqlite"))
    at = AppTest.from_file(ENTRY, default_timeout=60)
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("run the pipeline again" in i.value for i in at.info)
    assert at.button(key="run_pipeline")


def _gold_warnings(at: AppTest) -> list[str]:
    plain = [w.value.replace("\\", "") for w in at.warning]  # Markdown escapes removed
    return [w for w in plain if "gold changed since" in w]


def _flip_first_dev_label(path: Path, column: str, new_value) -> None:
    import pandas as pd

    dev = pd.read_csv(path, dtype=str, keep_default_na=False)
    dev.loc[0, column] = new_value(dev.loc[0, column])
    dev.to_csv(path, index=False)


def test_dev_gold_corrected_in_its_file_while_the_app_is_open(project):
    """The overview showed the run's dev and test scores, computed against the gold the
    file held then, as current after a label in dev.csv was corrected (`labeling
    evaluate` refuses to reprint them): now every page says so, on the next rerun."""
    at = _open()
    for page in PAGES:
        at.switch_page(f"views/{page}.py").run()
        assert not at.exception and not _gold_warnings(at), page
    _flip_first_dev_label(project.parent / "dev.csv", "label",
                          lambda old: "ham" if old == "spam" else "spam")
    at.run()
    (warning,) = _gold_warnings(at)
    assert "dev.csv" in warning and "the dev gold changed" in warning
    assert "labeling fit" in warning and "old gold" in warning
    at.switch_page("views/end_model.py").run()
    assert not at.exception and len(_gold_warnings(at)) == 1


def test_a_multi_label_dev_label_set_corrected_in_its_file(ml_project):
    config = ml_project
    at = _open()
    assert not _gold_warnings(at)
    _flip_first_dev_label(config.parent / "dev.csv", "labels",
                          lambda old: LABELS[0] if old != LABELS[0] else LABELS[1])
    at.run()
    assert len(_gold_warnings(at)) == 1
