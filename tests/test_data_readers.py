"""The data readers read exactly what the file says, or fail in one line naming the file and
line (row and column for values); ``[data] encoding``; the train/dev/test leakage report."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from labeling.config import load_config
from labeling.data import leakage_report, leakage_warnings, read_table
from labeling.errors import ConfigError, DataError
from labeling.pipeline import load_task


def one_line(exc: BaseException) -> str:
    message = str(exc)
    assert "\n" not in message, message
    return message


def data_error(path) -> str:
    with pytest.raises(DataError) as info:
        load_task(path)
    return one_line(info.value)


# --- [data] encoding ----------------------------------------------------------------

def test_latin1_csv_tsv_jsonl_load_with_the_encoding_option(make_task):
    csv_bytes = "id,text,label\nd1,café crème,ham\nd2,naïve spam,spam\n".encode("latin-1")
    tsv_bytes = "id\ttext\tlabel\nt1\tà bientôt\tham\nt2\tgrüß\tspam\n".encode("latin-1")
    jsonl_bytes = (json.dumps({"id": "r1", "text": "señor"}, ensure_ascii=False) + "\n"
                   ).encode("latin-1")
    path = make_task(config={"data": {"encoding": "latin-1", "test": "test.tsv",
                                      "train": "train.jsonl"}},
                     dev=csv_bytes, test=tsv_bytes, train=jsonl_bytes)
    splits = load_task(path).splits
    assert splits["dev"]["text"].tolist() == ["café crème", "naïve spam"]
    assert splits["test"]["text"].tolist() == ["à bientôt", "grüß"]
    assert splits["train"]["text"].tolist() == ["señor"]


def test_encoding_defaults_to_utf8(make_task):
    assert load_config(make_task()).data.encoding == "utf-8"


def test_wrong_encoding_names_file_line_and_the_option(make_task):
    dev = "id,text,label\nd1,good,ham\nd2,café,ham\n".encode("latin-1")
    message = data_error(make_task(dev=dev))
    assert "dev.csv" in message and "not valid UTF-8" in message and "line 3" in message
    assert "[data] encoding" in message
    path = make_task(dev=dev, config={"data": {"encoding": "ascii"}})
    message = data_error(path)
    assert "dev.csv" in message and "not valid ascii" in message and "line 3" in message
    assert "[data] encoding" in message


@pytest.mark.parametrize("name", ["latin-9x", "base64"])  # unknown; not a text encoding
def test_unknown_encoding_is_a_config_error(make_task, name):
    with pytest.raises(ConfigError) as info:
        load_config(make_task(config={"data": {"encoding": name}}))
    message = one_line(info.value)
    assert "data.encoding" in message and name in message


# --- JSONL --------------------------------------------------------------------------

@pytest.mark.parametrize("line, kind", [('["a", "b"]', "list"), ("42", "int"),
                                        ('"just text"', "str"), ("null", "null")])
def test_jsonl_line_that_is_not_an_object_names_its_line(make_task, line, kind):
    dev = '{"id": "a", "text": "x", "label": "ham"}\n\n' + line + "\n"
    message = data_error(make_task(config={"data": {"dev": "dev.jsonl"}}, dev=dev))
    assert "dev.jsonl: line 3: expected a JSON object" in message and kind in message


def test_jsonl_text_with_unicode_line_separators_is_read_exactly(make_task):
    texts = ["one\u2028two", "form\x0cfeed", "next\x85line"]  # str.splitlines() splits these
    dev = "".join(json.dumps({"id": f"d{i}", "text": t, "label": "ham"}, ensure_ascii=False)
                  + "\r\n" for i, t in enumerate(texts))
    path = make_task(config={"data": {"dev": "dev.jsonl"}}, dev=dev)
    assert load_task(path).splits["dev"]["text"].tolist() == texts


@pytest.mark.parametrize("value, kind", [(7, "int"), (["a", "b"], "list"), ({"a": 1}, "dict"),
                                         (True, "bool")])
def test_jsonl_text_that_is_not_a_string_names_row_and_column(make_task, value, kind):
    rows = [{"id": "a", "text": "fine", "label": "ham"},
            {"id": "b", "text": value, "label": "ham"}]
    dev = "".join(json.dumps(r) + "\n" for r in rows)
    message = data_error(make_task(config={"data": {"dev": "dev.jsonl"}}, dev=dev))
    assert "dev.jsonl: row 2, column 'text'" in message and kind in message


# --- Parquet ------------------------------------------------------------------------

@pytest.mark.parametrize("values, kind", [([1, 2, 3], "int"), ([["a"], ["b"], ["c"]], "list"),
                                          ([1.5, 2.5, 3.5], "float")])
def test_parquet_text_column_that_is_not_strings_is_an_error(make_task, values, kind):
    dev = pd.DataFrame({"id": ["a", "b", "c"], "text": values, "label": ["ham"] * 3})
    message = data_error(make_task(config={"data": {"dev": "dev.parquet"}}, dev=dev))
    assert "dev.parquet: row 1, column 'text'" in message and kind in message


def test_parquet_missing_text_is_empty_but_a_missing_id_is_an_error(make_task):
    dev = pd.DataFrame({"id": ["a", None, "c"], "text": ["x", "y", None], "label": ["ham"] * 3})
    message = data_error(make_task(config={"data": {"dev": "dev.parquet"}}, dev=dev))
    assert "dev.parquet: row 2, column 'id'" in message and "missing" in message
    ints_with_gap = pd.DataFrame({"id": pd.array([1, None, 3], dtype="Int64"),
                                  "text": ["x", "y", "z"], "label": ["ham"] * 3})
    message = data_error(make_task(config={"data": {"dev": "dev.parquet"}}, dev=ints_with_gap))
    assert "row 2, column 'id'" in message


@pytest.mark.parametrize("ids, kind", [([1.0, 2.0], "float"), ([["a", "b"], ["c"]], "list"),
                                       (["a", ""], "missing")])
def test_parquet_ids_that_are_not_strings_or_integers_are_an_error(make_task, ids, kind):
    dev = pd.DataFrame({"id": ids, "text": ["x", "y"], "label": ["ham"] * 2})
    message = data_error(make_task(config={"data": {"dev": "dev.parquet"}}, dev=dev))
    assert "column 'id'" in message and kind in message


def test_integer_ids_become_strings(make_task):
    dev = pd.DataFrame({"id": [7, 8], "text": ["x", "y"], "label": ["ham"] * 2})
    path = make_task(config={"data": {"dev": "dev.parquet", "test": "test.jsonl"}},
                     dev=dev, test=dev.assign(id=[9, 10]))
    splits = load_task(path).splits
    assert splits["dev"]["id"].tolist() == ["7", "8"]
    assert splits["test"]["id"].tolist() == ["9", "10"]


# --- TSV: tabs, no quoting ----------------------------------------------------------

def test_tsv_keeps_quotes_literally(make_task):
    dev = ('id\ttext\tlabel\n'
           'd1\t"quoted" at the start\tham\n'
           'd2\t""\tspam\n'
           'd3\tsay "hi", twice\tham\r\n')
    path = make_task(config={"data": {"dev": "dev.tsv"}}, dev=dev)
    assert load_task(path).splits["dev"]["text"].tolist() == [
        '"quoted" at the start', '""', 'say "hi", twice']


def test_tsv_unbalanced_quote_does_not_merge_rows(make_task):
    rows = [f"d{i}\ttext {i}\tham" for i in range(20)]
    rows[3] = 'd3\t"an unbalanced quote\tham'
    path = make_task(config={"data": {"dev": "dev.tsv"}}, dev="id\ttext\tlabel\n" + "\n".join(rows))
    dev = load_task(path).splits["dev"]
    assert len(dev) == 20 and dev["text"].iloc[3] == '"an unbalanced quote'


def test_tsv_unbalanced_quote_closed_rows_later_merges_nothing(make_task):
    # The case issue 12 item 18 saw: a later quote "closes" the first one, so CSV quoting
    # silently read rows 4-16 as one text (8 rows instead of 20) with no error.
    rows = [f"d{i}\ttext {i}\tham" for i in range(20)]
    rows[3] = 'd3\t"an unbalanced quote\tham'
    rows[15] = 'd15\tsay "hi" twice\tspam'
    path = make_task(config={"data": {"dev": "dev.tsv"}}, dev="id\ttext\tlabel\n" + "\n".join(rows))
    dev = load_task(path).splits["dev"]
    assert dev["id"].tolist() == [f"d{i}" for i in range(20)]
    assert dev["text"].iloc[3] == '"an unbalanced quote'
    assert dev["text"].iloc[15] == 'say "hi" twice'


@pytest.mark.parametrize("bad_row, found", [("d1\tonly two", 2), ("d1\ttoo\tmany\tfields", 4)])
def test_tsv_row_with_wrong_number_of_fields_names_its_line(make_task, bad_row, found):
    dev = "id\ttext\tlabel\nd0\tfine\tham\n\n" + bad_row + "\n"
    message = data_error(make_task(config={"data": {"dev": "dev.tsv"}}, dev=dev))
    assert "dev.tsv: line 4:" in message and f"found {found}" in message and "3" in message


# --- CSV ----------------------------------------------------------------------------

def test_csv_quoted_fields_with_commas_newlines_and_quotes_load(make_task):
    dev = ('id,text,label\n'
           'd1,"a, b",ham\n'
           'd2,"two\nlines, here",spam\n'
           'd3,"say ""hi""",ham\r\n'
           'd4,plain,ham')
    dev_df = load_task(make_task(dev=dev)).splits["dev"]
    assert dev_df["text"].tolist() == ["a, b", "two\nlines, here", 'say "hi"', "plain"]


def test_csv_unbalanced_quote_that_would_swallow_rows_is_an_error(make_task):
    rows = [f"d{i},text {i},ham" for i in range(20)]
    rows[3] = 'd3,"an unbalanced quote,ham'
    rows[15] = 'd15,"properly, quoted",spam'
    message = data_error(make_task(dev="id,text,label\n" + "\n".join(rows) + "\n"))
    assert "dev.csv" in message and "line 5" in message and "quote" in message


def test_csv_unbalanced_quote_running_to_the_end_is_an_error(make_task):
    rows = [f"d{i},text {i},ham" for i in range(20)]
    rows[3] = 'd3,"an unbalanced quote,ham'
    message = data_error(make_task(dev="id,text,label\n" + "\n".join(rows) + "\n"))
    assert "dev.csv" in message and "line 5" in message and "never closed" in message


def test_csv_merged_rows_with_wrong_field_count_name_the_lines(make_task):
    dev = 'id,text,label\nd0,fine,ham\nd1,"oops,ham\nd2,x,ham\nd3,y",ham,spam\n'
    message = data_error(make_task(dev=dev))
    assert "dev.csv: line 3:" in message and "lines 3-5" in message and "found 4" in message


@pytest.mark.parametrize("bad_row, found", [("d1,short", 2), ("d1,a,ham,extra", 4)])
def test_csv_row_with_wrong_number_of_fields_names_its_line(make_task, bad_row, found):
    dev = "id,text,label\nd0,fine,ham\n" + bad_row + "\n"
    message = data_error(make_task(dev=dev))
    assert "dev.csv: line 3:" in message and f"found {found}" in message


def test_csv_repeated_column_name_is_an_error(make_task):
    message = data_error(make_task(dev="id,text,label,text\nd0,a,ham,b\n"))
    assert "dev.csv: line 1:" in message and "'text'" in message and "more than once" in message


def test_csv_reader_matches_pandas_on_the_bundled_data(repo_root):
    for split in ("train", "dev", "test"):
        path = repo_root / "data" / "youtube" / f"{split}.csv"
        ours = read_table(path)
        theirs = pd.read_csv(path, dtype=str, keep_default_na=False)
        pd.testing.assert_frame_equal(ours, theirs, check_dtype=False)


# --- leakage ------------------------------------------------------------------------

def frame(ids, texts):
    return pd.DataFrame({"id": ids, "text": texts})


def test_leakage_report_counts_shared_ids_and_texts_per_pair():
    splits = {"train": frame(["a", "b", "c", "d"], ["spam now", "hello", "x", ""]),
              "dev": frame(["a", "e"], ["other", "  spam \t now "]),
              "test": frame(["t1", "t2", "t3", "t4"], ["hello", "HELLO", "", "spam now"])}
    report = leakage_report(splits)
    assert list(report) == ["train/dev", "train/test", "dev/test"]
    assert report["train/dev"] == {"rows": 2, "shared_ids": 1, "shared_id_examples": ["a"],
                                   "shared_texts": 1, "shared_text_examples": [["a", "e"]]}
    # case matters, empty texts never match; examples follow the second split's order
    assert report["train/test"]["shared_ids"] == 0
    assert report["train/test"]["shared_texts"] == 2
    assert report["train/test"]["shared_text_examples"] == [["b", "t1"], ["a", "t4"]]
    assert report["dev/test"]["shared_texts"] == 1
    json.dumps(report)  # goes into metrics.json as is


def test_leakage_report_skips_missing_splits_and_caps_examples():
    ids = [str(i) for i in range(12)]
    report = leakage_report({"train": frame(ids, ids), "dev": None,
                             "test": frame(ids, [f"t{i}" for i in ids])})
    assert list(report) == ["train/test"]
    assert report["train/test"]["shared_ids"] == 12
    assert report["train/test"]["shared_id_examples"] == ids[:5]
    assert report["train/test"]["shared_texts"] == 0


def test_leakage_warnings_are_one_line_each_and_only_for_leaks():
    splits = {"train": frame(["a", "b"], ["x", "y"]), "dev": frame(["c"], ["z"]),
              "test": frame(["a", "t"], ["q", "y"])}
    warnings = leakage_warnings(leakage_report(splits))
    assert len(warnings) == 2 and all("\n" not in w for w in warnings)
    ids_line, texts_line = warnings
    assert "train" in ids_line and "test" in ids_line and "1 of 2" in ids_line and "a" in ids_line
    assert "text" in texts_line and "b" in texts_line and "t" in texts_line
    assert leakage_warnings(leakage_report({"train": splits["train"], "dev": splits["dev"]})) == []
