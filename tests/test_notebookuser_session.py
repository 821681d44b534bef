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
