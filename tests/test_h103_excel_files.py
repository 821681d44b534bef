"""Data files as Excel saves them: ';'-separated CSV (a European locale), cp1252
"CSV (Comma delimited)", empty trailing rows (",,"), long ids in scientific notation."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

from labeling.data import check_unique_ids, read_table
from labeling.data.readers import DATA_ENCODING_HINT
from labeling.errors import DataError
from labeling.pipeline import load_task

sys.path.insert(0, str(Path(__file__).parent))
from conftest import cli  # noqa: E402

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


# --- Excel's column names: "ID", "Text", " label " ------------------------------------

def test_a_missing_column_names_the_one_differing_in_case_or_spaces(make_task):
    dev = make_task.frames()["dev"].rename(columns={"text": "Text"})
    with pytest.raises(DataError) as info:
        load_task(make_task(dev=dev))
    # before: "(columns: id, Text, label)" only
    assert "no text column 'text' (columns: id, Text, label; did you mean 'Text'?)" in str(
        info.value)


def test_init_takes_excels_id_column_and_names_the_near_columns(tmp_path, make_task):
    frames = make_task.frames()
    data = pd.concat([frames["train"], frames["dev"], frames["test"]], ignore_index=True)
    data["id"] = [f"{i:04d}" for i in range(len(data))]
    data = data.rename(columns={"id": "ID", "text": "Text", "label": " label "})
    source = tmp_path / "sheet.csv"
    source.write_bytes(b"\xef\xbb\xbf" + data.to_csv(index=False).encode("utf-8"))
    refused = cli("init", source, "--dir", tmp_path / "a", "--text-column", "Text")
    assert refused.exit_code == 2
    # before: "the file has no column 'label' with two or more values", ' label ' unnamed
    assert "no column 'label' (columns: ID, Text, ' label '; did you mean ' label '?)" in (
        " ".join(refused.output.split()))
    done = cli("init", source, "--dir", tmp_path / "b", "--text-column", "Text",
               "--label-column", " label ")
    assert done.exit_code == 0, done.output
    config = (tmp_path / "b" / "labeling.toml").read_text()
    assert 'id_column = "ID"' in config  # before: id_column = "" (row numbers)
    task = load_task(tmp_path / "b" / "labeling.toml")
    assert set(task.splits["dev"]["id"]) <= set(data["ID"])  # "0042" kept as given


def test_predict_takes_an_id_column_named_ID(tmp_path):
    from labeling.predict import text_batches

    path = tmp_path / "new.csv"
    path.write_bytes(b"\xef\xbb\xbfID,text\r\n00042,hello\r\n")
    (batch,) = list(text_batches(str(path)))
    assert batch.ids == ["00042"]  # before: no ids in the output
    path.write_bytes(b"ID,Text\r\n00042,hello\r\n")
    with pytest.raises(DataError, match=r"\(columns: ID, Text; did you mean 'Text'\?\)"):
        list(text_batches(str(path)))


def test_a_workbook_says_how_to_save_it_as_csv(tmp_path):
    path = tmp_path / "labels.xlsx"
    path.write_bytes(b"PK\x03\x04")
    with pytest.raises(DataError) as info:
        read_table(path)
    # before: "unsupported file type '.xlsx' (use .csv, .tsv, .jsonl or .parquet)" only
    assert str(info.value).endswith('(use .csv, .tsv, .jsonl or .parquet); in Excel, File > '
                                    'Save As > "CSV UTF-8 (Comma delimited)" saves the sheet '
                                    "as one")


def test_init_writes_csv_splits_excel_opens_as_utf8(tmp_path, make_task):
    frames = make_task.frames()
    data = pd.concat([frames["train"], frames["dev"], frames["test"]], ignore_index=True)
    data["text"] = data["text"] + " café €"
    source = tmp_path / "all.csv"
    data.to_csv(source, index=False)
    assert cli("init", source, "--dir", tmp_path / "a").exit_code == 0
    for split in ("train", "dev", "test"):
        # before: no BOM, so Excel read the UTF-8 as cp1252: "cafÃ© â‚¬"
        assert (tmp_path / "a" / "data" / f"{split}.csv").read_bytes().startswith(
            b"\xef\xbb\xbfid,text,label\n")
    task = load_task(tmp_path / "a" / "labeling.toml")
    assert all(t.endswith(" café €") for t in task.splits["dev"]["text"])


def test_a_spreadsheets_empty_unnamed_columns_are_dropped(tmp_path):
    path = tmp_path / "sheet.csv"
    path.write_bytes(b"\xef\xbb\xbfid;text;label;;\r\n007;hi;ham;;\r\n008;yo;spam;;\r\n;;;;\r\n")
    # before: "column '' appears more than once in the header", columns Excel shows empty
    assert read_table(path).to_dict("list") == {"id": ["007", "008"], "text": ["hi", "yo"],
                                                "label": ["ham", "spam"]}
    path.write_text(",id,text\n0,a,b\n1,c,d\n", encoding="utf-8")  # pandas' unnamed index
    assert read_table(path).columns.tolist() == ["", "id", "text"]
    path.write_text("id,text,,\n1,a,x,\n", encoding="utf-8")  # one unnamed column holds a value
    assert read_table(path).to_dict("list") == {"id": ["1"], "text": ["a"], "": ["x"]}
