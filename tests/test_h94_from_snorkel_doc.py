"""docs/from_snorkel.md's example runs as written: the tool's L, LF summary and snorkel
label model against snorkel's own on a tiny task."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def doc_block() -> str:
    text = (ROOT / "docs" / "from_snorkel.md").read_text(encoding="utf-8")
    match = re.search(r"<!-- from-snorkel-example -->\s*```python\n(.*?)```", text, re.S)
    assert match, "docs/from_snorkel.md has no python block after its marker"
    return match.group(1)


def test_the_from_snorkel_example_runs(make_task, monkeypatch):
    config = make_task(config={"label_model": {"name": "snorkel",
                                               "params": {"epochs": 500, "seed": 123}}})
    monkeypatch.chdir(config.parent)
    namespace: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # snorkel's and scipy's own
        exec(compile(doc_block(), "docs/from_snorkel.md", "exec"), namespace)  # noqa: S102
    assert len(namespace["df_filtered"]) == len(namespace["probs_filtered"]) > 0
    assert namespace["L_train"].shape == (len(namespace["df_train"]), 3)
