"""An LF error names the row as a data error does: counted from 1 without the header
(docs/data.md), so "train row 3" is the third data line of train.csv in both."""

from __future__ import annotations

from typer.testing import CliRunner

from labeling.cli import app

RAISES_ON_TR2 = '''from labeling import ABSTAIN, labeling_function


@labeling_function()
def picky(x):
    if x.id == "tr2":
        raise ValueError("no")
    return ABSTAIN
'''


def test_lf_error_and_data_error_count_rows_alike(make_task):
    frames = make_task.frames()
    third_id = frames["train"]["id"][2]
    assert third_id == "tr2"  # the third data row of train.csv
    result = CliRunner().invoke(app, ["apply", str(make_task(lf_source=RAISES_ON_TR2)),
                                      "--no-progress"])
    assert result.exit_code == 2
    assert "on train row 3 (id=tr2)" in result.output, result.output  # before: row 2

    dev = frames["dev"].copy()
    dev.loc[2, "label"] = "spm"  # the third data row of dev.csv
    result = CliRunner().invoke(app, ["apply", str(make_task(dev=dev)), "--no-progress"])
    assert result.exit_code == 2
    assert "dev.csv: row 3, column 'label'" in result.output, result.output
