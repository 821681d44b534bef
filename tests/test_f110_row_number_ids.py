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


def _dev(tmp_path, body: str, id_column: str = "id", multi: bool = False):
    (tmp_path / "dev.csv").write_text(body, encoding="utf-8")
    (tmp_path / "lfs.py").write_text("", encoding="utf-8")
    (tmp_path / "task.toml").write_text(
        f'name = "t"\nlabels = ["a", "b"]\nlfs = ["lfs.py"]\nmulti_label = {str(multi).lower()}'
        f'\n[data]\ntrain = "dev.csv"\ndev = "dev.csv"\nid_column = "{id_column}"\n',
        encoding="utf-8")
    return load_split(load_config(tmp_path / "task.toml"), "dev")


EMPTY = r" \(the row is empty: delete it in the spreadsheet\)"


@pytest.mark.parametrize("id_column, multi, error", [
    ("id", False, r"row 2, column 'key': missing id" + EMPTY + "$"),
    ("", False, r"row 2, column 'label': unknown label" + EMPTY + r" \(labels: a, b\)$"),
    ("", True, r"row 2, column 'label': empty label set" + EMPTY + "$"),
])
def test_an_empty_row_between_rows_says_it_is_empty(tmp_path, id_column, multi, error):
    """Before: 'missing id' or 'unknown label (empty)', as for a row with a text."""
    with pytest.raises(DataError, match=r"dev\.csv: " + error):
        _dev(tmp_path, "key,text,label\n1,x,a\n,,\n2,y,b\n", id_column and "key", multi)


def test_a_row_with_a_text_and_no_label_is_not_called_empty(tmp_path):
    with pytest.raises(DataError, match=r"row 2, column 'label': unknown label \(empty\) "
                                        r"\(labels: a, b\)$"):
        _dev(tmp_path, "id,text,label\n1,x,a\n2,y,\n3,z,b\n")
