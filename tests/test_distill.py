"""The distillation report (`labeling report`) on a run whose prompt LFs were answered by
the fake OpenAI-compatible server: each prompt LF's scores equal those computed from its
L column, its cost is measured tokens per doc x price, the end model costs 0; estimated
costs are flagged; a missing run is a one-line error."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent))
from conftest import default_config, default_frames, dump_toml  # noqa: E402
from llm_server import FakeOpenAI  # noqa: E402
from test_llm_pipeline import PROMPT_LFS as ENDPOINT_LFS  # noqa: E402

from labeling import distill, pipeline  # noqa: E402
from labeling.cli import app  # noqa: E402
from labeling.llm import LLMSettings, Price  # noqa: E402
from labeling.llm.plan import DEFAULT_PRICES, _tiktoken_encoding  # noqa: E402

# The endpoint test's LF module (kw_spam, kw_ham, llm_promo: yes/no, llm_kind: multi-class)
# plus a yes/no prompt voting one class only.
PROMPT_LFS = ENDPOINT_LFS + '''
llm_only_spam = prompt_lf("llm_only_spam", "Is this self-promotion? Comment: {text}",
                          answers={"yes": SPAM, "no": ABSTAIN})
'''


def _write_task(root: Path, **overrides) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for split, frame in default_frames().items():
        frame.to_csv(root / f"{split}.csv", index=False)
    (root / "lfs.py").write_text(PROMPT_LFS, encoding="utf-8")
    config = default_config() | {"llm": {"progress": False}} | overrides
    path = root / "labeling.toml"
    path.write_text(dump_toml(config), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def endpoint_run(tmp_path_factory):
    """One pipeline run of the tiny task with three prompt LFs against the fake server
    (the server is the fourth item: it runs until the module's tests are done)."""
    server = FakeOpenAI().start()
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("OPENAI_API_KEY", "sk-test-distill")
            mp.setenv("OPENAI_BASE_URL", server.base_url)
            config = _write_task(tmp_path_factory.mktemp("distill") / "task")
            task = pipeline.load_task(config)
            pipeline.run(task, progress=False)
        yield config, task, distill.build_report(task, n_single=5), server
    finally:
        server.stop()


def _row(report, name):
    return next(r for r in report["rows"] if r["name"] == name)


def test_prompt_lf_rows_score_their_L_column_on_test(endpoint_run):
    _, task, report, _ = endpoint_run
    L = pd.read_parquet(task.run_dir / "L.parquet").xs("test", level="split")
    y = np.asarray(task.gold("test"))
    labels = task.config.labels
    # A one-class yes/no prompt used as a classifier says the other class by "no".
    assert _row(report, "prompt LF llm_only_spam")["abstain_scored_as"] == "ham"
    for name in ("llm_promo", "llm_only_spam", "llm_kind"):
        row = _row(report, f"prompt LF {name}")
        votes = L[name].to_numpy()
        pred = np.where(votes == -1, labels.index(row["abstain_scored_as"]), votes)
        assert row["accuracy"] == pytest.approx(float((pred == y).mean()))
        assert row["coverage"] == pytest.approx(float((votes != -1).mean()))
        spam = labels.index("spam")
        tp = np.sum((pred == spam) & (y == spam))
        assert row["f1"] == pytest.approx(2 * tp / (np.sum(pred == spam) + np.sum(y == spam)))
    # the fake server answers yes exactly when the text says subscribe: perfect on the
    # rows it votes, so it is not a constant column
    only = _row(report, "prompt LF llm_only_spam")
    assert 0 < only["coverage"] < 1 and only["covered_accuracy"] == 1.0


def test_prompt_lf_cost_is_measured_tokens_per_doc_times_price(endpoint_run):
    _, task, report, _ = endpoint_run
    stats = pipeline.read_metrics(task.run_dir)["llm"]["lfs"]
    price_in, price_out = DEFAULT_PRICES["gpt-4o-mini"]
    costs = []
    for name in ("llm_promo", "llm_only_spam", "llm_kind"):
        row, s = _row(report, f"prompt LF {name}"), stats[name]
        answered = s["calls"] - s["cache_hits"] - s["failed"]
        assert answered > 0 and s["tokens_in"] > 0
        expected = (s["tokens_in"] / answered * price_in + s["tokens_out"] / answered * price_out)
        assert row["cost_per_1m_docs"] == pytest.approx(expected)
        assert row["estimated"] is False and row["source"].startswith("measured")
        assert row["latency_s"] == s["latency_s"]["p50"] > 0
        costs.append(expected)
    label_model = next(r for r in report["rows"] if r["kind"] == "label_model")
    assert label_model["cost_per_1m_docs"] == pytest.approx(sum(costs))
    end = report["rows"][0]
    assert end["kind"] == "end_model" and end["cost_per_1m_docs"] == 0.0
    assert end["latency_s"] > 0 and end["latency_single_s"] > 0
    assert label_model["saves_per_1m_docs"] == pytest.approx(sum(costs))


def test_cli_report_writes_json_and_markdown(endpoint_run):
    config, task, _, _ = endpoint_run
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OPENAI_API_KEY", "sk-test-distill")
        result = CliRunner().invoke(app, ["report", "--config", str(config)])
    assert result.exit_code == 0, result.output
    for name in ("report.json", "report.md"):  # the key never reaches disk or output
        assert "sk-test-distill" not in (task.run_dir / name).read_text(encoding="utf-8")
    assert "sk-test-distill" not in result.output
    assert "end model" in result.output and "llm_kind" in result.output
    written = json.loads((task.run_dir / "report.json").read_text(encoding="utf-8"))
    assert [r["kind"] for r in written["rows"]][:3] == ["end_model", "label_model",
                                                         "majority_vote"]
    markdown = (task.run_dir / "report.md").read_text(encoding="utf-8")
    assert all(f"prompt LF {n}" in markdown for n in ("llm_promo", "llm_only_spam", "llm_kind"))


def test_cost_is_estimated_and_flagged_when_tokens_were_not_measured(endpoint_run):
    _, task, _, _ = endpoint_run
    lf = next(lf for lf in task.lfs if lf.name == "llm_promo")
    test_df = task.splits["test"]
    local_stats = {"backend": "local", "model": "all-MiniLM-L6-v2", "calls": len(test_df),
                   "cache_hits": 0, "failed": 0, "tokens_in": 0, "tokens_out": 0,
                   "latency_s": None}
    settings = LLMSettings(prices={"gpt-4o-mini": Price(input=1.0, output=2.0)})
    out = distill.prompt_lf_cost(lf, local_stats, settings, task.config.labels, test_df, None)
    assert out["estimated"] is True and out["latency_s"] is None
    assert "local backend" in out["latency_note"] and out["model"] == "gpt-4o-mini"
    assert out["cost_per_1m_docs"] == pytest.approx(out["tokens_in"] * 1.0
                                                    + out["tokens_out"] * 2.0)
    if _tiktoken_encoding() is None:  # the stated rule: ceil(chars/4) + 4 per message + 3
        prompts = {json.dumps(lf.messages(r, task.config.labels))
                   for r in test_df[["text"]].to_dict("records")}
        expected = np.mean([3 + sum(4 + math.ceil(len(m["content"]) / 4)
                                    for m in json.loads(p)) for p in prompts])
        assert out["tokens_in"] == pytest.approx(expected)


def test_cached_rerun_reads_measured_tokens_from_the_response_cache(endpoint_run, tmp_path):
    config, _, first, server = endpoint_run
    # A second task on the same response cache and endpoint (replies are cached per
    # endpoint): every prompt is a cache hit, so this run's stats have no tokens; the
    # report must still use measured ones.
    cache = pipeline.load_task(config).config.llm_cache_path
    task = pipeline.load_task(_write_task(tmp_path / "again", llm={"progress": False,
                                                                    "cache_path": str(cache)}))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OPENAI_API_KEY", "sk-test-distill")
        mp.setenv("OPENAI_BASE_URL", server.base_url)
        asked = server.received
        pipeline.run(task, progress=False)
    assert server.received == asked  # nothing was called
    stats = pipeline.read_metrics(task.run_dir)["llm"]["lfs"]["llm_promo"]
    assert stats["cache_hits"] == stats["calls"] and stats["tokens_in"] == 0
    row = _row(distill.build_report(task, n_single=5), "prompt LF llm_promo")
    assert row["source"].startswith("measured: response cache") and not row["estimated"]
    assert row["tokens_in"] > 0 and row["latency_s"] is not None
    assert row["accuracy"] == _row(first, "prompt LF llm_promo")["accuracy"]


def test_report_before_any_run_is_a_one_line_error(make_task):
    config = make_task()
    result = CliRunner().invoke(app, ["report", str(config)])
    assert result.exit_code == 2
    assert "run `labeling run` first" in result.output
    assert len(result.output.strip().splitlines()) == 1
