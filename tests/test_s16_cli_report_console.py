"""`labeling report`'s terminal output (h121): names are printed as written (rich took
`[spam]` in an LF or label name for a style tag and dropped it); a prompt LF's cost says
what it is priced as and where its tokens come from, as report.md's "Sources per row"
does (a local-backend run showed "~15.38" dollars with no word that nothing was spent);
"token rule above" has its rule above it."""

from labeling import distill_output, report


def _row(name, kind, **kw):
    row = {"name": name, "kind": kind, "accuracy": 0.5, "f1": 0.5, "coverage": 1.0,
           "covered_accuracy": 0.5, "latency_s": None, "cost_per_1m_docs": 0.0,
           "saves_per_1m_docs": 0.0, "latency_vs_end_model": None, "estimated": False}
    return row | kw


def _report():
    end = _row("end model (tfidf_logreg)", "end_model", latency_s=1e-4,
               latency_single_s=1e-3)
    prompt = _row("prompt LF ask[spam]", "prompt_lf", estimated=True, cost_per_1m_docs=15.38,
                  saves_per_1m_docs=15.38, model="gpt-4o-mini",
                  source="estimated: the run used the local backend; tokens from the "
                         "rendered test prompts",
                  cost_note="priced as gpt-4o-mini: $0.15 in, $0.6 out per 1M tokens")
    return {"task": "t", "n": 10, "labels": ["ham", "[spam]"], "rows": [end, prompt],
            "f1_column": "test F1", "gold_budget": {},
            "token_rule": "ceil(chars/4) per message + 4 per message + 3 per request",
            "notes": ["abstentions count as '[spam]'",
                      "Costs marked ~ are estimated: token rule above, on the rendered "
                      "test prompts."]}


def _printed(capsys, result) -> str:
    report.console.cache_clear()
    try:
        distill_output.print_report(result)
    finally:
        report.console.cache_clear()
    return " ".join(capsys.readouterr().out.split())


def test_names_and_notes_are_printed_as_written(capsys):
    out = _printed(capsys, _report())
    assert "prompt LF ask[spam]" in out  # before: "prompt LF ask"
    assert "abstentions count as '[spam]'" in out  # before: "count as ''"


def test_a_prompt_lfs_cost_says_its_source_price_and_token_rule(capsys):
    out = _printed(capsys, _report())
    assert ("prompt LF ask[spam]: estimated: the run used the local backend; tokens from "
            "the rendered test prompts; priced as gpt-4o-mini: $0.15 in, $0.6 out per 1M "
            "tokens") in out
    rule = out.index("Token rule for estimates: ceil(chars/4) per message")
    assert rule < out.index("token rule above")
