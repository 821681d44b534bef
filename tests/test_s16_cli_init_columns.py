"""`labeling init` finds the text and label columns in any case (a spreadsheet's `Text`,
`LABEL`) and says which it took; with none that fits, one line lists the file's columns
and names the column of longest texts; two spellings of one are refused (h121). Before,
`Text` stopped init with "no column 'text' ... did you mean 'Text'?"."""

import pandas as pd
from typer.testing import CliRunner

from labeling.cli import app
from labeling.config import load_config
from labeling.pipeline import load_task


def _invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def _one_error_line(result, *parts):
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for part in parts:
        assert part in lines[0], lines[0]


def _sheet(make_task, rename) -> pd.DataFrame:
    frames = make_task.frames()
    data = pd.concat([frames["train"], frames["dev"], frames["test"]], ignore_index=True)
    return data.rename(columns=rename)


def test_init_takes_text_and_label_columns_in_any_case(tmp_path, make_task):
    data = _sheet(make_task, {"text": "Text", "label": "LABEL"})
    source = tmp_path / "sheet.csv"
    data.to_csv(source, index=False)
    result = _invoke("init", source, "--dir", tmp_path / "t")
    assert result.exit_code == 0, result.output  # before: exit 2, no column 'text'
    assert "text column: 'Text' (--text-column to choose another)" in result.output
    assert "label column: 'LABEL' (--label-column to choose another)" in result.output
    config = load_config(tmp_path / "t")
    assert (config.data.text_column, config.data.label_column) == ("Text", "LABEL")
    assert config.labels == ["ham", "spam"]
    task = load_task(tmp_path / "t" / "labeling.toml")  # the task runs as written
    assert set(task.splits["dev"]["text"]) <= set(data["Text"])


def test_init_with_no_text_column_lists_the_columns_and_the_likely_one(tmp_path, make_task):
    source = tmp_path / "mail.csv"
    data = _sheet(make_task, {"text": "body"})
    data.insert(1, "subject", "re: hi")
    data.to_csv(source, index=False)
    _one_error_line(_invoke("init", source, "--dir", tmp_path / "t"),
                    "mail.csv: no column 'text' in any case (columns: id, subject, body, "
                    "label); pass --text-column NAME, e.g. --text-column body")
    # a column given by name is looked up as given: "Body" is not "body"
    _one_error_line(_invoke("init", source, "--dir", tmp_path / "t", "--text-column", "Body"),
                    "no column 'Body'", "did you mean 'body'?", "--text-column")


def test_init_refuses_two_spellings_of_the_text_column(tmp_path, make_task):
    source = tmp_path / "two.csv"
    data = _sheet(make_task, {"text": "Text"})
    data["TEXT"] = data["Text"].str.upper()
    data.to_csv(source, index=False)
    _one_error_line(_invoke("init", source, "--dir", tmp_path / "t"),
                    "columns 'Text', 'TEXT' both read as 'text': pass --text-column")
    ok = _invoke("init", source, "--dir", tmp_path / "t", "--text-column", "TEXT")
    assert ok.exit_code == 0, ok.output
    assert load_config(tmp_path / "t").data.text_column == "TEXT"


def test_init_without_a_label_column_names_both_ways_on(tmp_path, make_task):
    source = tmp_path / "cat.csv"
    _sheet(make_task, {"label": "category"}).to_csv(source, index=False)
    # before: only "give the labels with --labels a,b,...", which makes every row
    # unlabeled (no dev split) when the gold is in 'category'
    _one_error_line(_invoke("init", source, "--dir", tmp_path / "t"),
                    "cat.csv: no column 'label' (columns: id, text, category): pass "
                    "--label-column NAME for the file's gold labels, or --labels a,b,... "
                    "for a file without any")
    _one_error_line(_invoke("init", source, "--dir", tmp_path / "t", "--labels", "spam"),
                    "--labels spam: a task needs two or more labels")
    one = tmp_path / "one.csv"
    one.write_text("text,label\nhello,x\nthere,x\nyou,\n", encoding="utf-8")
    _one_error_line(_invoke("init", one, "--dir", tmp_path / "t"),
                    "one.csv: column 'label' holds only 'x': a task needs two or more "
                    "labels; give them with --labels a,b,...")


def test_init_of_texts_without_gold_says_there_is_no_dev_split(tmp_path):
    source = tmp_path / "texts.csv"
    source.write_text("text\nhello\nsubscribe now\n", encoding="utf-8")
    result = _invoke("init", source, "--dir", tmp_path / "t", "--labels", "ham,spam")
    assert result.exit_code == 0, result.output
    # before: nothing said, and `labeling dev` then scored nothing
    assert ("no gold label in texts.csv: no dev or test split; LF accuracy and scores need "
            "labeled dev rows (--dev FILE, or label rows in `labeling app`)") in " ".join(
        result.output.split())


def test_init_help_says_the_columns_are_found_in_any_case():
    result = CliRunner().invoke(app, ["init", "--help"], env={"COLUMNS": "400"})
    text = " ".join(result.output.split())
    for role in ("text", "label", "id"):  # before: the id column's "when the file has
        assert f"(default: '{role}', in any case" in text, role  # one" only, as 'ID' is
