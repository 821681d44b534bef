"""A multi-label prompt LF edited after apply is a changed LF (h127, session 16): its
columns had no fingerprint (the prompt's fields are on the prompt, not its columns), so
`labeling fit` went on with the old answers of an edited question."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from llm_server import fake_openai  # noqa: E402,F401  (the fixture)
from test_multilabel_prompts import _task, script  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from labeling.cli import app  # noqa: E402

from labeling.apply.applied import prompt_definition  # noqa: E402
from labeling.llm.multilabel import multilabel_prompt_lf  # noqa: E402


def _columns(template: str, model: str | None = None):
    return multilabel_prompt_lf("feel", template, {"joy": "happiness", "anger": "rage"},
                                model=model).label_columns


def test_a_multi_label_prompts_columns_have_a_record_that_follows_its_question():
    before = [prompt_definition(c, 2) for c in _columns("Which feelings? {text}")]
    assert all(before) and len(set(before)) == 2  # one per column
    edited = [prompt_definition(c, 2) for c in _columns("Calm or upset? {text}")]
    other_model = [prompt_definition(c, 2) for c in _columns("Which feelings? {text}", "m2")]
    assert not set(before) & set(edited) and not set(before) & set(other_model)
    assert [prompt_definition(c, 2) for c in _columns("Which feelings? {text}")] == before


def test_fit_after_editing_a_multi_label_prompt_says_it_changed(fake_openai, monkeypatch,
                                                                 tmp_path):
    # h127's reproduction: apply, edit "calm or upset", fit: it fitted the old answers
    fake_openai.content = script
    monkeypatch.setenv("OPENAI_BASE_URL", fake_openai.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-secret")
    config = _task(tmp_path / "t")
    applying = CliRunner().invoke(app, ["apply", str(config), "--no-progress"])
    assert applying.exit_code == 0, applying.output
    lfs = tmp_path / "t" / "lfs.py"
    lfs.write_text(lfs.read_text().replace("calm or upset", "upset or calm"))
    result = CliRunner().invoke(app, ["fit", str(config)])
    assert result.exit_code == 2, result.output
    assert "changed: calm:neutral, calm:anger" in " ".join(result.output.split())
