"""`labeling init DATA --dev FILE` for a 6-class task: the config it writes says what
leaving out positive_label means and where the test split goes (none was made)."""

import tomllib

import pandas as pd

from labeling.config import load_config
from labeling.scaffold import init_task

LABELS = ["ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"]


def test_init_with_a_dev_file_hints_at_test_and_positive_label(tmp_path):
    pd.DataFrame({"id": ["t1", "t2"], "text": ["who is it ?", "where is it ?"]}).to_csv(
        tmp_path / "questions.csv", index=False)
    pd.DataFrame({"id": [f"d{k}" for k in range(6)], "text": [f"q {k} ?" for k in range(6)],
                  "label": LABELS}).to_csv(tmp_path / "dev.csv", index=False)
    init_task(tmp_path / "questions.csv", tmp_path / "task", name="trec6",
              labels=LABELS, dev=tmp_path / "dev.csv")
    text = (tmp_path / "task" / "labeling.toml").read_text()
    assert "without it, accuracy does and the tables show macro-F1" in text
    assert '# test = "..."' in text
    config = tomllib.loads(text)
    assert "positive_label" not in config and "test" not in config["data"]
    assert load_config(tmp_path / "task" / "labeling.toml").labels == LABELS
