"""The notebook API: the CLI's steps in memory, same artifacts, test kept out of the loop."""

import numpy as np
import pandas as pd
import pytest

from labeling.errors import LabelingError
from labeling.session import Session


@pytest.fixture
def session(make_task):
    return Session(make_task(config={"label_model": {"name": "mv",
                                                     "params": make_task.DELETE}}))


def test_steps_in_memory_write_the_cli_artifacts(session):
    matrices = session.apply()
    assert set(matrices) == {"train", "dev", "test"}
    on_disk = pd.read_parquet(session.task.run_dir / "L.parquet")
    assert np.array_equal(on_disk.xs("dev", level="split").to_numpy(), matrices["dev"])
    summary = session.lf_summary()
    assert list(summary.index) == session.lf_names and "dev_accuracy" in summary
    scores = session.fit()
    assert set(scores) == {"label_model", "majority_vote"}
    assert "accuracy" in scores["label_model"]
    assert "test" not in str(scores)  # the loop never shows test
    trained = session.train()
    assert "test" not in trained and "dev" in trained
    final = session.evaluate()
    assert "test_accuracy" in final.columns and "end_model" in final.index
    assert (session.export() / "model_card.json").is_file()


def test_examples_where_an_lf_fires_is_wrong_or_conflicts(session):
    session.apply()
    session.fit()
    fires = session.examples("kw_spam")
    dev = session.task.splits["dev"]
    expected = dev["text"].str.contains("subscribe|channel|free")
    assert fires["id"].tolist() == dev["id"][expected].tolist()
    assert {"gold", "label_model", "p_spam", "kw_ham", "long_text"} <= set(fires.columns)
    wrong = session.examples("kw_spam", "wrong")
    assert (wrong["gold"] != "spam").all() and set(wrong["id"]) <= set(fires["id"])
    conflicts = session.examples("kw_spam", "conflicts", other="kw_ham")
    assert ((conflicts["kw_spam"] == "spam") & (conflicts["kw_ham"] == "ham")).all()
    with pytest.raises(LabelingError, match="no LF named 'nope'"):
        session.examples("nope")
    # the LF loop reads train and dev; test is for the final score (before: shown, gold too)
    for kind in ("fires", "wrong"):
        with pytest.raises(LabelingError, match="the test split is for the final score"):
            session.examples("kw_spam", kind, split="test")
    assert len(session.examples("kw_spam", split="train"))


def test_apply_some_lfs_keeps_the_other_columns(session, tmp_path):
    with pytest.raises(LabelingError, match="full apply"):
        session.apply(lfs=["kw_spam"])
    full = session.apply()
    lfs_file = session.task.config.base_dir / "lfs.py"
    lfs_file.write_text(lfs_file.read_text().replace('["song", "love"]', '["love"]'))
    session.reload()
    part = session.apply(lfs=["kw_spam"])  # kw_ham's edit is not applied
    assert np.array_equal(part["dev"], full["dev"])
    changed = session.apply(lfs=["kw_ham"])
    j = session.lf_names.index("kw_ham")
    assert not np.array_equal(changed["train"][:, j], full["train"][:, j])
    with pytest.raises(LabelingError, match="no LF named 'nope'"):
        session.apply(lfs=["nope"])


def test_reload_picks_up_an_edited_helper_module(make_task):
    helper = "WORDS = ['subscribe']\n"
    lfs = ("from labeling import keyword_lf\nfrom spam_words import WORDS\n"
           "kw = keyword_lf(WORDS, label=1, name='kw')\n"
           "kw2 = keyword_lf(['song'], label=0, name='kw2')\n")
    path = make_task(lf_source=lfs, files={"spam_words.py": helper},
                     config={"lfs": ["lfs.py"],
                             "label_model": {"name": "mv", "params": make_task.DELETE}})
    import sys
    sys.path.insert(0, str(path.parent))
    try:
        session = Session(path)
        before = session.apply()["train"][:, 0].copy()
        (path.parent / "spam_words.py").write_text("WORDS = ['subscribe', 'free']\n")
        after = session.reload().apply()["train"][:, 0]
        assert (after != -1).sum() > (before != -1).sum()
    finally:
        sys.path.remove(str(path.parent))
        sys.modules.pop("spam_words", None)
