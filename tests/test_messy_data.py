"""A marketplace's messy exports (docs/data.md): a JSONL text ending in half an emoji,
a text column that is empty in every row. Each is one line naming the file, the line or
the column, before anything is written."""

from __future__ import annotations

import pandas as pd
import pytest

from labeling.config import load_config
from labeling.data import load_split, read_table
from labeling.errors import DataError, LabelingError
from labeling.scaffold import init_task


def one_line(exc: BaseException) -> str:
    assert "\n" not in str(exc), str(exc)
    return str(exc)


def test_jsonl_lone_surrogate_names_the_line_and_key(tmp_path):
    path = tmp_path / "msgs.jsonl"
    path.write_text('{"id": "1", "text": "ok \\ud83d\\ude00"}\n'   # a whole pair: one emoji
                    '{"id": "2", "text": "cut \\ud83d"}\n', encoding="utf-8")
    with pytest.raises(DataError) as info:
        read_table(path)
    message = one_line(info.value)
    assert str(path) in message and "line 2" in message and "'text'" in message
    assert "surrogate" in message


def test_jsonl_whole_emoji_pair_reads_as_one_character(tmp_path):
    path = tmp_path / "msgs.jsonl"
    path.write_text('{"id": "1", "text": "ok \\ud83d\\ude00"}\n', encoding="utf-8")
    assert read_table(path)["text"].tolist() == ["ok \U0001f600"]


def test_init_refuses_a_lone_surrogate_in_one_line_not_a_traceback(tmp_path):
    data = tmp_path / "msgs.jsonl"
    data.write_text("".join(f'{{"id": "{i}", "text": "t \\ud83d", "label": "{"ab"[i % 2]}"}}\n'
                            for i in range(40)), encoding="utf-8")
    with pytest.raises(LabelingError, match=r"line 1: key 'text' holds a lone UTF-16"):
        init_task(data, tmp_path / "task")
    assert not (tmp_path / "task").exists()


def test_an_empty_text_column_names_the_file_and_column(make_task):
    frame = pd.DataFrame({"id": ["a", "b"], "text": ["", " "], "label": ["ham", "spam"]})
    config = load_config(make_task(dev=frame))
    with pytest.raises(DataError) as info:
        load_split(config, "dev")
    message = one_line(info.value)
    assert "dev" in message and "column 'text' is empty in all 2 rows" in message
    assert "data.text_column" in message


def test_init_refuses_an_empty_text_column(tmp_path):
    data = tmp_path / "export.csv"
    data.write_text("id,text,label\n" + "".join(f"{i},,{'ab'[i % 2]}\n" for i in range(40)),
                    encoding="utf-8")
    with pytest.raises(LabelingError, match=r"export.csv: column 'text' is empty in all 40 "
                                            r"rows.*--text-column"):
        init_task(data, tmp_path / "task")


def test_gold_labels_match_the_config_whatever_the_accent_encoding(make_task, tmp_path):
    decomposed = "A\u0308rger"  # the config writes it composed: "\u00c4rger"
    frame = pd.DataFrame({"id": ["a", "b"], "text": ["x", "y"], "label": [decomposed, "ok"]})
    config = load_config(make_task(dev=frame, config={"labels": ["\u00c4rger", "ok"],
                                                      "positive_label": "ok"}))
    assert load_split(config, "dev")["label"].tolist() == [0, 1]


def test_leakage_finds_a_text_repeated_with_its_accents_encoded_otherwise():
    from labeling.data import leakage_report

    train = pd.DataFrame({"id": ["t1"], "text": ["Le caf\u00e9 est ferm\u00e9"]})
    test = pd.DataFrame({"id": ["x1"], "text": ["Le cafe\u0301 est  ferme\u0301"]})
    found = leakage_report({"train": train, "test": test})["train/test"]
    assert found["shared_texts"] == 1 and found["shared_text_examples"] == [["t1", "x1"]]


def test_parquet_category_columns_read_as_their_values(make_task, tmp_path):
    frame = pd.DataFrame({"id": ["a", "b", "c"], "text": ["x y", None, "x y"],
                          "label": ["ham", "spam", "ham"]}).astype("category")
    frame.to_parquet(tmp_path / "dev.parquet", index=False)
    config = load_config(make_task(dev=False, config={"data": {
        "dev": str(tmp_path / "dev.parquet"), "id_column": "id"}}))
    dev = load_split(config, "dev")
    assert dev["id"].tolist() == ["a", "b", "c"] and dev["text"].tolist() == ["x y", "", "x y"]
    assert dev["label"].tolist() == [0, 1, 0]


def test_a_cp1252_file_read_as_latin1_names_the_euro_sign_not_mojibake(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes("id,text\n1,nur 50 € heute\n".encode("cp1252"))
    with pytest.raises(DataError) as info:
        read_table(path, "latin-1")
    message = one_line(info.value)
    assert "excel.csv: byte 0x80" in message and "line 2" in message
    assert "'€' in cp1252" in message and '"cp1252"' in message
    assert read_table(path, "cp1252")["text"].tolist() == ["nur 50 € heute"]
    path.write_bytes("id,text\n1,café crème\n".encode("latin-1"))  # true latin-1 still reads
    assert read_table(path, "latin-1")["text"].tolist() == ["café crème"]


MESSY = ["Straße gesperrt?\r\nBitte melden", "İSTANBUL'dan \"hızlı\" kargo", "caf\u0065\u0301 &amp; crème",
         "tab\there", "hot🔥🔥 deal ❤️", "東京から発送します", "Привет, оплата на карту", "",
         "  spaces kept  ", "50 € bar", "x" * 5000 + " ü"]


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".jsonl", ".parquet"])
def test_init_and_load_keep_ids_and_texts_byte_for_byte(tmp_path, suffix):
    frame = pd.DataFrame({"id": [f"İD-{i:03d}" if i % 3 else f"{i:05d}" for i in range(44)],
                          "text": [MESSY[i % len(MESSY)] for i in range(44)],
                          "label": ["fraud", "ok"] * 22})
    data = tmp_path / f"export{suffix}"
    if suffix == ".csv":  # Excel's "CSV UTF-8": a byte-order mark and CRLF line ends
        frame.to_csv(data, index=False, encoding="utf-8-sig", lineterminator="\r\n")
    elif suffix == ".tsv":
        frame.to_csv(data, index=False, sep="\t")
    elif suffix == ".jsonl":
        frame.to_json(data, orient="records", lines=True, force_ascii=False)
    else:
        frame.to_parquet(data, index=False)
    init_task(data, tmp_path / "task")
    config = load_config(tmp_path / "task" / "labeling.toml")
    read = pd.concat([load_split(config, split) for split in ("train", "dev", "test")])
    expected = dict(zip(frame["id"], frame["text"]))
    assert sorted(read["id"]) == sorted(expected)
    assert all(expected[i] == t for i, t in zip(read["id"], read["text"]))


def test_a_utf8_file_read_as_latin1_is_told_it_is_utf8_not_cp1252(tmp_path):
    """Before: told to read it as cp1252, which then turned '50 €' into '50 â‚¬' without a
    word; a byte cp1252 leaves undefined got the same dead-end advice."""
    path = tmp_path / "utf8.csv"
    path.write_bytes("id,text\n1,nur 50 € heute\n".encode("utf-8"))
    with pytest.raises(DataError) as info:
        read_table(path, "latin-1")
    message = one_line(info.value)
    assert "the whole file is valid UTF-8" in message and "cp1252" not in message
    path.write_bytes(b"id,text\n1,odd \x81 byte\n")  # undefined in cp1252, invalid UTF-8
    with pytest.raises(DataError) as info:
        read_table(path, "latin-1")
    assert "neither UTF-8 nor cp1252" in one_line(info.value)


def test_config_labels_that_are_one_label_in_nfc_are_refused(make_task):
    """Before: ["\u00c4", "A\u0308"] passed as two labels, and every gold row of either
    became the second (gold names are matched in NFC): label 0 had no gold at all."""
    with pytest.raises(LabelingError) as info:
        load_config(make_task(config={"labels": ["\u00c4rger", "A\u0308rger"],
                                      "positive_label": "\u00c4rger"}))
    message = one_line(info.value)
    assert "labels '\\xc4rger' and 'A\\u0308rger' are one label" in message


def test_init_labels_match_the_file_in_nfc(tmp_path):
    """Before: the refusal of mixed encodings advised --labels, and --labels with the
    composed spelling then refused the file's decomposed rows as unknown."""
    data = tmp_path / "export.csv"
    rows = [(i, f"text {i}", ["\u00c4rger", "A\u0308rger", "ok"][i % 3]) for i in range(60)]
    data.write_text("id,text,label\n" + "".join(f"{i},{t},{g}\n" for i, t, g in rows),
                    encoding="utf-8")
    with pytest.raises(LabelingError, match="--labels"):
        init_task(data, tmp_path / "refused")
    written = init_task(data, tmp_path / "task", labels=["\u00c4rger", "ok"])
    assert (tmp_path / "task" / "labeling.toml") in written


def test_init_writes_an_importable_module_for_labels_python_cannot_name():
    """Before: a label "²" gave the constant "²", a SyntaxError in the starter module."""
    from labeling.scaffold import lf_module

    source = lf_module("units", ["m\u00b2", "m\u00b3"])
    compile(source, "units.py", "exec")
    assert "M_SUPERSCRIPT_TWO" in source and "M_SUPERSCRIPT_THREE" in source
