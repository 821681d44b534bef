"""`labeling report`'s end-model latency says what was measured (h135). Before, its
`ms/doc` cell read `40.650 (1-by-1 69.070)`: the first number (the test set's batch time
divided by its size) had no name, the terminal left out the end model's source line that
says so, and a batch slower per doc than one text at a time (a busy shared machine:
115 against 50 ms) was shown without a word."""

import sys
from pathlib import Path

from labeling import distill, distill_output

sys.path.insert(0, str(Path(__file__).parent))
from test_s16_cli_report_console import _printed  # noqa: E402


def _end_row(batch_s, single_s):
    return {"name": "end model (tfidf_minilm_avg)", "kind": "end_model", "accuracy": 0.9,
            "f1": 0.9, "coverage": 1.0, "covered_accuracy": 0.9, "latency_s": batch_s,
            "latency_single_s": single_s, "n_batch": 500, "cpu_single_s": 0.021,
            "cpu_s_per_1m_docs": 15080.0, "cost_per_1m_docs": 0.0,
            "saves_per_1m_docs": 0.0, "latency_vs_end_model": None, "estimated": False,
            "source": "predictions and latency of the exported model model/",
            "latency_note": "measured now, wall-clock ms per doc: the test set in one batch "
                            "of 500 (best of 3) divided by 500, and one text at a time (mean over "
                            "200 texts)"}


def _report(row):
    return {"task": "t", "n": 500, "labels": ["ham", "spam"], "rows": [row],
            "f1_column": "test F1", "gold_budget": {}, "token_rule": "r",
            "created": "now", "notes": distill_output.timing_notes(row)}




def test_the_cell_names_both_latencies():
    cells = distill_output._cells(_end_row(0.115, 0.050))
    assert cells[5] == "115.000 in a batch of 500; 50.000 one at a time"


def test_the_terminal_says_how_the_end_model_was_timed(capsys):
    out = _printed(capsys, _report(_end_row(0.0004, 0.031)))
    assert "end model (tfidf_minilm_avg): predictions and latency" in out
    assert "wall-clock ms per doc: the test set in one batch of 500" in out
    assert "End model timing" not in out  # a batch faster per doc: nothing to explain


def test_a_batch_slower_per_doc_than_one_text_is_explained(capsys):
    row = _end_row(0.115, 0.050)
    notes = distill_output.timing_notes(row)
    assert len(notes) == 1 and "took longer in the batch (115.000 ms) than alone (50.000 ms)" \
        in notes[0] and "15.080 ms in the batch, 21.000 ms one at a time" in notes[0]
    md = distill_output.format_markdown(_report(row))
    assert "End model timing: a doc took longer in the batch" in md
    assert "`labeling report` again on a quiet machine" in _printed(capsys, _report(row))


def test_time_end_model_records_what_the_cells_name():
    calls = []

    def predict_proba(texts):
        calls.append(len(texts))
        import numpy as np
        return np.tile([0.2, 0.8], (len(texts), 1))

    timing = distill.time_end_model(predict_proba, ["a", "b", "c"], n_single=2)
    assert calls == [3, 3, 3, 1, 1]
    assert timing["n_batch"] == 3 and timing["n_single"] == 2
    assert timing["cpu_single_s"] >= 0 and timing["latency_single_s"] > 0


def test_a_local_prompt_lfs_source_line_gives_its_reason_once():
    """Before: 'estimated: the run used the local backend; tokens from the rendered test
    prompts; not measured: the run used the local backend; priced as ...'."""
    import pandas as pd

    from labeling.llm.prompt import prompt_lf
    from labeling.llm.settings import LLMSettings

    lf = prompt_lf("ask", "Is this spam? {text}", answers={"yes": 1, "no": -1})
    test = pd.DataFrame({"id": ["a", "b"], "text": ["win money", "see you"]})
    cost = distill.prompt_lf_cost(lf, {"backend": "local"}, LLMSettings(), ["ham", "spam"],
                                  test, None)
    line = distill_output.source_line({"name": "prompt LF ask", **cost})
    assert line.count("the run used the local backend") == 1, line
    assert "latency not measured" in line
