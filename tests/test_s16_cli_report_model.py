"""`labeling report` after labeling.toml's [llm] model was edited since the run (h121):
the prompt LFs' costs are those of the model the run asked (metrics.json llm.settings),
measured or read from the response cache under that model's keys, with a note naming
both models; before, the report refused the run ("applied with other LFs") or, had it
gone on, would have looked the cached replies up under the new model and estimated.
An edited prompt is still another LF: the report refuses it."""

from __future__ import annotations

import json
import sys
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent))
from conftest import dump_toml  # noqa: E402
from llm_server import fake_openai  # noqa: E402,F401  (the fixture)
from test_distill import PROMPT_LFS  # noqa: E402

from labeling.cli import app  # noqa: E402
from labeling.llm.plan import DEFAULT_PRICES  # noqa: E402

RUN_MODEL, NEW_MODEL = "gpt-4o-mini", "gpt-4o"


def _cli(*args):
    result = CliRunner().invoke(app, [str(a) for a in args])
    return result


def _set_model(config: Path, model: str) -> None:
    cfg = tomllib.loads(config.read_text(encoding="utf-8"))
    cfg["llm"]["model"] = model
    config.write_text(dump_toml(cfg), encoding="utf-8")


def _prompt_rows(config: Path) -> dict:
    report = json.loads((config.parent / "run" / "report.json").read_text(encoding="utf-8"))
    return report, {r["name"]: r for r in report["rows"] if r["kind"] == "prompt_lf"}


@pytest.fixture
def endpoint(fake_openai, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-h121")
    monkeypatch.setenv("OPENAI_BASE_URL", fake_openai.base_url)
    return fake_openai


def test_report_costs_the_model_the_run_asked_after_the_config_changed(endpoint, make_task):
    config = make_task(lf_source=PROMPT_LFS,
                       config={"llm": {"progress": False, "model": RUN_MODEL}})
    ran = _cli("run", config, "--no-progress")
    assert ran.exit_code == 0, ran.output
    first = _cli("report", config)
    assert first.exit_code == 0, first.output
    _, before = _prompt_rows(config)
    asked = endpoint.received

    _set_model(config, NEW_MODEL)
    again = _cli("report", config)
    # before: exit 2, "applied with other LFs than the task's now (changed: llm_promo, ...)"
    assert again.exit_code == 0, again.output
    assert endpoint.received == asked  # the report asks nothing
    report, rows = _prompt_rows(config)
    price_in, price_out = DEFAULT_PRICES[RUN_MODEL]
    for name, row in rows.items():
        assert row["model"] == RUN_MODEL and not row["estimated"]
        assert row["cost_per_1m_docs"] == pytest.approx(
            row["tokens_in"] * price_in + row["tokens_out"] * price_out)
        assert row["cost_per_1m_docs"] == pytest.approx(before[name]["cost_per_1m_docs"])
    note = next(n for n in report["notes"] if n.startswith("Prompt LFs as the run asked"))
    assert f"model '{RUN_MODEL}' (labeling.toml: '{NEW_MODEL}' now)" in note
    assert "Prompt LFs as the run asked" in " ".join(again.output.split())


def test_a_cached_rerun_reads_the_run_models_replies_after_the_config_changed(
        endpoint, make_task):
    config = make_task(lf_source=PROMPT_LFS,
                       config={"llm": {"progress": False, "model": RUN_MODEL}})
    assert _cli("run", config, "--no-progress").exit_code == 0
    cache = config.parent / "run" / "cache" / "llm_responses.sqlite"
    assert cache.is_file()
    # a second task on the same response cache: its run is all cache hits, so its
    # report reads tokens from the cache, under the keys of the model it asked
    other = make_task(lf_source=PROMPT_LFS,
                      config={"llm": {"progress": False, "model": RUN_MODEL,
                                      "cache_path": str(cache)}})
    asked = endpoint.received
    assert _cli("run", other, "--no-progress").exit_code == 0
    assert endpoint.received == asked
    _set_model(other, NEW_MODEL)
    result = _cli("report", other)
    assert result.exit_code == 0, result.output
    _, rows = _prompt_rows(other)
    for row in rows.values():
        # before the fix (had the report run): "estimated: no measured request"
        assert row["source"] == "measured: response cache (test prompts)", row["source"]
        assert row["model"] == RUN_MODEL and row["tokens_in"] > 0


def test_an_edited_prompt_is_still_refused(endpoint, make_task):
    config = make_task(lf_source=PROMPT_LFS,
                       config={"llm": {"progress": False, "model": RUN_MODEL}})
    assert _cli("run", config, "--no-progress").exit_code == 0
    lfs = config.parent / "lfs.py"
    lfs.write_text(lfs.read_text().replace("Spam or ham?", "Ham or spam?"), encoding="utf-8")
    _set_model(config, NEW_MODEL)
    result = _cli("report", config)
    assert result.exit_code == 2
    assert "applied with other LFs than the task's now (changed: llm_kind)" in result.output
