"""A cost-conscious user of prompt LFs against a paid endpoint (walkthrough h113): replies
cut at the token limit, a run interrupted mid-LF, and what the caches hold in dollars."""

from __future__ import annotations

import json
import re
import signal
import sqlite3
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from llm_server import fake_openai  # noqa: E402,F401  (the fixture)
from test_llm_prompt_iteration import settings  # noqa: E402

from labeling.llm import LLMSettings, multilabel_prompt_lf, prompt_lf, use  # noqa: E402

SPAM, ABSTAIN = 1, -1
LABELS = ["ham", "spam"]
TEXTS = ["please subscribe to my channel", "i love this song", "subscribe for free stuff"]


def frame(texts=TEXTS) -> pd.DataFrame:
    return pd.DataFrame({"id": [f"r{i}" for i in range(len(texts))], "text": texts})


def test_a_reply_cut_at_the_token_limit_says_truncated_and_how_to_fix_it(
        fake_openai, tmp_path, capsys):
    fake_openai.finish_reason = "length"
    fake_openai.content = lambda prompt, body: '{"answer'
    lf = prompt_lf("promo", "Does this comment promote something?\nComment: {text}",
                   answers={"yes": SPAM, "no": ABSTAIN}, params={"max_tokens": 2})
    with use(settings(fake_openai, tmp_path), labels=LABELS) as rt:
        assert lf.apply_frame(frame()).tolist() == [ABSTAIN] * 3
        report = rt.report()
    assert report["lfs"]["promo"]["rejected"] == {"truncated": 3}
    err = capsys.readouterr().err
    assert "(truncated: 3)" in err and "raise max_tokens" in err
    # read back from the cache as it was: truncated, not asked again
    with use(settings(fake_openai, tmp_path), labels=LABELS) as rt:
        assert lf.apply_frame(frame()).tolist() == [ABSTAIN] * 3
        assert rt.report()["lfs"]["promo"]["rejected"] == {"truncated": 3}
    assert fake_openai.received == 3


def test_a_one_word_answer_cut_before_its_period_still_votes(fake_openai, tmp_path):
    # max_tokens = 1 is a common way to pay for one token: "Yes" then the limit
    fake_openai.finish_reason = "length"
    fake_openai.content = lambda prompt, body: "Yes" if "subscribe" in prompt else "No"
    lf = prompt_lf("promo", "Does this comment promote something?\nComment: {text}",
                   answers={"yes": SPAM, "no": ABSTAIN}, params={"max_tokens": 1})
    with use(settings(fake_openai, tmp_path, structured_output=False), labels=LABELS) as rt:
        assert lf.apply_frame(frame()).tolist() == [SPAM, ABSTAIN, SPAM]
        assert rt.report()["lfs"]["promo"]["rejected"] == {}


def test_a_multilabel_list_cut_at_the_token_limit_votes_nothing(fake_openai, tmp_path):
    # "toxic, spa" cut from "toxic, spam": its first name must not vote alone (and every
    # other label 0)
    fake_openai.finish_reason = "length"
    fake_openai.content = lambda prompt, body: "toxic"
    labels = ["toxic", "spam", "funny"]
    lf = multilabel_prompt_lf("kinds", "Which apply?\nComment: {text}",
                              labels={name: name for name in labels})
    with use(settings(fake_openai, tmp_path, structured_output=False), labels=labels) as rt:
        votes = rt.label_sets(lf, frame())
        assert (votes == ABSTAIN).all()
        assert rt.report()["lfs"]["kinds"]["rejected"] == {"truncated": 3}
    assert json.loads(json.dumps(rt.report()))  # still JSON for metrics.json


INTERRUPTED = r'''
import signal, sys
import pandas as pd
from labeling.llm import LLMSettings, prompt_lf, use
signal.signal(signal.SIGINT, signal.default_int_handler)  # also when started with it ignored
base_url, cache = sys.argv[1], sys.argv[2]
texts = [f"comment {i}: " + ("please subscribe" if i % 3 == 0 else "nice song") for i in range(40)]
lf = prompt_lf("promo", "Does this comment promote something?\nComment: {text}",
               answers={"yes": 1, "no": -1})
s = LLMSettings(backend="openai", base_url=base_url, cache_path=cache, concurrency=4,
                progress=False, max_retries=0)
with use(s, labels=["ham", "spam"]) as rt:
    rt.split = "train"
    print("started", flush=True)
    lf.apply_frame(pd.DataFrame({"text": texts}))
'''


def _cached_rows(path: Path) -> int:
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as db:
            return db.execute("SELECT COUNT(*) FROM responses").fetchone()[0]
    except sqlite3.OperationalError:  # no file, or no table yet
        return 0


def test_ctrl_c_mid_prompt_lf_says_what_was_answered_and_kept(fake_openai, tmp_path):
    import subprocess
    import time

    script, cache = tmp_path / "label.py", tmp_path / "cache.sqlite"
    script.write_text(INTERRUPTED, encoding="utf-8")
    fake_openai.block_after = 15  # later requests hang: the Ctrl+C lands mid-run
    child = subprocess.Popen([sys.executable, str(script), fake_openai.base_url, str(cache)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60  # a hang guard, not a timing assertion
        while fake_openai.received <= 15 or _cached_rows(cache) < 15:
            assert time.monotonic() < deadline and child.poll() is None, "no request came"
            time.sleep(0.02)
        child.send_signal(signal.SIGINT)  # as Ctrl+C
        _, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode != 0 and "KeyboardInterrupt" in err
    line = next(x for x in err.splitlines() if x.startswith("prompt LF 'promo' interrupted"))
    assert "15 of the 40 prompts it needs on train were answered in this run" in line, line
    assert "kept in the response cache; 25 not answered: run again to ask only those" in line
    spent = float(re.search(r"interrupted \(spent \$([0-9.]+) in this run\)", line)[1])
    assert 0 < spent < 0.001  # 15 short replies at gpt-4o-mini's prices


def test_the_app_shows_the_reply_of_the_model_the_run_asked_not_the_configs_now(tmp_path):
    """Before: after `model = "gpt-4o-mini"` was written back into labeling.toml, the
    app showed gpt-4o-mini's cached reply as the raw answer behind a gpt-4.1-nano vote."""
    from types import SimpleNamespace

    import numpy as np

    from labeling.llm.cache import Entry, ResponseCache
    from labeling.llm.requests import build_requests
    from labeling.review import detail

    lf = prompt_lf("promo", "Is this spam?\nComment: {text}", answers={"yes": SPAM, "no": 0})
    df = frame(["please subscribe"])
    cache = ResponseCache(tmp_path / "cache.sqlite")
    for model, reply in (("gpt-4o-mini", '{"answer": "no"}'), ("gpt-4.1-nano", '{"answer": "yes"}')):
        s = LLMSettings(backend="openai", model=model, params={"temperature": 0.5})
        (req,) = build_requests(lf, df, s, LABELS)
        cache.put(Entry(req.key, "promo", model, "[]", reply, json.loads(reply)["answer"], None))
    cache.close()
    now = LLMSettings(backend="openai", model="gpt-4o-mini", params={"temperature": 0})
    used = LLMSettings(backend="openai", model="gpt-4.1-nano", params={"temperature": 0.5})
    config = SimpleNamespace(llm_cache_path=tmp_path / "cache.sqlite", llm=now, labels=LABELS)
    run = SimpleNamespace(config=config, frames={"dev": df}, L={"dev": np.array([[SPAM]])},
                          lf_names=["promo"], labels=LABELS,
                          metrics={"llm": {"backend": "openai", "settings": used.public()}})
    (item,) = detail.prompt_details(run, [lf], "dev", 0)
    assert (item["model"], item["vote"], item["reply"], item["answer"]) == (
        "gpt-4.1-nano", "spam", '{"answer": "yes"}', "yes")


def _plan(model="gpt-4o-mini", cost=0.03):
    return [{"split": split, "lf": "llm_promo", "model": model, "calls": n, "cached": 0,
             "to_call": n, "tokens_in": 10 * n, "tokens_out": n, "cost": cost}
            for split, n in (("train", 1232), ("dev", 264))]


def test_plan_says_whether_the_run_fits_in_the_budget():
    """Before: `labeling plan` showed `budget $0.00` (for 0.0001) and a total over it with
    no word that `labeling apply` would then stop before any call."""
    from labeling.llm import format_plan

    assert format_plan(_plan()).splitlines()[-1] == "total cost: $0.0600"  # no budget set
    over = format_plan(_plan(), budget=0.05).splitlines()[-1]
    assert over == ("budget $0.0500: OVER it by $0.0100: `labeling apply` stops before any "
                    "call; raise [llm] budget, or apply fewer prompt LFs")
    assert format_plan(_plan(), budget=0.5).splitlines()[-1] == \
        "budget $0.5000: fits ($0.4400 to spare)"
    unpriced = format_plan(_plan("llama3", None), budget=0.5).splitlines()[-1]
    assert unpriced.startswith("budget $0.5000: `labeling apply` stops before any call, as "
                               "there is no price for llama3; add it under [llm] prices")


def test_labeling_cache_shows_what_the_responses_cost_per_model(make_task):
    """Before: `12,754 responses (never pruned: paid for)`; what the task paid over its
    runs (metrics.json holds the last run's only) was nowhere."""
    from conftest import cli

    from labeling.llm.cache import Entry, ResponseCache

    config = make_task()
    cache = ResponseCache(config.parent / "run" / "cache" / "llm_responses.sqlite")
    for i, (model, cost) in enumerate([("gpt-4o-mini", 0.001), ("gpt-4o-mini", 0.002),
                                       ("llama-local", 0.0)]):
        cache.put(Entry(f"k{i}", "lf", model, "p", "yes", "yes", None, tokens_in=10,
                        tokens_out=5, cost=cost))
    cache.close()
    result = cli("cache", config)
    assert result.exit_code == 0, result.output
    line = next(x for x in result.output.splitlines() if x.startswith("LLM responses"))
    assert line.endswith("3 responses (never pruned: paid for): gpt-4o-mini 2 (30 tokens, "
                         "$0.0030), llama-local 1 (15 tokens, $? no price)"), line


def test_the_report_says_how_much_slower_with_a_decimal_below_10x():
    """Before: a prompt LF answering in 89 ms beside an end model's 264 ms one at a time
    (a busy machine) was '0x slower', and 237 ms '1x'."""
    from labeling.distill_output import _cells

    def row(ratio):
        return {"kind": "prompt_lf", "name": "prompt LF p", "accuracy": 0.9, "f1": 0.9,
                "coverage": 1.0, "covered_accuracy": 0.9, "latency_s": 0.089,
                "cost_per_1m_docs": 8.64, "saves_per_1m_docs": 8.64,
                "latency_vs_end_model": ratio}

    assert [_cells(row(r))[-1] for r in (0.336, 0.9, 2.25, 1234.4, None)] == [
        "0.3x", "0.9x", "2.2x", "1,234x", "-"]


def test_an_interrupt_with_a_model_without_a_price_does_not_say_it_spent_nothing():
    # Before: "interrupted (spent $0.0000 in this run)" for a model with no price
    from labeling.llm.runtime import Runtime
    from labeling.llm.stats import LFStats

    runtime, stats = Runtime(), LFStats("promo")
    assert runtime._spent_words(stats) == "spent $0.0000 in this run"
    stats.add_cost(None)
    assert runtime._spent_words(stats).startswith("spent: unknown")


def test_a_fenced_json_list_that_parsed_is_whole_though_cut_at_the_limit():
    # Before: a multi-label reply in a ```json fence that parsed was taken for a cut
    # plain-text list (it does not start with "[") and asked again
    from labeling.llm.client import truncated

    fenced = '```json\n["spam", "hate"]\n```'
    assert not truncated(fenced, "length", "spam;hate", many=True)
    assert truncated("spam, ha", "length", "spam", many=True)  # plain text: cut
    assert truncated('```json\n["spam", "ha', "length", None, many=True)  # did not parse
