"""A snorkel LF that raises on some rows, in a notebook: the error names the call that
counts such rows and abstains there (docs/from_snorkel.md)."""

from __future__ import annotations

import pytest

from labeling.errors import LFError
from labeling.session import Session

FRAGILE = '''\
from labeling import ABSTAIN, labeling_function

HAM, SPAM = 0, 1


@labeling_function()
def channel(x):
    return SPAM if "channel" in x.text else ABSTAIN


@labeling_function()
def fragile(x):
    if "song" in x.text:
        raise ValueError("cannot handle songs")
    return ABSTAIN
'''


def test_an_lf_raising_names_apply_fault_tolerant(make_task):
    session = Session(make_task(lf_source=FRAGILE,
                                config={"label_model": {"name": "mv",
                                                        "params": make_task.DELETE}}))
    with pytest.raises(ValueError) as caught:  # snorkel code catches the LF's own class
        session.apply()
    message = str(caught.value)
    assert isinstance(caught.value, LFError)
    assert "LF 'fragile' raised ValueError: cannot handle songs" in message
    assert "call apply(fault_tolerant=True) (or set [apply] fault_tolerant = true" in message
    assert "--fault-tolerant" not in message
    session.apply(fault_tolerant=True)
    assert session.lf_summary().loc["fragile", "faults"] > 0


def test_the_notebook_words_come_from_the_one_place_the_cli_words_do(make_task, monkeypatch):
    """The notebook's advice is FAULT_ADVICE's (h146): session.py spelled its own copy of
    the CLI's words to replace, so any rewording of the CLI's line left the notebook
    telling a notebook user to pass --fault-tolerant."""
    from labeling.apply import row_labeler

    monkeypatch.setitem(row_labeler.FAULT_ADVICE, "cli", "pass --fault-tolerant to the command")
    session = Session(make_task(lf_source=FRAGILE,
                                config={"label_model": {"name": "mv",
                                                        "params": make_task.DELETE}}))
    with pytest.raises(ValueError) as caught:
        session.apply()
    message = str(caught.value)
    assert row_labeler.FAULT_ADVICE["notebook"] in message
    assert "--fault-tolerant" not in message
