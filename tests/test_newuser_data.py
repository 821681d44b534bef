"""A new user's own data files (the SMS spam collection as real files come): TSVs as
pandas and spreadsheets write them, ids with leading zeros, duplicate ids, a ';' CSV,
typo'd config keys, a latin-1 file for `labeling init`, texts holding a lone '\\r' in
`labeling predict`'s output, and `labeling fit` keeping test out of the LF loop."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from labeling.config import load_config
from labeling.data import read_table
from labeling.errors import ConfigError, DataError
from labeling.pipeline import load_task
from labeling.predict import format_batch

sys.path.insert(0, str(Path(__file__).parent))
from conftest import cli, one_error_line  # noqa: E402

TEXTS = ['"CHEERS U TEX MECAUSE U WEREBORED!"', 'say "hi" to him', "plain text",
         '"quoted" at the start', "", 'ends with a quote"']


def _pandas_tsv(path: Path, frame: pd.DataFrame) -> Path:
    frame.to_csv(path, sep="\t", index=False)  # CSV-quotes every field holding a '"'
    return path


# --- TSV written by pandas / csv.writer / a spreadsheet ----------------------------

def test_a_pandas_written_tsv_reads_back_exactly(tmp_path):
    frame = pd.DataFrame({"id": [f"{i:05d}" for i in range(len(TEXTS))], "text": TEXTS})
    table = read_table(_pandas_tsv(tmp_path / "dev.tsv", frame))
    # before: '"""CHEERS ... WEREBORED!"""' and 'say ""hi"" to him', with exit status 0
    assert table["text"].tolist() == TEXTS
    assert table["id"].tolist() == ["00000", "00001", "00002", "00003", "00004", "00005"]


def test_a_pandas_tsv_with_a_line_break_in_a_text_reads(tmp_path):
    texts = ["line one\nline two", 'a "quote"', "plain"]
    frame = pd.DataFrame({"id": ["a", "b", "c"], "text": texts})
    # before: "line 2: expected 2 fields (as in the header), found 1"
    assert read_table(_pandas_tsv(tmp_path / "x.tsv", frame))["text"].tolist() == texts


def test_an_unquoted_tsv_keeps_its_quotes(tmp_path):
    raw = ('id\ttext\n1\t"Hello"\n2\t""\n3\t"unbalanced\n4\tsay "hi" twice\n'
           '5\tends with a quote"\n')
    path = tmp_path / "raw.tsv"
    path.write_text(raw, encoding="utf-8")
    assert read_table(path)["text"].tolist() == [
        '"Hello"', '""', '"unbalanced', 'say "hi" twice', 'ends with a quote"']


# --- ids, duplicates, separators, column names -------------------------------------

def test_duplicate_ids_name_both_rows(make_task):
    dev = make_task.frames()["dev"]
    dev["id"] = [f"{i:06d}" for i in range(len(dev))]
    dev.loc[5, "id"] = "000001"
    with pytest.raises(DataError) as info:
        load_task(make_task(dev=dev))
    # before: the id only; the rows had to be searched for by hand
    assert "id '000001' appears more than once in column 'id' (rows 2 and 6)" in str(info.value)


def test_a_semicolon_csv_is_read_as_such(make_task):
    dev = make_task.frames()["dev"]
    dev.loc[0, "text"] = "hi, there"
    content = dev.to_csv(sep=";", index=False)
    # before: an error hinting at the ';' (earlier: no hint); now its header says so
    assert load_task(make_task(dev=content)).splits["dev"]["text"].tolist() == dev[
        "text"].tolist()


def test_a_pipe_separated_csv_says_so(make_task):
    dev = make_task.frames()["dev"]
    dev.loc[0, "text"] = "hi, there"
    content = dev.to_csv(sep="|", index=False)
    with pytest.raises(DataError) as info:
        load_task(make_task(dev=content))
    message = str(info.value)
    assert "dev.csv: line 2: expected 1 fields" in message
    assert "is the file '|'-separated?" in message


def test_a_column_name_with_a_trailing_space_is_shown_quoted(make_task):
    dev = make_task.frames()["dev"].rename(columns={"text": "text "})
    with pytest.raises(DataError) as info:
        load_task(make_task(dev=dev))
    # before: "id, text , label"
    assert "(columns: id, 'text ', label; did you mean 'text '?)" in str(info.value)


def test_leading_zero_ids_and_label_names_with_missing_train_labels(make_task):
    frames = make_task.frames()
    for split, df in frames.items():
        df["id"] = [f"{i:05d}" for i in range(len(df))]
    frames["train"].loc[::2, "label"] = ""
    task = load_task(make_task(train=frames["train"], dev=frames["dev"],
                               test=frames["test"].to_csv(sep="\t", index=False),
                               config={"data": {"test": "test.tsv"}}))
    for split, df in frames.items():
        assert task.splits[split]["id"].tolist() == df["id"].tolist()
    gold = task.splits["dev"]["label"].tolist()
    assert gold == [["ham", "spam"].index(v) for v in frames["dev"]["label"]]


# --- config typos -------------------------------------------------------------------

@pytest.mark.parametrize("override, expected", [
    ({"lf": ["lfs.py"], "lfs": None}, "lf: Extra inputs are not permitted (did you mean 'lfs'?)"),
    ({"data": {"text_colum": "text"}}, "data.text_colum: Extra inputs are not permitted "
                                       "(did you mean 'text_column'?)"),
    ({"end_model": {"param": {"C": 1}}}, "end_model.param: Extra inputs are not permitted "
                                         "(did you mean 'params'?)"),
])
def test_a_typod_key_is_named_with_the_key_meant(make_task, override, expected):
    if override.get("lfs", 1) is None:
        override = {**override, "lfs": make_task.DELETE}
    with pytest.raises(ConfigError) as info:
        load_config(make_task(config=override))
    # before for `lf = [...]`: "lfs: Field required (and 1 more)", the typo unnamed
    assert expected in str(info.value)


# --- `labeling init` on a latin-1 file ---------------------------------------------

def _latin1_file(tmp_path, make_task, labeled=True) -> tuple[Path, pd.DataFrame]:
    frames = make_task.frames()
    data = pd.concat([frames["train"], frames["dev"], frames["test"]], ignore_index=True)
    data["id"] = [f"{i:04d}" for i in range(len(data))]
    data["text"] = data["text"] + " £5 à bientôt"
    if not labeled:
        data = data.drop(columns=["label"])
    path = tmp_path / "sms_latin1.csv"
    data.to_csv(path, index=False, encoding="latin-1")
    return path, data


def test_init_reads_a_latin1_file_with_encoding(tmp_path, make_task):
    source, data = _latin1_file(tmp_path, make_task)
    refused = cli("init", source, "--dir", tmp_path / "a")
    one_error_line(refused, "sms_latin1.csv: not valid UTF-8", "pass --encoding")
    result = cli("init", source, "--dir", tmp_path / "b", "--encoding", "latin-1")
    assert result.exit_code == 0, result.output  # before: no such option
    task = load_task(tmp_path / "b" / "labeling.toml")
    rows = pd.concat([task.splits[s] for s in ("train", "dev", "test")])
    assert sorted(rows["id"]) == data["id"].tolist()
    assert set(rows["text"]) == set(data["text"])


def test_init_without_a_split_writes_the_encoding_into_the_config(tmp_path, make_task):
    source, data = _latin1_file(tmp_path, make_task, labeled=False)
    result = cli("init", source, "--dir", tmp_path / "t", "--encoding", "latin-1",
                 "--labels", "ham,spam")
    assert result.exit_code == 0, result.output
    config = load_config(tmp_path / "t" / "labeling.toml")
    assert config.data.encoding == "latin-1"
    train = load_task(tmp_path / "t" / "labeling.toml").splits["train"]
    assert train["text"].tolist() == data["text"].tolist()


def test_init_unknown_encoding_is_one_line(tmp_path, make_task):
    source, _ = _latin1_file(tmp_path, make_task)
    one_error_line(cli("init", source, "--dir", tmp_path / "c", "--encoding", "latn"),
                   "--encoding: unknown text encoding 'latn'")


# --- `labeling predict` output: one line per text ----------------------------------

def test_predict_tsv_output_has_one_line_per_text_with_a_lone_cr():
    texts = ["line one\r\nline two", "old mac\rline", "form\x0cfeed\u2028sep", "plain"]
    out = format_batch(texts, np.array([[0.9, 0.1]] * 4), ["ham", "spam"], "tsv",
                       ["001\r", "002", "003", "004"])
    # before: the lone '\r' stayed, and a reader split the output into 6 lines, not 4
    lines = io.StringIO(out, newline=None).read().splitlines()
    assert len(lines) == 4
    assert [line.split("\t")[0] for line in lines] == ["001 ", "002", "003", "004"]


# --- `labeling fit` prints dev only ------------------------------------------------

def test_fit_prints_dev_scores_only(make_task):
    config = make_task()
    assert cli("apply", config, "--no-progress").exit_code == 0
    fitted = cli("fit", config)
    assert fitted.exit_code == 0, fitted.output
    assert "dev accuracy" in fitted.output
    assert "test accuracy" not in fitted.output  # before: test columns beside dev's
    assert "test is shown by `labeling" in " ".join(fitted.output.split())
    evaluated = cli("evaluate", config)
    assert "test accuracy" in evaluated.output


# --- Parquet saved with set_index, spreadsheet CSVs, init's checks of the user's file ---

def test_a_parquet_saved_with_its_id_as_index_keeps_the_id_column(tmp_path):
    frame = pd.DataFrame({"msg_id": ["007", "010"], "text": ["a", "b"], "label": ["ham", "spam"]})
    frame.set_index("msg_id").to_parquet(tmp_path / "dev.parquet")
    table = read_table(tmp_path / "dev.parquet")
    # before: columns text, label only: "no id column 'msg_id'" for a file that has it
    assert table["msg_id"].tolist() == ["007", "010"]
    frame[frame["label"] == "spam"].to_parquet(tmp_path / "kept.parquet")  # unnamed index
    assert read_table(tmp_path / "kept.parquet").columns.tolist() == ["msg_id", "text", "label"]


def test_repeated_empty_header_names_hint_at_trailing_separators(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_text("id,text,label,,\n001,a,ham,x,y\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"column '' appears more than once in the header "
                                        r"\(empty names: trailing separators\?\)"):
        read_table(path)
    # empty in every row, as a spreadsheet saves columns once formatted: dropped (h103)
    path.write_text("id,text,label,,\n001,a,ham,,\n", encoding="utf-8")
    assert read_table(path).columns.tolist() == ["id", "text", "label"]


def test_init_checks_the_users_ids_and_texts_before_writing(tmp_path, make_task):
    frames = make_task.frames()
    data = pd.concat([frames["dev"], frames["test"]], ignore_index=True)
    data["id"] = [f"{i:04d}" for i in range(len(data))]
    data.loc[9, "id"] = "0003"
    data.to_csv(tmp_path / "dup.csv", index=False)
    # before: init split the two rows of id 0003 into train and test, without a word
    one_error_line(cli("init", tmp_path / "dup.csv", "--dir", tmp_path / "a"),
                   "dup.csv: id '0003' appears more than once in column 'id' (rows 4 and 10)")
    assert not (tmp_path / "a").exists()
    numbers = tmp_path / "numbers.jsonl"
    numbers.write_text('{"text": "hi", "label": "ham"}\n{"text": 5, "label": "spam"}\n'
                       '{"text": "yo", "label": "spam"}\n{"text": "ok", "label": "ham"}\n',
                       encoding="utf-8")
    # before: written to data/*.csv as the text "5"
    one_error_line(cli("init", numbers, "--dir", tmp_path / "b"),
                   "numbers.jsonl: row 2, column 'text': expected a string")
    one_error_line(cli("init", tmp_path / "dup.csv", "--dir", tmp_path / "c",
                       "--text-column", "message"), "no column 'message'", "--text-column")


def test_a_partly_labeled_dev_file_says_how_many_rows_lack_a_label(make_task):
    dev = make_task.frames()["dev"]
    dev.loc[[1, 4, 6], "label"] = ""
    with pytest.raises(DataError) as info:
        load_task(make_task(dev=dev))
    # before: row 2 only; fixing it showed row 5, then row 7
    assert str(info.value).endswith("row 2, column 'label': unknown label (empty) "
                                    "(labels: ham, spam); 3 rows in all")


def test_a_utf16_file_says_so(make_task, tmp_path):
    dev = make_task.frames()["dev"]
    dev.to_csv(tmp_path / "u16.tsv", sep="\t", index=False, encoding="utf-16")  # with a BOM
    with pytest.raises(DataError) as info:
        load_task(make_task(dev=(tmp_path / "u16.tsv").read_bytes(),
                            config={"data": {"dev": "dev.tsv"}}))
    # before: "not valid UTF-8 (byte 0, line 1); set [data] encoding ... (e.g. "latin-1")"
    assert "it starts with a UTF-16 byte-order mark" in str(info.value)
    assert 'encoding to the file\'s encoding (e.g. "utf-16")' in str(info.value)
    assert read_table(tmp_path / "u16.tsv", "utf-16")["text"].tolist() == dev["text"].tolist()


def test_init_says_how_the_labeled_rows_were_split_and_writes_all_or_nothing(tmp_path,
                                                                              make_task):
    frames = make_task.frames()
    data = pd.concat([frames["train"], frames["dev"], frames["test"]], ignore_index=True)
    data["id"] = [f"{i:04d}" for i in range(len(data))]
    data.to_csv(tmp_path / "all.csv", index=False)
    result = cli("init", tmp_path / "all.csv", "--dir", tmp_path / "a")
    assert result.exit_code == 0, result.output
    dev = pd.read_csv(tmp_path / "a" / "data" / "dev.csv")
    test = pd.read_csv(tmp_path / "a" / "data" / "test.csv")
    unused = len(data) - len(dev) - len(test)
    # before: nothing said that most of the user's labels would go unused in train
    assert (f"{len(data)} of {len(data)} rows have a label: dev {len(dev)}, test {len(test)}; "
            f"the other {unused} labeled rows go to train") in " ".join(result.output.split())
    (tmp_path / "b" / "data").mkdir(parents=True)
    (tmp_path / "b" / "data" / "test.csv").write_text("mine\n")
    refused = cli("init", tmp_path / "all.csv", "--dir", tmp_path / "b")
    assert refused.exit_code == 2 and "test.csv: already exists" in refused.output
    # before: data/train.csv and data/dev.csv were written, then test.csv refused
    assert sorted(p.name for p in (tmp_path / "b").rglob("*")) == ["data", "test.csv"]


# --- a configured column and another one of its role's name --------------------------

@pytest.mark.parametrize("role, configured", [("id", "msg_id"), ("text", "sms"),
                                              ("label", "category")])
def test_a_column_named_as_a_role_beside_the_configured_one_is_an_error(make_task, role,
                                                                        configured):
    dev = make_task.frames()["dev"].rename(columns={role: configured})
    dev[role] = [f"other {i}" for i in range(len(dev))]  # a row number, a raw text...
    columns = {"id_column": "id", "text_column": "text", "label_column": "label"}
    columns[f"{role}_column"] = configured
    train = make_task.frames()["train"].rename(columns={role: configured})
    test = make_task.frames()["test"].rename(columns={role: configured})
    with pytest.raises(DataError) as info:
        load_task(make_task(train=train, dev=dev, test=test, config={"data": columns}))
    # before: id and text were silently read from the other column (ids '0', '1'...,
    # the raw texts), and gold gave "unknown label 'label'"
    assert f"dev.csv: a column '{role}' besides data.{role}_column = '{configured}'" in str(
        info.value)


def test_an_id_column_with_id_column_empty_is_an_error(make_task):
    dev = make_task.frames()["dev"]
    dev.loc[2, "id"] = None
    with pytest.raises(DataError) as info:
        load_task(make_task(dev=dev, config={"data": {"id_column": ""}},
                            train=make_task.frames()["train"].drop(columns="id"),
                            test=make_task.frames()["test"].drop(columns="id")))
    # before: the file's ids were used, unchecked ("nan" for the missing one)
    assert "dev.csv: a column 'id', but data.id_column is empty" in str(info.value)


def test_predict_reads_a_latin1_table_with_encoding(tmp_path):
    from labeling.predict import text_batches

    path = tmp_path / "in.csv"
    path.write_bytes("id,text\n007,£5 à bientôt\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"in.csv: not valid UTF-8 .*pass --encoding"):
        list(text_batches(str(path)))
    # before: no way to read it but re-saving the file
    (batch,) = list(text_batches(str(path), encoding="latin-1"))
    assert list(batch) == ["£5 à bientôt"] and batch.ids == ["007"]
    lines = tmp_path / "in.txt"
    lines.write_text("hi\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"--encoding latin-1 applies to CSV/TSV/JSONL"):
        list(text_batches(str(lines), encoding="latin-1"))


def test_a_utf8_file_with_a_bom_read_as_latin1_is_an_error_not_mojibake(tmp_path):
    path = tmp_path / "dev.csv"
    path.write_bytes("\ufeffsender,id,text\nx,007,£5 à bientôt\n".encode("utf-8"))
    # before: read, with the header 'ï»¿sender' and the text 'Â£5 Ã\xa0 bientÃ´t'
    with pytest.raises(DataError, match=r"dev.csv: starts with a UTF-8 byte-order mark: it "
                                        r"is UTF-8, not latin-1"):
        read_table(path, "latin-1")
    assert read_table(path)["text"].tolist() == ["£5 à bientôt"]


def test_init_writes_the_split_in_the_sources_format(tmp_path, make_task):
    frames = make_task.frames()
    data = pd.concat([frames["train"], frames["dev"], frames["test"]], ignore_index=True)
    source = tmp_path / "all.jsonl"
    with open(source, "w", encoding="utf-8") as out:
        for i, row in enumerate(data.to_dict("records")):
            out.write(json.dumps({**row, "tags": ["x"] * (i % 3), "n": i}) + "\n")
    assert cli("init", source, "--dir", tmp_path / "t").exit_code == 0
    task = load_task(tmp_path / "t" / "labeling.toml")
    rows = pd.concat([task.splits[s] for s in ("train", "dev", "test")]).sort_values("n")
    # before: data/*.csv, where the lists became the strings "[]", "['x']"
    assert rows["tags"].tolist() == [["x"] * (i % 3) for i in range(len(data))]
    assert rows["n"].tolist() == list(range(len(data)))
    assert load_config(tmp_path / "t" / "labeling.toml").data.dev.name == "dev.jsonl"


def test_init_refuses_a_column_named_as_a_role_beside_the_chosen_one(tmp_path, make_task):
    data = make_task.frames()["dev"].rename(columns={"text": "message"})
    data["text"] = "raw " + data["message"]
    data.to_csv(tmp_path / "two_texts.csv", index=False)
    # before: written, and the task then refused to load data/dev.csv
    one_error_line(cli("init", tmp_path / "two_texts.csv", "--dir", tmp_path / "t",
                       "--text-column", "message"),
                   "two_texts.csv: a column 'text' besides --text-column 'message'")
    assert not (tmp_path / "t").exists()
