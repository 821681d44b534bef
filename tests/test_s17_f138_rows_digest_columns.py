"""The apply's record of the rows (metrics.json's ``rows_at_apply``) covers the columns'
names too (f138): pandas's row hash covers the values only, so after a column was
renamed in every data file (``author`` -> ``user``) the votes of an LF reading
``getattr(x, "author", None)`` were the old column's, and fit / show took them."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from conftest import cli, default_frames, one_error_line  # noqa: E402

from labeling import artifacts, pipeline  # noqa: E402

LFS = '''
from labeling import ABSTAIN, labeling_function

@labeling_function()
def by_bot(x):
    return 1 if getattr(x, "author", None) == "bot" else ABSTAIN

@labeling_function()
def kw(x):
    return 0 if "song" in x.text else ABSTAIN
'''


def _with_author(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(author=["bot" if i % 2 else "human" for i in range(len(frame))])


def test_a_column_renamed_after_the_apply_stops_fit_and_show_until_the_next_apply(make_task):
    frames = {s: _with_author(df) for s, df in default_frames().items()}
    config = make_task(lf_source=LFS, config={"label_model": {"name": "mv",
                                                              "params": make_task.DELETE}},
                       **frames)
    assert cli("apply", config, "--no-progress").exit_code == 0
    assert cli("fit", config).exit_code == 0
    for split in frames:
        path = config.parent / f"{split}.csv"
        pd.read_csv(path).rename(columns={"author": "user"}).to_csv(path, index=False)
    one_error_line(cli("fit", config), "L.parquet", "a column's name",
                   "run `labeling apply` again")
    one_error_line(cli("show", "by_bot", config), "changed since the apply")
    assert cli("apply", config, "--no-progress").exit_code == 0
    fitted = cli("fit", config)
    assert fitted.exit_code == 0, fitted.output


def test_the_rows_digest_depends_on_the_column_names(make_task):
    task = pipeline.load_task(make_task())
    before = artifacts.rows_digests(task)
    task.splits["dev"] = task.splits["dev"].rename(columns={"text": "body"})
    after = artifacts.rows_digests(task)
    assert after["dev"] != before["dev"] and after["train"] == before["train"]
