"""`labeling` freezes the garbage collector once its command is done, succeeded or not
(session 18): the interpreter's exit walked the ~300k objects of torch, snorkel and
scikit-learn in a last collection, 3-4 s after the last line of every step on a busy
core (python /tmp probe: 4.07 s plain, 0.70 s frozen)."""

from __future__ import annotations

import sys

import pytest

from labeling import cli


@pytest.mark.parametrize("argv", [["labeling", "--version"], ["labeling", "fit", "nowhere.toml"]])
def test_the_collector_is_frozen_when_a_command_ends(argv, monkeypatch):
    frozen = []
    monkeypatch.setattr(cli.gc, "freeze", lambda: frozen.append(True))
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit):
        cli.main()
    assert frozen == [True]
