"""Row-number ids (``id_column = ""``) of a file that read before spreadsheets' empty rows
were skipped (536dfc8) stay what they were.

Before: a ``,,`` row between rows was dropped, so every row after it changed id
(``train-2`` became ``train-1``) and the app's annotations on those rows were flagged as
changed texts or attached to another text.
"""

from __future__ import annotations

import pytest

from labeling.config import load_config
from labeling.data import check_ids, load_split
from labeling.data.readers import read_table
from labeling.errors import DataError


def _ids(tmp_path, body: str) -> list[tuple[str, str]]:
    (tmp_path / "train.csv").write_text(body, encoding="utf-8")
    (tmp_path / "lfs.py").write_text("", encoding="utf-8")
    (tmp_path / "task.toml").write_text(
        'name = "t"\nlabels = ["a", "b"]\nlfs = ["lfs.py"]\n[data]\ntrain = "train.csv"\n'
        'id_column = ""\n', encoding="utf-8")
    frame = load_split(load_config(tmp_path / "task.toml"), "train")
    return list(zip(frame["id"], frame["text"]))


@pytest.mark.parametrize("body, want", [
    # as at 536dfc8: a blank line is no row; a ",," row is one (an empty text)
    ("text\na\n\nb\nc\n", [("train-0", "a"), ("train-1", "b"), ("train-2", "c")]),
    ("text,x\na,\n,\nb,\nc,\n",
     [("train-0", "a"), ("train-1", ""), ("train-2", "b"), ("train-3", "c")]),
    # a spreadsheet's empty rows after the data: skipped, no other id changes
    ("text,x\na,\nb,\n,\n,\n", [("train-0", "a"), ("train-1", "b")]),
    ("text,x\na,\n,\n\n,\nb,\n,\n",
     [("train-0", "a"), ("train-1", ""), ("train-2", ""), ("train-3", "b")]),
])
def test_row_number_ids_do_not_move(tmp_path, body, want):
    assert _ids(tmp_path, body) == want


def test_an_empty_row_between_rows_with_ids_is_named(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("id,text\n1,a\n,\n2,b\n,\n", encoding="utf-8")
    frame = read_table(path)
    assert frame["id"].tolist() == ["1", "", "2"]
    with pytest.raises(DataError, match=r"d\.csv: row 2, column 'id': missing id"):
        check_ids(frame["id"], path, "id")


def test_an_empty_row_between_rows_with_too_many_fields_is_named(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("id,text\n1,a\n,,,\n2,b\n,,,\n", encoding="utf-8")
    # as at 536dfc8 (before: skipped, and the ids of row-number files after it moved)
    with pytest.raises(DataError, match=r"d\.csv: line 3: expected 2 fields \(as in the "
                                        r"header\), found 4$"):
        read_table(path)
    path.write_text("id,text\n1,a\n2,b\n,,,\n", encoding="utf-8")
    assert read_table(path)["id"].tolist() == ["1", "2"]  # after the data: skipped
