"""The notebook API as a notebook user drives it: cells re-run after editing files,
steps called out of order or with wrong arguments, and what a session shows as its repr."""

import pandas as pd
import pytest

from labeling.errors import LabelingError
from labeling.session import Session

MV = {"label_model": {"name": "mv", "params": None}}


@pytest.fixture
def session(make_task):
    return Session(make_task(config={"label_model": {"name": "mv",
                                                     "params": make_task.DELETE}}))


def test_fit_after_editing_the_dev_gold_in_the_data_file_scores_the_new_gold(session):
    session.apply()
    before = session.fit()["label_model"]["accuracy"]
    dev_file = session.task.config.resolve(session.task.config.data.dev)
    dev = pd.read_csv(dev_file)
    dev["label"] = dev["label"].map({"spam": "ham", "ham": "spam"})  # every gold flipped
    dev.to_csv(dev_file, index=False)
    after = session.fit()["label_model"]["accuracy"]  # the same cell, re-run
    fresh = Session(session.task.config.source).fit()["label_model"]["accuracy"]
    assert after == pytest.approx(fresh) and after != pytest.approx(before)
    assert session.examples("kw_spam", "wrong")["gold"].eq("ham").all()


def test_a_session_shows_as_one_line(session):
    text = repr(session)
    assert text.startswith("Session('tiny': 3 LFs, 2 labels; config ") and "\n" not in text
    assert str(session.task.run_dir) in text and len(text) < 300


def test_apply_takes_one_lf_name_as_a_string(session):
    full = session.apply()
    assert (session.apply(lfs="kw_spam")["dev"] == full["dev"]).all()  # before: no LF 'k', 'w'
    with pytest.raises(LabelingError, match="^no LF named 'nope'; the task's LFs: kw_spam"):
        session.apply(lfs="nope")


def test_examples_refuses_other_without_conflicts(session):
    session.apply()
    session.fit()
    with pytest.raises(LabelingError, match="other='kw_ham' is for kind='conflicts', not 'wrong'"):
        session.examples("kw_spam", "wrong", other="kw_ham")  # before: other was ignored


def test_examples_refuses_other_without_conflicts_on_a_multilabel_task(tmp_path):
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).parent))
    from test_multilabel_loop import write_project

    session = Session(write_project(tmp_path))
    session.apply()
    session.fit()
    with pytest.raises(LabelingError, match="other='kw_anger' is for kind='conflicts'"):
        session.examples("kw_joy", "wrong", other="kw_anger")  # before: an empty table


def _flip_dev_gold(session):
    dev_file = session.task.config.resolve(session.task.config.data.dev)
    dev = pd.read_csv(dev_file)
    dev["label"] = dev["label"].map({"spam": "ham", "ham": "spam"})
    dev.to_csv(dev_file, index=False)


def test_lf_summary_after_editing_the_dev_gold_refuses_the_old_accuracies(session):
    session.apply()
    session.fit()
    before = session.lf_summary()["dev_accuracy"]
    _flip_dev_gold(session)
    with pytest.raises(LabelingError, match=r"lf_summary.csv: the dev gold changed since it "
                                            r"was written .*; call fit\(\) again$"):
        session.lf_summary()  # before: the old gold's dev accuracies
    session.fit()
    after = session.lf_summary()["dev_accuracy"]
    covered = before > 0
    assert (after[covered] - (1 - before[covered])).abs().max() < 1e-9  # every gold flipped
    _flip_dev_gold(session)  # back; an apply (no fit) rewrites the summary too
    with pytest.raises(LabelingError, match="the dev gold changed"):
        session.lf_summary()
    session.apply()
    assert (session.lf_summary()["dev_accuracy"] - before).abs().max() < 1e-9


def test_the_session_task_shows_as_one_line(session):
    assert repr(session.task) == "Task('tiny': 3 LFs; rows: train 32, dev 8, test 8)"


def test_after_a_train_row_is_added_summary_and_examples_name_the_call_to_make(session):
    session.apply()
    session.fit()
    train_file = session.task.config.resolve(session.task.config.data.train)
    train = pd.read_csv(train_file)
    pd.concat([train, train.iloc[[0]].assign(id="new")]).to_csv(train_file, index=False)
    match = r"L.parquet: does not match the current train data; call apply\(\) \(`labeling apply`\)"
    with pytest.raises(LabelingError, match=match):
        session.lf_summary()  # before: the old rows' coverage, as if current
    with pytest.raises(LabelingError, match=match):
        session.examples("kw_spam", split="train")  # before: "run `labeling apply`"
    session.apply()
    assert len(session.lf_summary()) == 3


def test_multilabel_lf_summary_after_editing_the_dev_gold_refuses_the_old_precision(tmp_path):
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).parent))
    from test_multilabel_loop import write_project

    session = Session(write_project(tmp_path))
    session.apply()
    before = session.lf_summary()
    dev_file = session.task.config.resolve(session.task.config.data.dev)
    dev = pd.read_csv(dev_file, dtype=str, keep_default_na=False)
    dev["labels"] = "neutral"
    dev.to_csv(dev_file, index=False)
    with pytest.raises(LabelingError, match=r"lf_analysis.csv: the dev gold changed since it "
                                            r"was written .*; call apply\(\) again$"):
        session.lf_summary()  # before: the old gold's dev precision
    session.apply()
    after = session.lf_summary()
    assert not after["dev_precision"].equals(before["dev_precision"])


def test_train_after_editing_the_dev_gold_asks_for_fit_first(session):
    session.apply()
    session.fit()
    dev_file = session.task.config.resolve(session.task.config.data.dev)
    dev = pd.read_csv(dev_file)
    dev.loc[:1, "label"] = dev.loc[:1, "label"].map({"spam": "ham", "ham": "spam"})
    dev.to_csv(dev_file, index=False)
    with pytest.raises(LabelingError, match=r"dev.csv: the dev gold changed since the last "
                                            r"fit, .*; call fit\(\) \(`labeling fit`\) "
                                            r"before train\(\)$"):
        session.train()  # before: trained on the old gold's fit, then evaluate() refused
    session.fit()
    assert "dev" in session.train()


def test_an_edit_that_keeps_the_files_modification_time_is_seen(session):
    # found in review: the reload compared modification times only, so an edit within
    # one timestamp tick (or a file copied in keeping its time) was missed
    import os

    session.apply()
    before = session.fit()["label_model"]["accuracy"]
    dev_file = session.task.config.resolve(session.task.config.data.dev)
    stat = dev_file.stat()
    dev = pd.read_csv(dev_file)
    dev.loc[:0, "label"] = dev.loc[:0, "label"].map({"spam": "ham", "ham": "spam"})
    dev.to_csv(dev_file, index=False)  # one label flipped: one byte longer or shorter
    os.utime(dev_file, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # the old time back
    assert dev_file.stat().st_mtime_ns == stat.st_mtime_ns
    session.apply()
    assert session.fit()["label_model"]["accuracy"] != before
