"""`labeling predict --input` checks a table's texts and ids as the pipeline's data files
are checked (docs/data.md): a number is not a text, and a missing id is not "nan"."""

from __future__ import annotations

import pytest

from labeling.errors import DataError
from labeling.predict import read_texts, text_batches


def test_a_number_in_the_text_column_is_an_error_naming_the_row(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text('{"text": "vote now"}\n{"text": 5}\n', encoding="utf-8")
    # before: predicted, as the text "5"
    with pytest.raises(DataError, match=r"in.jsonl: row 2, column 'text': expected a string"):
        read_texts(str(path))


def test_a_missing_id_is_an_error_naming_the_row(tmp_path):
    path = tmp_path / "in.csv"
    path.write_text("id,text\na1,vote now\n,goal\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"in.csv: row 2, column 'id': missing id"):
        list(text_batches(str(path)))  # before: the second output line began with "nan"


def test_good_tables_still_predict(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text('{"id": 7, "text": "vote now"}\n{"id": 8, "text": null}\n',
                    encoding="utf-8")
    [batch] = list(text_batches(str(path)))
    assert list(batch) == ["vote now", ""] and batch.ids == ["7", "8"]


def test_jsonl_integer_column_with_a_gap_stays_integer(tmp_path):
    from pathlib import Path

    from labeling.data import read_table

    path = tmp_path / "in.jsonl"
    path.write_text('{"id": 3, "text": "a", "likes": 2}\n{"text": "b"}\n', encoding="utf-8")
    table = read_table(Path(path))
    assert table["id"][0] == 3 and type(table["id"][0]) is int  # before: the float 3.0
    assert table["likes"][0] == 2 and type(table["likes"][0]) is int
    # so the missing id is named where it is, not as a float on row 1
    with pytest.raises(DataError, match=r"in.jsonl: row 2, column 'id': missing id"):
        list(text_batches(str(path)))


def test_an_empty_input_table_has_no_texts_not_a_missing_column(tmp_path):
    path = tmp_path / "in.csv"
    path.write_text("", encoding="utf-8")
    # before: "no text column 'text' (columns: ); pass --text-column"; no rows, as a
    # header-only table (the CLI notes the file: test_f149_predict_empty_and_card_cv)
    assert read_texts(str(path)) == []
