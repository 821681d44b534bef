"""A prompt LF's apply record follows what moves its votes outside its own code (session
18): the task's labels, for a prompt answering by label name (the answer "spam" is vote 1
under labels ["ham", "spam"] and vote 0 under ["spam", "ham"]), and the files of an
``[llm] local_model`` folder (a model retrained in place answers otherwise). Before,
reordering the labels left the record as it was: `labeling fit` took L.parquet's old
indices under the new order, every vote of such a prompt flipped, without a word."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parent))
from llm_server import fake_openai  # noqa: E402,F401  (the fixture)

from labeling.apply.applied import prompt_definition  # noqa: E402
from labeling.cli import app  # noqa: E402
from labeling.llm import prompt_lf  # noqa: E402
from labeling.llm.settings import LLMSettings  # noqa: E402

LFS = '''\
from labeling import keyword_lf
from labeling.llm import prompt_lf

kind = prompt_lf("kind", "What is this comment?\\n{text}",
                 labels={"spam": "an ad asking to subscribe", "ham": "a comment"})
kw = keyword_lf(["subscribe"], label=1)
'''
TEXTS = ["please subscribe to me", "nice song", "subscribe now", "i love this",
         "great video", "subscribe for more"]


def _task(root: Path, labels: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "lfs.py").write_text(LFS)
    rows = pd.DataFrame({"text": TEXTS * 4})
    rows.insert(0, "id", [f"r{i}" for i in range(len(rows))])
    rows["label"] = ["spam" if "subscribe" in t else "ham" for t in rows.text]
    rows.drop(columns="label").to_csv(root / "train.csv", index=False)
    rows.to_csv(root / "dev.csv", index=False)
    rows.to_csv(root / "test.csv", index=False)
    config = root / "labeling.toml"
    config.write_text(f'''name = "order"
labels = {labels}
lfs = ["lfs.py"]

[data]
train = "train.csv"
dev = "dev.csv"
test = "test.csv"

[label_model]
name = "mv"
''')
    return config


def test_fit_after_reordering_the_labels_asks_to_apply_a_prompt_answering_by_name(
        fake_openai, monkeypatch, tmp_path):
    monkeypatch.setenv("OPENAI_BASE_URL", fake_openai.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-secret")
    config = _task(tmp_path / "t", '["ham", "spam"]')
    applied = CliRunner().invoke(app, ["apply", str(config), "--no-progress"])
    assert applied.exit_code == 0, applied.output
    config.write_text(config.read_text().replace('["ham", "spam"]', '["spam", "ham"]'))
    result = CliRunner().invoke(app, ["fit", str(config)])
    assert result.exit_code == 2, result.output
    assert "changed: kind" in " ".join(result.output.split())


def test_only_prompts_answering_by_label_name_record_the_labels():
    by_name = prompt_lf("kind", "What is it?\n{text}", labels={"spam": "an ad", "ham": "a note"})
    by_index = prompt_lf("ask", "Is it an ad?\n{text}", answers={"yes": 1, "no": -1})
    assert (prompt_definition(by_name, 2, None, ["ham", "spam"])
            != prompt_definition(by_name, 2, None, ["spam", "ham"]))
    # a yes/no prompt voting indices keeps its record (and so its fingerprint of before)
    assert (prompt_definition(by_index, 2, None, ["ham", "spam"])
            == prompt_definition(by_index, 2, None, ["spam", "ham"])
            == prompt_definition(by_index, 2, None))


def test_a_local_model_retrained_in_its_folder_changes_the_record(tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (folder / "model.safetensors").write_bytes(b"weights v1")
    asked = prompt_lf("ask", "Is it an ad?\n{text}", answers={"yes": 1, "no": -1})
    llm = LLMSettings(backend="local", local_model=folder)
    before = prompt_definition(asked, 2, llm)
    (folder / "model.safetensors").write_bytes(b"weights v2, retrained")
    assert prompt_definition(asked, 2, llm) != before
    # the shipped model (no local_model): no files read, the record of before
    assert prompt_definition(asked, 2, LLMSettings(backend="local")) == prompt_definition(
        asked, 2, LLMSettings(backend="local"))
