"""`labeling init DATA` (docs/lf_loop.md, README) on a file with too few labeled rows to
split off dev and test printed sklearn's multi-page traceback (`test_size=4 should be
either positive and smaller than the number of samples 4`); now one line naming the file,
how many rows it needs, and --dev."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from conftest import one_error_line  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from labeling.cli import app  # noqa: E402


def init(*args):
    return CliRunner().invoke(app, ["init", *map(str, args)])


def test_too_few_labeled_rows_is_one_line_naming_the_file(tmp_path):
    data = tmp_path / "tiny.csv"
    data.write_text("id,text,label\n1,a,spam\n2,b,ham\n3,c,ham\n4,d,spam\n", encoding="utf-8")
    one_error_line(init(data, "--dir", tmp_path / "task"), "tiny.csv: 4 labeled rows are "
                   "too few", "label at least 8 rows, or pass --dev FILE")
    assert not (tmp_path / "task" / "labeling.toml").exists()


def test_enough_rows_still_split(tmp_path):
    data = tmp_path / "eight.csv"
    rows = [f"{i},text {i},{'spam' if i % 2 else 'ham'}" for i in range(8)]
    data.write_text("id,text,label\n" + "\n".join(rows) + "\n", encoding="utf-8")
    result = init(data, "--dir", tmp_path / "task")
    assert result.exit_code == 0, result.output
    assert "dev 4, test 4" in result.output
