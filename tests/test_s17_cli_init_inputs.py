"""`labeling init` on an empty data file or into a --dir that is a file (h135). Before:
an empty file said `no column 'text' in any case (columns: )`, a header-only one
`column 'body' is empty in all 0 rows: is it the column holding the texts?`, and a
--dir naming a file printed the split's line ("dev 60, test 60") and then
`<dir>/data: Not a directory`."""

import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from conftest import cli as _invoke  # noqa: E402
from conftest import one_error_line as _one_error_line  # noqa: E402


def test_empty_and_header_only_files(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "header.csv").write_text("msg_id,body,category\n")
    _one_error_line(_invoke("init", tmp_path / "empty.csv", "--dir", tmp_path / "a"),
                    "empty.csv: no rows (empty)")
    _one_error_line(_invoke("init", tmp_path / "header.csv", "--text-column", "body",
                            "--label-column", "category", "--id-column", "msg_id",
                            "--dir", tmp_path / "b"),
                    "header.csv: no rows (only the header: msg_id, body, category)")


def test_dir_naming_a_file(tmp_path, make_task):
    frames = make_task.frames()
    data = pd.concat([frames["train"], frames["dev"], frames["test"]], ignore_index=True)
    data.to_csv(tmp_path / "data.csv", index=False)
    (tmp_path / "notes.txt").write_text("x")
    _one_error_line(_invoke("init", tmp_path / "data.csv", "--dir", tmp_path / "notes.txt"),
                    "notes.txt: a file, not a folder")
    _one_error_line(_invoke("init", tmp_path / "data.csv", "--dir",
                            tmp_path / "notes.txt" / "task"),
                    f"{tmp_path / 'notes.txt'} is a file, not a folder")
    assert (tmp_path / "notes.txt").read_text() == "x"
