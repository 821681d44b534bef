"""`labeling show LF --conflicts` says which LFs disagree on each row and what they
voted: the table showed only the LF's own vote, so a user could not tell whom it
conflicted with (found by the 6-class walkthrough)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from conftest import cli  # noqa: E402


def test_conflict_rows_name_the_lfs_voting_otherwise(make_task, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    config = make_task()
    assert cli("apply", config, "--no-progress").exit_code == 0
    assert cli("fit", config).exit_code == 0
    # "i love this song so much": kw_ham votes ham, long_text (>= 6 words) spam
    shown = cli("show", "kw_ham", config, "--conflicts", "any", "--split", "train")
    assert shown.exit_code == 0, shown.output
    assert "voted otherwise" in shown.output
    row = next(line for line in shown.output.splitlines() if "i love this song so much" in line)
    assert "long_text: spam" in row and "kw_spam" not in row, shown.output
    named = cli("show", "kw_ham", config, "--conflicts", "long_text", "--split", "train")
    assert named.exit_code == 0 and "long_text: spam" in named.output, named.output
