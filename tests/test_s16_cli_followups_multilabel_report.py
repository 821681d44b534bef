"""The multi-label `labeling report` after labeling.toml's [llm] model was edited since
the run: as the single-label report (h121), it reports the run, its prompt LFs costed
with the model the run asked (a cached rerun's tokens read from the response cache under
the run model's keys, not estimated), and a note names both models (h127)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from test_multilabel_prompts import _cli, _task, endpoint  # noqa: E402,F401
from llm_server import fake_openai  # noqa: E402,F401  (the fixture)

RUN_MODEL, NEW_MODEL = "gpt-4o-mini", "gpt-4o"


def _prompt_rows(run: Path):
    report = json.loads((run / "report.json").read_text(encoding="utf-8"))
    return report, {r["name"]: r for r in report["rows"] if r["kind"] == "prompt_lf"}


def test_the_report_is_of_the_model_the_run_asked(endpoint, tmp_path):
    config = _task(tmp_path / "t")
    text = config.read_text(encoding="utf-8")
    config.write_text(text + f'\n[llm]\nmodel = "{RUN_MODEL}"\n', encoding="utf-8")
    for _ in range(2):  # the second run's replies all come from the response cache
        assert _cli("run", str(config)).exit_code == 0
    run = tmp_path / "t" / "runs" / "mlp"
    assert _cli("report", str(config)).exit_code == 0
    _, before = _prompt_rows(run)
    asked = endpoint.received

    config.write_text(text + f'\n[llm]\nmodel = "{NEW_MODEL}"\n', encoding="utf-8")
    again = _cli("report", str(config))
    assert again.exit_code == 0, again.output
    assert endpoint.received == asked  # the report asks nothing
    report, rows = _prompt_rows(run)
    assert rows and all(row["model"] == RUN_MODEL and not row["estimated"]
                        for row in rows.values())
    assert {n: r["cost_per_1m_docs"] for n, r in rows.items()} == {
        n: r["cost_per_1m_docs"] for n, r in before.items()}
    note = next(n for n in report["notes"] if n.startswith("Prompt LFs as the run asked"))
    assert f"model '{RUN_MODEL}' (labeling.toml: '{NEW_MODEL}' now)" in note

