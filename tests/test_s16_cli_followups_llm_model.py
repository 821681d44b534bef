"""Only the `[llm] model` edited since the apply: fit's one line names the prompt LFs
and says it is the model that changed (h127). It said "changed: llm_promo, llm_kind"
with nothing on why, as after an edited question."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from conftest import cli, one_error_line  # noqa: E402
from test_newuser_lf_loop import PROMPT_LFS, edit, fake_openai  # noqa: E402,F401

TWO_PROMPTS = PROMPT_LFS + '''\
llm_kind = prompt_lf("llm_kind", "Is this kind? {text}", answers={"yes": HAM, "no": SPAM})
'''


def _applied(fake_openai, make_task, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-followups-0123456789")
    monkeypatch.setenv("OPENAI_BASE_URL", fake_openai.base_url)
    config = make_task(lf_source=TWO_PROMPTS, config={
        "llm": {"progress": False, "model": "gpt-4o-mini"},
        "label_model": {"name": "mv", "params": make_task.DELETE}})
    assert cli("apply", config, "--no-progress").exit_code == 0
    return config


def test_only_the_llm_model_edited_says_so(fake_openai, make_task, monkeypatch):
    config = _applied(fake_openai, make_task, monkeypatch)
    edit(config, 'model = "gpt-4o-mini"', 'model = "gpt-4.1-mini"', file="labeling.toml")
    one_error_line(cli("fit", config), "(changed: llm_promo, llm_kind (the [llm] model: "
                   "gpt-4o-mini -> gpt-4.1-mini))", "run `labeling apply`")


def test_an_edited_question_with_the_model_does_not_blame_the_model(
        fake_openai, make_task, monkeypatch):
    config = _applied(fake_openai, make_task, monkeypatch)
    edit(config, 'model = "gpt-4o-mini"', 'model = "gpt-4.1-mini"', file="labeling.toml")
    edit(config, "Is this kind? {text}", "Is this nice? {text}")
    result = cli("fit", config)
    one_error_line(result, "(changed: llm_promo, llm_kind)", "run `labeling apply`")
    assert "[llm]" not in result.output
