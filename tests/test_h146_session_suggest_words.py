"""Session.suggest and its accept/reject in a notebook (h146): like every other step,
suggest() re-reads an LF module saved since the load, and its errors name the call to
make, not the CLI command. Before, suggest() scored proposals against the LFs as they
were at the load (an LF added in the file was not seen) and said "run `labeling
apply` before `labeling suggest`"; reject_suggestion said "run `labeling suggest` first"."""

import pytest

from labeling.errors import LabelingError
from labeling.session import Session

ADDED = '''

@labeling_function()
def kw_added_later(x):
    return SPAM if "subscribe" in x.text else ABSTAIN
'''


@pytest.fixture
def fitted(make_task):
    session = Session(make_task(config={"label_model": {"name": "mv",
                                                        "params": make_task.DELETE}}))
    session.apply()
    session.fit()
    return session


def test_suggest_sees_an_lf_added_since_the_load(fitted):
    lfs = fitted.task.config.base_dir / "lfs.py"
    assert "labeling_function" in lfs.read_text() and "SPAM" in lfs.read_text()
    lfs.write_text(lfs.read_text() + ADDED)
    with pytest.raises(LabelingError) as caught:
        fitted.suggest(n=3, embeddings=False)
    message = str(caught.value)
    assert "kw_added_later" in message and "call apply()" in message, message
    assert "run `labeling" not in message


def test_reject_names_the_call_to_make(fitted):
    with pytest.raises(LabelingError) as caught:
        fitted.reject_suggestion("0123abcd")
    message = str(caught.value)
    assert "call suggest() (`labeling suggest`) first" in message, message
