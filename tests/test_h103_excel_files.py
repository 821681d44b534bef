"""Data files as Excel saves them: ';'-separated CSV (a European locale), cp1252
"CSV (Comma delimited)", empty trailing rows (",,"), long ids in scientific notation."""

from __future__ import annotations

import pytest

from labeling.data import check_unique_ids, read_table
from labeling.data.readers import DATA_ENCODING_HINT
from labeling.errors import DataError

import pandas as pd

# Excel in a ';' locale: BOM (CSV UTF-8) or cp1252, CRLF, quoted fields holding ';', ','
# (a decimal mark) and a line break
SEMICOLON = ('id;text;label\r\n00042;"Prix: 50,5 €; vu";ham\r\n00043;"deux\r\nlignes";spam\r\n'
             '00044;plain, with a comma;ham\r\n')


@pytest.mark.parametrize("encoding, prefix", [("utf-8", b"\xef\xbb\xbf"), ("cp1252", b"")])
def test_a_semicolon_csv_from_excel_reads_exactly(tmp_path, encoding, prefix):
    path = tmp_path / "export.csv"
    path.write_bytes(prefix + SEMICOLON.encode(encoding))
    table = read_table(path, encoding)
    # before: "line 2: ',' expected after '\"'" (or one column 'id;text;label')
    assert table.columns.tolist() == ["id", "text", "label"]
    assert table["id"].tolist() == ["00042", "00043", "00044"]
    assert table["text"].tolist() == ["Prix: 50,5 €; vu", "deux\r\nlignes",
                                      "plain, with a comma"]
    assert table["label"].tolist() == ["ham", "spam", "ham"]


def test_a_comma_csv_with_a_semicolon_in_its_header_stays_comma_separated(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text('id,"a;b"\n1,x;y\n', encoding="utf-8")
    assert read_table(path).to_dict("list") == {"id": ["1"], "a;b": ["x;y"]}
    one = tmp_path / "one.csv"  # one column, texts holding ';': read as written
    one.write_text("text\nhi; there\n", encoding="utf-8")
    assert read_table(one)["text"].tolist() == ["hi; there"]


@pytest.mark.parametrize("suffix, sep", [(".csv", ","), (".tsv", "\t"), (".csv", ";")])
def test_a_spreadsheets_empty_trailing_rows_are_skipped(tmp_path, suffix, sep):
    path = tmp_path / f"data{suffix}"
    rows = [["id", "text", "label"], ["007", "hello", "ham"], ["", "", ""], ["", "", ""]]
    path.write_bytes(b"\xef\xbb\xbf" + "".join(sep.join(r) + "\r\n" for r in rows).encode())
    # before: the missing id of row 2 (",,": a row a spreadsheet once formatted)
    assert read_table(path).to_dict("list") == {"id": ["007"], "text": ["hello"],
                                                "label": ["ham"]}


def test_an_empty_text_in_a_row_with_an_id_is_kept(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text('id,text\n1,""\n2,\n', encoding="utf-8")
    assert read_table(path)["text"].tolist() == ["", ""]


def test_a_cp1252_file_read_as_utf8_names_cp1252(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes("id,text\n1,50 € à payer\n".encode("cp1252"))
    with pytest.raises(DataError) as info:
        read_table(path, "utf-8", DATA_ENCODING_HINT)
    message = str(info.value)
    # before: 'e.g. "latin-1"', which then refused the '€' (0x80) and named cp1252
    assert message.startswith(f"{path}: not valid UTF-8 (byte 13, line 2); it reads as cp1252")
    assert 'encoding to the file\'s encoding (e.g. "cp1252")' in message
    assert read_table(path, "cp1252")["text"].tolist() == ["50 € à payer"]


def test_ids_excel_turned_into_scientific_notation_say_so(tmp_path):
    with pytest.raises(DataError) as info:
        check_unique_ids(pd.Series(["1.23E+15", "1.23E+15", "7"]), tmp_path / "d.csv", "id")
    # before: only that the id repeats, not why
    assert "(rows 1 and 2); a number in scientific notation" in str(info.value)
    with pytest.raises(DataError) as info:
        check_unique_ids(pd.Series(["a7", "a7"]), tmp_path / "d.csv", "id")
    assert str(info.value).endswith("(rows 1 and 2)")
