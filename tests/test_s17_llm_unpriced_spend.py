"""A prompt LF on a model with no price under ``[llm] prices``: the run's spend is not
"$0.0000" (h136 found metrics.json's ``llm.spent`` 0.0 and `labeling run` printing
"spent $0.0000" while the LF's cost was unknown)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from llm_server import fake_openai  # noqa: E402,F401  (the fixture)
from test_llm_prompt_iteration import LABELS, TEMPLATE, frame, settings  # noqa: E402

from labeling.llm import prompt_lf, use  # noqa: E402
from labeling.report import print_llm_stats  # noqa: E402

SPAM, ABSTAIN = 1, -1


def _run(server, tmp_path, lfs):
    with use(settings(server, tmp_path), labels=LABELS) as rt:
        for lf in lfs:
            lf.apply_frame(frame())
        return rt.report()


def test_a_model_without_a_price_is_named_not_counted_as_free(fake_openai, tmp_path, capsys):
    lf = prompt_lf("promo", TEMPLATE, answers={"yes": SPAM, "no": ABSTAIN},
                   model="llama-3-8b")
    report = _run(fake_openai, tmp_path, [lf])
    assert report["lfs"]["promo"]["cost"] is None
    assert report["unpriced_models"] == ["llama-3-8b"]
    print_llm_stats({"llm": report})
    out = " ".join(capsys.readouterr().out.split())
    assert "spent: unknown, no price under [llm] prices for llama-3-8b" in out, out
    assert "$0.0000" not in out


def test_a_priced_and_an_unpriced_model_say_both(fake_openai, tmp_path, capsys):
    priced = prompt_lf("promo", TEMPLATE, answers={"yes": SPAM, "no": ABSTAIN},
                       model="gpt-4o-mini")
    unpriced = prompt_lf("other", TEMPLATE + "\nAnswer yes or no.",
                         answers={"yes": SPAM, "no": ABSTAIN}, model="llama-3-8b")
    report = _run(fake_openai, tmp_path, [priced, unpriced])
    assert report["spent"] > 0 and report["unpriced_models"] == ["llama-3-8b"]
    print_llm_stats({"llm": report})
    out = " ".join(capsys.readouterr().out.split())
    assert f"spent ${report['spent']:.4f} + calls to llama-3-8b (no price under [llm] " \
        "prices)" in out, out


def test_priced_models_only_print_what_they_cost(fake_openai, tmp_path, capsys):
    lf = prompt_lf("promo", TEMPLATE, answers={"yes": SPAM, "no": ABSTAIN},
                   model="gpt-4o-mini")
    report = _run(fake_openai, tmp_path, [lf])
    assert report["unpriced_models"] == []
    print_llm_stats({"llm": report})
    assert f"spent ${report['spent']:.4f})" in " ".join(capsys.readouterr().out.split())
