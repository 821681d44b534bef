"""Follow-ups (f153): the label model's latency note, duplicate weak-weight candidates."""
from labeling.distill import _all_lfs_cost
from labeling.distill_output import source_line


def _prompt(name, latency):
    return {"name": name, "latency_s": latency, "cost_per_1m_docs": 1.0, "estimated": False}


def test_label_model_latency_note_names_the_unmeasured_prompt_lfs():
    """It read 'not measured: a prompt LF's latency is not', a half sentence naming none."""
    rows = [_prompt("prompt LF ask_a", 0.2), _prompt("prompt LF ask_b", None)]
    cost = _all_lfs_cost(rows)
    assert cost["latency_s"] is None
    note = cost["latency_note"]
    assert note.startswith("not measured: ")
    assert "prompt LF ask_b has no measured latency" in note
    assert "ask_a" not in note
    line = source_line({"name": "majority vote", **cost})
    assert "prompt LF ask_b has no measured latency" in line
    both = _all_lfs_cost([_prompt("prompt LF ask_a", None), _prompt("prompt LF ask_b", None)])
    assert "prompt LF ask_a, prompt LF ask_b have no measured latency" in both["latency_note"]


def test_label_model_latency_note_when_every_prompt_lf_is_timed():
    cost = _all_lfs_cost([_prompt("prompt LF ask_a", 0.2), _prompt("prompt LF ask_b", 0.1)])
    assert abs(cost["latency_s"] - 0.3) < 1e-12
    assert cost["latency_note"].startswith("sum of the prompt LFs' per-call latency")
