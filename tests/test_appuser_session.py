"""The notebook API used out of order, and after an edit, as a new user does.

Each step called too early stops with one line naming the Session call to make first;
an LF saved since the Session loaded is what the next step runs (no ``reload()``
needed), and nothing computed from the old LFs or an old fit is shown as current.
"""

from __future__ import annotations

import numpy as np
import pytest

from labeling.errors import LabelingError
from labeling.session import Session


@pytest.fixture
def session(make_task):
    return Session(make_task(config={"label_model": {"name": "mv",
                                                     "params": make_task.DELETE}}))


def _edit(session, old: str, new: str) -> None:
    path = session.task.config.base_dir / "lfs.py"
    path.write_text(path.read_text().replace(old, new))


def test_each_step_too_early_names_the_call_to_make_first(session):
    with pytest.raises(LabelingError, match=r"call apply\(\) before lf_summary\(\)"):
        session.lf_summary()
    with pytest.raises(LabelingError, match=r"call apply\(\)"):
        session.fit()
    session.apply()
    for step in ("train", "evaluate", "examples"):
        call = getattr(session, step)
        with pytest.raises(LabelingError, match=rf"call fit\(\) before {step}\(\)"):
            call("kw_spam") if step == "examples" else call()
    session.fit()
    with pytest.raises(LabelingError, match=r"call train\(\) before evaluate\(\)"):
        session.evaluate()  # was: a table without the end model, as if final
    with pytest.raises(LabelingError, match=r"call train\(\)"):
        session.export()
    session.train()
    assert "end_model" in session.evaluate().index
    session.fit()  # the same probabilities again (7d660a4): the end model stays current
    assert "end_model" in session.evaluate().index
    _edit(session, '["song", "love"]', '["love"]')
    session.apply()
    session.fit()  # other votes, other probabilities: the end model is the previous fit's
    with pytest.raises(LabelingError, match=r"call train\(\) before evaluate\(\)"):
        session.evaluate()


def test_an_edited_lf_is_applied_without_reload(session):
    before = session.apply()
    j = session.lf_names.index("kw_ham")
    assert (before["train"][:, j] != -1).any()
    _edit(session, '["song", "love"]', '["zzzz"]')
    after = session.apply()  # was: the LF as loaded, before the edit
    assert (after["train"][:, j] == -1).all()


def test_nothing_from_an_old_apply_or_fit_is_shown_as_current(session):
    session.apply()
    session.fit()
    session.train()
    _edit(session, '["song", "love"]', '["love"]')
    for step in ("lf_summary", "examples"):  # the LF changed since the apply
        call = getattr(session, step)
        with pytest.raises(LabelingError, match=rf"changed: kw_ham.*call apply\(\).*{step}\(\)"):
            call("kw_ham") if step == "examples" else call()
    session.apply()
    with pytest.raises(LabelingError, match=r"probs.parquet: older than the last `labeling "
                                            r"apply`; call fit\(\) \(`labeling fit`\) before "
                                            r"train\(\)"):
        session.train()  # was: an end model trained on the old fit's labels
    with pytest.raises(LabelingError, match=r"call fit\(\) \(`labeling fit`\) before "
                                            r"evaluate\(\)"):
        session.evaluate()
    session.fit()
    assert len(session.examples("kw_ham")) > 0


def test_an_lf_removed_since_the_apply(session):
    session.apply()
    session.fit()
    _edit(session, 'ham_words = keyword_lf(["song", "love"], label=HAM, name="kw_ham")\n', "")
    with pytest.raises(LabelingError, match=r"no LF named 'kw_ham'; the task's LFs: kw_spam, long_text"):
        session.examples("kw_ham")  # was: the removed LF's votes from the old run
    with pytest.raises(LabelingError, match=r"gone: kw_ham.*call apply\(\)"):
        session.lf_summary()  # was: the old table, kw_ham included
    with pytest.raises(LabelingError, match=r"gone: kw_ham.*call apply\(\)"):
        session.examples("kw_spam")
    session.apply()
    session.fit()
    assert list(session.lf_summary().index) == ["kw_spam", "long_text"]
    assert np.isin(session.examples("kw_spam").columns, ["kw_ham"]).sum() == 0


def test_multi_label_steps_out_of_order_and_a_stale_end_model(tmp_path):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from test_multilabel_loop import write_project

    session = Session(write_project(tmp_path / "p"))
    with pytest.raises(LabelingError, match=r"call fit\(\) \(`labeling fit`\) first$"):
        session.evaluate()  # was: "call fit() ... (Session.fit()) first", said twice
    session.apply()
    with pytest.raises(LabelingError, match=r"call fit\(\) before examples\(\)"):
        session.examples("kw_joy")  # was: "missing probs.parquet"
    session.fit()
    with pytest.raises(LabelingError, match=r"call train\(\) before evaluate\(\)"):
        session.evaluate()  # was: the label models' rows only, as if final
    session.train()
    assert "end_model" in session.evaluate().index
    _edit(session, '["today", "now"]', '["today"]')  # new votes: the fit is the old ones'
    session.apply()
    with pytest.raises(LabelingError, match=r"call fit\(\) \(`labeling fit`\) before train\(\)"):
        session.train()  # was: an end model trained on the previous fit's label sets
    session.fit()
    with pytest.raises(LabelingError, match=r"call train\(\) before evaluate\(\)"):
        session.evaluate()  # was: the previous end model's scores, unmarked


def test_an_unknown_other_lf_is_named_with_the_task_lfs(session):
    session.apply()
    session.fit()
    with pytest.raises(LabelingError, match=r"no LF named 'nope' \(other\); the task's LFs: "
                                       r"kw_spam, kw_ham, long_text"):
        session.examples("kw_spam", "conflicts", other="nope")
