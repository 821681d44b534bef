"""The multi-label `labeling report` names its end-model latencies and sources as the
single-label report does (h143). Before, its `ms/doc` cell read `0.071 (1-by-1 2.304)`
(the first number, the test set's batch time over its size, unnamed), the terminal left
out every row's source line (a local-backend run's `~35.62` $ per 1M docs without the
word that it is an estimate priced as an endpoint model, nothing spent), a batch slower
per doc than one text alone got no note, and report.md said a local prompt LF's reason
twice ("estimated: the run used the local backend; ...; not measured: the run used the
local backend")."""

import json
import sys
from pathlib import Path

import numpy as np

from labeling import distill_multilabel, report

sys.path.insert(0, str(Path(__file__).parent))
from test_multilabel_export import _cli, _project  # noqa: E402


def _end_row(batch_s=0.000071, single_s=0.002304):
    return {"name": "end model (tfidf_logreg)", "kind": "end_model", "macro_f1": 0.9,
            "micro_f1": 0.9, "per_label": {"a": {"precision": 1.0, "recall": 1.0, "f1": 1.0,
                                                 "support": 3}},
            "latency_s": batch_s, "latency_single_s": single_s, "n_single": 200,
            "n_batch": 700, "cpu_s_per_1m_docs": 37.0, "cpu_single_s": 0.0021,
            "source": "label sets and latency of the exported model model/",
            "latency_note": "measured now, wall-clock ms per doc: the test set in one batch "
                            "of 700 (best of 3) divided by 700, and one text at a time "
                            "(mean over 200 texts)",
            "cost_per_1m_docs": 0.0, "estimated": False, "cost_note": "no LLM call"}


def _prompt_row():
    why = "the run used the local backend"
    return {"name": "prompt LF ask:a (detector of a)", "kind": "prompt_lf", "label": "a",
            "precision": 1.0, "recall": 0.5, "f1": 0.667, "coverage": 1.0,
            "latency_s": None, "latency_note": f"not measured: {why}",
            "source": f"estimated: {why}; tokens from the rendered test prompts",
            "cost_per_1m_docs": 35.62, "estimated": True,
            "cost_note": "priced as gpt-4o-mini: $0.15 in, $0.6 out per 1M tokens"}


def _report(end_row):
    return {"task": "t", "n": 700, "labels": ["a"], "thresholds": {"a": 0.5},
            "rows": [end_row, _prompt_row()], "token_rule": "ceil(chars/4)",
            "created": "now", "notes": ["Macro F1: ..."]}


def _printed(capsys, result) -> str:
    report.console.cache_clear()
    try:
        distill_multilabel.print_report(result)
    finally:
        report.console.cache_clear()
    return " ".join(capsys.readouterr().out.split())


def test_the_cell_names_both_latencies_as_the_single_label_report():
    cells = distill_multilabel._cells(_end_row())
    assert cells[3] == "0.071 in a batch of 700; 2.304 one at a time"


def test_the_terminal_prints_the_sources_and_the_token_rule(capsys):
    out = _printed(capsys, _report(_end_row()))
    assert "end model (tfidf_logreg): label sets and latency of the exported model" in out
    assert "one text at a time (mean over 200 texts)" in out
    assert "priced as gpt-4o-mini" in out and "Token rule for estimates: ceil(chars/4)" in out


def test_report_md_says_a_local_prompts_reason_once():
    md = distill_multilabel.format_markdown(_report(_end_row()))
    line = next(x for x in md.splitlines() if x.startswith("- prompt LF ask:a"))
    assert line.count("the run used the local backend") == 1, line


def test_timed_gives_the_batch_probabilities_and_what_the_cells_name():
    calls = []

    def predict_proba(texts):
        calls.append(len(texts))
        return np.tile([0.2, 0.9], (len(texts), 1))

    proba, timing = distill_multilabel._timed(predict_proba, ["a", "b", "c"], n_single=2)
    assert calls == [3, 3, 3, 1, 1] and proba.shape == (3, 2)
    assert timing["n_batch"] == 3 and timing["n_single"] == 2 and "pred" not in timing
    assert timing["cpu_single_s"] >= 0


def test_a_report_records_both_latencies_and_a_slow_batch_gets_the_note(tmp_path,
                                                                       monkeypatch):
    """On a real run: the end model's row names how it was timed, and a batch slower per
    doc than one text (a busy machine, faked) gets the single-label report's note."""
    from labeling import distill

    config = _project(tmp_path / "t")
    assert _cli("run", config, "--no-progress").exit_code == 0

    def slow_batch(predict_proba, texts, n_single=200):
        timing = distill.time_end_model(predict_proba, texts, n_single)
        return timing | {"latency_s": 0.115, "latency_single_s": 0.050}

    monkeypatch.setattr(distill_multilabel, "time_end_model", slow_batch)
    result = _cli("report", config)
    assert result.exit_code == 0, result.output
    got = json.loads((tmp_path / "t" / "runs" / "ml" / "report.json").read_text())
    end = got["rows"][0]
    assert end["n_batch"] == 80 and "one text at a time" in end["latency_note"]
    assert any("took longer in the batch (115.000 ms) than alone (50.000 ms)" in n
               for n in got["notes"])
    md = (tmp_path / "t" / "runs" / "ml" / "report.md").read_text()
    assert "| 115.000 in a batch of 80; 50.000 one at a time |" in md
    assert "End model timing: a doc took longer" in " ".join(result.output.split())
