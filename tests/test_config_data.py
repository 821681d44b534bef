"""Config and data loading: each bad input is a typed, one-line error naming the culprit."""

from __future__ import annotations

import pandas as pd
import pytest

from labeling.config import load_config
from labeling.data import load_split, read_table
from labeling.errors import ConfigError, DataError, LabelingError, LFLoadError
from labeling.lf.loader import load_lfs
from labeling.pipeline import load_task


def one_line(exc: BaseException) -> str:
    message = str(exc)
    assert "\n" not in message, message
    return message


# --- config ----------------------------------------------------------------------

def test_valid_config_loads_with_paths_relative_to_its_folder(make_task):
    path = make_task()
    config = load_config(path)
    assert config.name == "tiny" and config.labels == ["ham", "spam"]
    assert config.cardinality == 2 and config.positive_index == 1
    assert config.base_dir == path.parent.resolve()
    assert config.resolve(config.data.train) == path.parent.resolve() / "train.csv"
    assert config.run_dir == path.parent.resolve() / "run"
    assert load_config(path.parent).name == "tiny"  # a folder means its labeling.toml


def test_bundled_config_is_valid(repo_root):
    config = load_config(repo_root / "labeling.toml")
    assert config.labels == ["ham", "spam"] and config.positive_label == "spam"


def test_config_not_found(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "nope.toml")
    assert "nope.toml" in one_line(info.value) and "not found" in str(info.value)
    with pytest.raises(ConfigError, match="labeling.toml: config file not found"):
        load_config(tmp_path)  # a folder without labeling.toml


def test_invalid_toml(make_task):
    path = make_task(toml='name = "tiny"\nlabels = ["ham", "spam"\n')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = one_line(info.value)
    assert str(path) in message and "not valid TOML" in message


def test_config_not_utf8(make_task):
    path = make_task(toml=b'name = "caf\xe9"\n')
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(path)


@pytest.mark.parametrize("override, key", [
    ({"postive_label": "spam"}, "postive_label"),
    ({"data": {"text_colum": "text"}}, "data.text_colum"),
    ({"label_model": {"param": {"epochs": 5}}}, "label_model.param"),
])
def test_unknown_key_is_an_error(make_task, override, key):
    path = make_task(config=override)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = one_line(info.value)
    assert str(path) in message
    assert f"{key}:" in message and "Extra inputs are not permitted" in message


def test_positive_label_not_in_labels(make_task):
    with pytest.raises(ConfigError) as info:
        load_config(make_task(config={"positive_label": "eggs"}))
    message = one_line(info.value)
    assert "positive_label 'eggs' is not one of the labels ['ham', 'spam']" in message


def test_duplicate_labels(make_task):
    with pytest.raises(ConfigError, match=r"labels must be unique.*'spam', 'spam'"):
        load_config(make_task(config={"labels": ["ham", "spam", "spam"]}))


def test_missing_required_key_and_bad_values(make_task):
    with pytest.raises(ConfigError, match=r": lfs: Field required"):
        load_config(make_task(config={"lfs": make_task.DELETE}))
    with pytest.raises(ConfigError, match=r": labels: "):
        load_config(make_task(config={"labels": ["only"]}))
    with pytest.raises(ConfigError, match=r": name: "):
        load_config(make_task(config={"name": "has spaces/slash"}))


# --- data files -------------------------------------------------------------------

def test_tiny_task_loads(make_task):
    task = load_task(make_task())
    assert [lf.name for lf in task.lfs] == ["kw_spam", "kw_ham", "long_text"]
    dev = task.splits["dev"]
    assert list(dev.columns[:3]) == ["id", "text", "label"]
    assert dev["label"].tolist() == [1, 1, 1, 1, 0, 0, 0, 0]
    assert dev["label"].dtype == "int64"


def test_missing_data_file(make_task):
    path = make_task(dev=False)
    with pytest.raises(DataError) as info:
        load_task(path)
    message = one_line(info.value)
    assert str(path.parent / "dev.csv") in message and "data file not found" in message


def test_missing_text_column(make_task):
    with pytest.raises(DataError) as info:
        load_task(make_task(config={"data": {"text_column": "body"}}))
    message = one_line(info.value)
    assert "train.csv" in message
    assert "no text column 'body'" in message
    assert "columns: id, text, label" in message
    assert "data.text_column" in message


def test_missing_label_column_in_dev(make_task):
    dev = make_task.frames()["dev"].drop(columns="label")
    with pytest.raises(DataError) as info:
        load_task(make_task(dev=dev))
    message = one_line(info.value)
    assert "dev.csv" in message and "no label column 'label'" in message


def test_missing_id_column(make_task):
    test = make_task.frames()["test"].drop(columns="id")
    with pytest.raises(DataError, match=r"test.csv: no id column 'id'"):
        load_task(make_task(test=test))


@pytest.mark.parametrize("content", ["id,text,label\n", "", "\n"])
def test_empty_dataset(make_task, content):
    path = make_task(train=content)
    with pytest.raises(DataError) as info:
        load_task(path)
    message = one_line(info.value)
    assert "train.csv" in message


def test_header_only_says_no_rows(make_task):
    with pytest.raises(DataError, match=r"train.csv: no rows"):
        load_task(make_task(train="id,text,label\n"))


def test_non_utf8_file_names_file_and_line(make_task):
    path = make_task(dev=b"id,text,label\nd1,good,ham\nd2,caf\xe9,ham\n")
    with pytest.raises(DataError) as info:
        load_task(path)
    message = one_line(info.value)
    assert str(path.parent / "dev.csv") in message
    assert "not valid UTF-8" in message and "line 3" in message


def test_non_utf8_jsonl(make_task):
    path = make_task(config={"data": {"train": "train.jsonl"}},
                     train=b'{"id": "a", "text": "ok"}\n{"id": "b", "text": "caf\xe9"}\n')
    with pytest.raises(DataError, match=r"train.jsonl: not valid UTF-8.*line 2"):
        load_task(path)


def test_utf8_bom_is_accepted(make_task):
    path = make_task(dev="\ufeffid,text,label\nd1,café,ham\nd2,buy,spam\n")
    dev = load_task(path).splits["dev"]
    assert dev["id"].tolist() == ["d1", "d2"] and dev["text"].tolist() == ["café", "buy"]


def test_unknown_gold_label_names_row_and_column(make_task):
    dev = make_task.frames()["dev"]
    dev.loc[2, "label"] = "eggs"
    path = make_task(dev=dev)
    with pytest.raises(DataError) as info:
        load_task(path)
    message = one_line(info.value)
    assert "dev.csv" in message
    assert "row 3" in message  # 1-based, header excluded
    assert "column 'label'" in message
    assert "unknown label 'eggs'" in message and "labels: ham, spam" in message


def test_unknown_gold_label_names_the_configured_column(make_task):
    """The error should name the file's own column, not the internal name 'label'."""
    frames = make_task.frames()
    test = frames["test"].rename(columns={"label": "category"})
    test.loc[0, "category"] = "eggs"
    dev = frames["dev"].rename(columns={"label": "category"})
    path = make_task(dev=dev, test=test, config={"data": {"label_column": "category"}})
    with pytest.raises(DataError) as info:
        load_task(path)
    message = one_line(info.value)
    assert "test.csv" in message and "row 1" in message
    assert "column 'category'" in message


def test_empty_gold_label(make_task):
    dev = make_task.frames()["dev"]
    dev.loc[4, "label"] = ""
    with pytest.raises(DataError, match=r"dev.csv: row 5, column 'label': unknown label \(empty\)"):
        load_task(make_task(dev=dev))


def test_out_of_range_integer_gold_label(make_task):
    dev = make_task.frames()["dev"]
    dev["label"] = [1, 1, 1, 1, 0, 0, 0, 2]
    with pytest.raises(DataError, match=r"row 8, column 'label': unknown label '2'"):
        load_task(make_task(dev=dev))


def test_duplicate_ids(make_task):
    test = make_task.frames()["test"]
    test.loc[3, "id"] = test.loc[1, "id"]
    with pytest.raises(DataError) as info:
        load_task(make_task(test=test))
    message = one_line(info.value)
    assert "test.csv" in message
    assert f"id '{test.loc[1, 'id']}' appears more than once in column 'id'" in message


def test_gold_labels_as_ints(make_task):
    frames = make_task.frames()
    dev = frames["dev"].assign(label=lambda d: (d["label"] == "spam").astype(int))
    task = load_task(make_task(dev=dev))
    assert task.splits["dev"]["label"].tolist() == dev["label"].tolist()
    assert task.splits["dev"]["label"].tolist() == [1, 1, 1, 1, 0, 0, 0, 0]


def test_gold_labels_mixing_names_and_ints(make_task):
    dev = make_task.frames()["dev"]
    dev["label"] = ["spam", "1", "spam", 1, "ham", "0", 0, "ham"]
    task = load_task(make_task(dev=dev))
    assert task.splits["dev"]["label"].tolist() == [1, 1, 1, 1, 0, 0, 0, 0]


def test_train_label_column_is_dropped(make_task):
    train = make_task.frames()["train"]
    train["label"] = "not-a-label"  # train gold is never read, so never validated
    task = load_task(make_task(train=train))
    assert "label" not in task.splits["train"].columns
    assert task.splits["train"]["text"].tolist() == train["text"].tolist()


def test_train_without_label_column_is_fine(make_task):
    train = make_task.frames()["train"].drop(columns="label")
    task = load_task(make_task(train=train))
    assert len(task.splits["train"]) == len(train)


def test_configured_column_names_are_renamed(make_task):
    frames = make_task.frames()
    renamed = {k: df.rename(columns={"id": "uid", "text": "body", "label": "gold"})
               .assign(author="someone") for k, df in frames.items()}
    path = make_task(**renamed, config={"data": {"text_column": "body", "label_column": "gold",
                                                 "id_column": "uid"}})
    task = load_task(path)
    dev = task.splits["dev"]
    assert {"id", "text", "label", "author"} <= set(dev.columns)
    assert dev["text"].tolist() == frames["dev"]["text"].tolist()
    assert dev["id"].tolist() == frames["dev"]["id"].tolist()


def test_literal_na_strings_stay_text(make_task):
    dev = make_task.frames()["dev"]
    dev.loc[0, "text"] = "NA"
    dev.loc[1, "text"] = "null"
    dev.loc[2, "text"] = ""
    task = load_task(make_task(dev=dev))
    assert task.splits["dev"]["text"].tolist()[:3] == ["NA", "null", ""]


def test_jsonl_and_parquet_inputs_load(make_task):
    frames = make_task.frames()
    dev = frames["dev"].assign(label=lambda d: (d["label"] == "spam").astype(int))
    test = frames["test"].copy()
    test["id"] = range(100, 100 + len(test))  # integer ids become strings
    test.loc[0, "text"] = None  # missing text becomes ""
    path = make_task(dev=dev, test=test, config={"data": {"dev": "dev.jsonl",
                                                          "test": "test.parquet",
                                                          "train": "train.jsonl"}})
    assert (path.parent / "dev.jsonl").is_file() and (path.parent / "test.parquet").is_file()
    task = load_task(path)
    assert task.splits["dev"]["label"].tolist() == [1, 1, 1, 1, 0, 0, 0, 0]
    assert task.splits["dev"]["text"].tolist() == frames["dev"]["text"].tolist()
    assert task.splits["test"]["id"].tolist() == [str(i) for i in range(100, 108)]
    assert task.splits["test"]["text"].iloc[0] == ""
    assert task.splits["test"]["label"].tolist() == [1, 1, 1, 1, 0, 0, 0, 0]
    assert len(task.splits["train"]) == len(frames["train"])


def test_invalid_jsonl_line(make_task):
    path = make_task(config={"data": {"dev": "dev.jsonl"}},
                     dev='{"id": "a", "text": "x", "label": "ham"}\n{"id": "b", \n')
    with pytest.raises(DataError, match=r"dev.jsonl: line 2: not valid JSON"):
        load_task(path)


def test_unsupported_file_type(tmp_path):
    path = tmp_path / "data.xlsx"
    path.write_bytes(b"whatever")
    with pytest.raises(DataError, match=r"data.xlsx: unsupported file type '.xlsx'"):
        read_table(path)


def test_corrupt_parquet(tmp_path):
    path = tmp_path / "data.parquet"
    path.write_bytes(b"not parquet at all")
    with pytest.raises(DataError, match=r"data.parquet: cannot parse"):
        read_table(path)


def test_split_without_file_is_none(make_task):
    path = make_task(config={"data": {"test": make_task.DELETE}})
    task = load_task(path)
    assert task.splits["test"] is None and task.gold("test") is None
    with pytest.raises(ValueError):
        load_split(task.config, "validation")


# --- LF modules --------------------------------------------------------------------

def test_lf_module_failing_to_import_names_module_and_line(make_task):
    source = ("from labeling import keyword_lf\n"
              "\n"
              "ok = keyword_lf('song', label=0)\n"
              "broken = keyword_lf(undefined_name, label=1)\n")
    config = make_task(lf_source=source)
    with pytest.raises(LFLoadError) as info:
        load_task(config)
    message = one_line(info.value)
    # the path the config resolves (was "lfs.py" as written: ambiguous from another folder)
    assert message.startswith(f"{config.resolve().parent / 'lfs.py'}: failed to import")
    assert "(line 4)" in message
    assert "NameError" in message and "undefined_name" in message


def test_lf_module_raising_in_a_helper_names_the_module_line(make_task):
    source = ("def helper():\n"
              "    return 1 / 0\n"
              "\n"
              "VALUE = helper()\n")
    with pytest.raises(LFLoadError) as info:
        load_task(make_task(lf_source=source))
    message = one_line(info.value)
    assert "lfs.py" in message and "ZeroDivisionError" in message
    assert "(line 2)" in message  # the innermost line in the module itself


def test_lf_module_with_syntax_error(make_task):
    with pytest.raises(LFLoadError) as info:
        load_task(make_task(lf_source="x = 1\ndef broken(:\n"))
    message = one_line(info.value)
    assert "lfs.py" in message and "SyntaxError" in message and "line 2" in message


def test_lf_module_importing_missing_package(make_task):
    with pytest.raises(LFLoadError, match=r"lfs.py: failed to import.*ModuleNotFoundError.*"
                                          r"no_such_pkg_xyz"):
        load_task(make_task(lf_source="import no_such_pkg_xyz\n"))


def test_lf_module_with_no_lfs(make_task):
    with pytest.raises(LFLoadError, match=r"lfs.py: defines no labeling functions"):
        load_task(make_task(lf_source="HAM, SPAM = 0, 1\n"))


def test_lf_module_not_found(make_task):
    with pytest.raises(LFLoadError, match=r"missing_lfs.py: LF module not found"):
        load_task(make_task(config={"lfs": ["missing_lfs.py"]}))


def test_lfs_list_is_respected(make_task):
    source = ("from labeling import keyword_lf\n"
              "a = keyword_lf('x', label=0, name='a')\n"
              "b = keyword_lf('y', label=1, name='b')\n"
              "LFS = [b]\n")
    assert [lf.name for lf in load_task(make_task(lf_source=source)).lfs] == ["b"]


def test_duplicate_lf_names_across_modules(make_task):
    path = make_task(config={"lfs": ["lfs.py", "more_lfs.py"]},
                     files={"more_lfs.py": "from labeling import keyword_lf\n"
                                           "again = keyword_lf('x', label=1, name='kw_spam')\n"})
    with pytest.raises(LFLoadError, match="repeated: kw_spam"):
        load_task(path)


def test_dotted_module_entry(make_task):
    path = make_task(config={"lfs": ["pkg_tiny_lfs.rules"]},
                     files={"pkg_tiny_lfs/__init__.py": "",
                            "pkg_tiny_lfs/rules.py": "from labeling import regex_lf\n"
                                                     "r = regex_lf('a+', label=1, name='r_a')\n"})
    lfs = load_lfs(["pkg_tiny_lfs.rules"], path.parent)
    assert [lf.name for lf in lfs] == ["r_a"]


def test_all_errors_are_labeling_errors():
    for cls in (ConfigError, DataError, LFLoadError):
        assert issubclass(cls, LabelingError)


def test_loaded_bundled_task(repo_root):
    task = load_task(repo_root / "labeling.toml")
    sizes = {s: len(df) for s, df in task.splits.items()}
    expected = {s: len(pd.read_csv(repo_root / "data" / "youtube" / f"{s}.csv"))
                for s in ("train", "dev", "test")}
    assert sizes == expected
    assert set(task.splits["test"]["label"]) == {0, 1}
