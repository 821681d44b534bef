"""The README's notebook example runs as written, on a copy of the bundled task."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def readme_notebook_block() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"<!-- notebook-example -->\s*```python\n(.*?)```", text, re.S)
    assert match, "README.md has no python block after <!-- notebook-example -->"
    return match.group(1)


def test_the_readme_notebook_example_runs(tmp_path, monkeypatch):
    for name in ("labeling.toml", "data", "functions"):
        source = ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, tmp_path / name)
    config = tmp_path / "labeling.toml"
    # One end model and no learning curve keep the test short; the README's steps and
    # calls are unchanged. The prompt LFs use the offline MiniLM backend (no key set).
    text = config.read_text(encoding="utf-8")
    text = re.sub(r'(\[end_model\][^\[]*?)name = "auto"',
                  r'\1name = "tfidf_logreg"\nparams = { learning_curve = false }', text,
                  flags=re.S)
    config.write_text(text, encoding="utf-8")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)

    namespace: dict = {}
    exec(compile(readme_notebook_block(), "README.md", "exec"), namespace)  # noqa: S102

    summary, scores, wrong, report = (namespace[k] for k in ("summary", "scores", "wrong", "report"))
    assert isinstance(summary, pd.DataFrame) and "re_check_out" in summary.index
    assert set(scores) == {"label_model", "majority_vote"}
    assert "test" not in str(scores)  # fit shows dev only
    assert {"re_check_out", "text"} <= set(wrong.columns)
    assert (wrong["re_check_out"] != wrong["gold"]).all()
    assert {"end_model", "gold_only"} <= set(report.index)
    assert any(c.startswith("test_") for c in report.columns)
    assert (tmp_path / "runs" / "youtube" / "model" / "model_card.json").is_file()
    assert os.getcwd() == str(tmp_path)
