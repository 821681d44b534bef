"""`labeling run`'s prompt-LF table tells prompts left unanswered and replies rejected
(both abstain) apart from failed attempts that a retry recovered."""

from __future__ import annotations

from labeling.report import print_llm_stats


def test_the_table_counts_unanswered_prompts_and_rejected_replies(capsys):
    stats = {"backend": "openai", "model": "gpt-4o-mini", "calls": 1760, "cache_hits": 0,
             "requests": 2943, "tokens_in": 127088, "tokens_out": 10560, "cost": 0.0254,
             "failed": 3, "errors": {"server_error": 319, "timeout": 150},
             "rejected": {"bad_json": 169, "off_label": 128}, "latency_s": {"p50": 0.0861}}
    print_llm_stats({"llm": {"backend": "openai", "spent": 0.0254,
                             "lfs": {"llm_asks_to_visit": stats}}})
    out = capsys.readouterr().out
    header = next(line for line in out.splitlines() if "cached" in line)
    assert "no answer" in header and "rejected" in header and "failed tries" in header
    row = next(line for line in out.splitlines() if "llm_asks_to_visit" in line)  # not cut
    cells = [c.strip() for c in row.split("│")]
    assert "3" in cells and "297" in cells  # was only "server_error 319, timeout 150"
