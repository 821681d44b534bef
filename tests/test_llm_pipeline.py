"""A whole `labeling run` with prompt LFs against the fake OpenAI-compatible endpoint:
plan numbers equal the requests the server saw, a rerun makes none, and the API key is
in no file the run wrote (artifacts, caches, model, model card)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent))
from llm_server import fake_openai  # noqa: E402,F401  (the fixture)
from secret_scan import files_holding  # noqa: E402

from labeling.cli import app  # noqa: E402
from labeling.pipeline import load_task, plan  # noqa: E402

SECRET = "sk-pipeline-SECRET-0a1b2c3d4e"
PROMPT_LFS = '''\
from labeling import ABSTAIN, keyword_lf
from labeling.llm import prompt_lf

HAM, SPAM = 0, 1
spam_words = keyword_lf(["subscribe", "channel", "free"], label=SPAM, name="kw_spam")
ham_words = keyword_lf(["song", "love"], label=HAM, name="kw_ham")
llm_promo = prompt_lf("llm_promo", "Does this ask to subscribe? {text}",
                      answers={"yes": SPAM, "no": HAM})
llm_kind = prompt_lf("llm_kind", "Spam or ham? Comment: {text}",
                     labels={"spam": "self-promotion", "ham": "a real comment"})
'''


def test_run_against_endpoint_plans_exactly_caches_and_never_writes_the_key(
        fake_openai, make_task, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("OPENAI_BASE_URL", fake_openai.base_url)
    config = make_task(lf_source=PROMPT_LFS, config={"llm": {"progress": False, "budget": 5.0}})
    task = load_task(config)
    planned = plan(task)
    assert {p["lf"] for p in planned} == {"llm_promo", "llm_kind"}
    # Nothing is in the response cache yet; dev/test prompts repeating train ones will be.
    assert all(p["cached"] == 0 for p in planned if p["split"] == "train")

    result = CliRunner().invoke(app, ["run", str(config), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "openai" in result.output  # the stats table says which backend answered
    # Identical prompts share one call, within a split and across splits (dev and test
    # texts repeat train texts here), so the plan counts distinct requests.
    assert fake_openai.received == sum(p["to_call"] for p in planned) > 0
    assert sum(p["calls"] for p in planned) > sum(p["to_call"] for p in planned)
    metrics = json.loads((task.run_dir / "metrics.json").read_text())
    assert metrics["llm"]["backend"] == "openai"
    assert set(metrics["llm"]["lfs"]) == {"llm_promo", "llm_kind"}
    assert fake_openai.auth_seen == {f"Bearer {SECRET}"}

    before = fake_openai.received
    again = CliRunner().invoke(app, ["run", str(config), "--no-progress"])
    assert again.exit_code == 0, again.output
    assert fake_openai.received == before  # everything came from the response cache
    replanned = plan(load_task(config))
    assert all(p["cached"] == p["calls"] and p["to_call"] == 0 for p in replanned), replanned

    written = [p for p in config.parent.rglob("*") if p.is_file()]
    names = {p.name for p in written}
    assert {"metrics.json", "L.parquet", "model.skops", "model_card.json",
            "llm_responses.sqlite"} <= names
    assert files_holding(written, SECRET) == []  # zip members and Parquet cells too


def test_a_prompt_lfs_outcome_line_names_the_split_its_rows_are_numbered_in(
        fake_openai, make_task, monkeypatch):
    # before: "prompt LF 'llm_promo': 1 replies were not an allowed answer ...; first:
    # row 1" did not say which split's row 1
    from conftest import SPAM_TEXTS

    monkeypatch.setenv("OPENAI_BASE_URL", fake_openai.base_url)
    fake_openai.inject(SPAM_TEXTS[0], "offlabel")
    config = make_task(lf_source=PROMPT_LFS, config={"llm": {"progress": False}})
    result = CliRunner().invoke(app, ["apply", str(config), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "prompt LF 'llm_promo' on train: 1 replies were not an allowed answer" in result.output
