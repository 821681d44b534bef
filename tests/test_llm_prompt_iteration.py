"""A prompt engineer's day: edit a prompt, its answers, its params; plan must predict the
calls the run makes, and the cache must re-ask exactly what changed (walkthrough h83)."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from llm_server import fake_openai  # noqa: E402,F401  (the fixture)

from labeling.config import load_config  # noqa: E402
from labeling.errors import ConfigError, LFError  # noqa: E402
from labeling.llm import BudgetExceeded, LLMSettings, format_plan, prompt_lf, use  # noqa: E402
from labeling.llm.cache import Entry, ResponseCache  # noqa: E402
from labeling.llm.client import parse_reply  # noqa: E402
from labeling.llm.multilabel import parse_labels  # noqa: E402
from labeling.llm.requests import build_requests  # noqa: E402

HAM, SPAM, ABSTAIN = 0, 1, -1
LABELS = ["ham", "spam"]
TEMPLATE = "Does this comment promote something?\nComment: {text}"
TEXTS = ["please subscribe to my channel", "i love this song", "subscribe for free stuff",
         "great video", "what a voice"]


def frame(texts=TEXTS) -> pd.DataFrame:
    return pd.DataFrame({"id": [f"r{i}" for i in range(len(texts))], "text": texts})


def settings(server, tmp_path, **kw) -> LLMSettings:
    return LLMSettings(**{**dict(backend="openai", base_url=server.base_url,
                                 cache_path=tmp_path / "cache.sqlite", progress=False,
                                 backoff_base=0.01, timeout=5, max_retries=1), **kw})


def apply(lfs, frames, s):
    """(plan, votes per LF and split) of one run, as `labeling apply` does it."""
    with use(s, labels=LABELS) as rt:
        planned = rt.plan(lfs, frames)
        votes = {(lf.name, split): lf.apply_frame(df).tolist()
                 for split, df in frames.items() for lf in lfs}
    return planned, votes


def test_a_whole_number_temperature_written_as_a_float_is_not_asked_again(
        fake_openai, tmp_path):
    lf = prompt_lf("promo", TEMPLATE, answers={"yes": SPAM, "no": ABSTAIN})
    frames = {"train": frame()}
    apply([lf], frames, settings(fake_openai, tmp_path, params={"temperature": 0}))
    assert fake_openai.received == len(TEXTS)
    # `temperature = 0.0` in labeling.toml: the same request, already paid for
    planned, _ = apply([lf], frames, settings(fake_openai, tmp_path,
                                              params={"temperature": 0.0}))
    assert planned[0]["to_call"] == 0
    assert fake_openai.received == len(TEXTS)
    # per LF too, and a real change is still asked
    lf_float = prompt_lf("promo", TEMPLATE, answers={"yes": SPAM, "no": ABSTAIN},
                         params={"temperature": 0.0, "max_tokens": 5.0})
    lf_int = prompt_lf("promo", TEMPLATE, answers={"yes": SPAM, "no": ABSTAIN},
                       params={"temperature": 0, "max_tokens": 5})
    apply([lf_float], frames, settings(fake_openai, tmp_path))
    assert fake_openai.received == 2 * len(TEXTS)
    # a count is sent as the integer the API takes (5.0 would be a 400 on every request)
    sent = fake_openai.bodies[-1]["max_tokens"]
    assert sent == 5 and type(sent) is int
    apply([lf_int], frames, settings(fake_openai, tmp_path))
    assert fake_openai.received == 2 * len(TEXTS)
    apply([lf], frames, settings(fake_openai, tmp_path, params={"temperature": 0.5}))
    assert fake_openai.received == 3 * len(TEXTS)


def test_plan_counts_a_prompt_shared_by_two_lfs_once(fake_openai, tmp_path):
    # one question, two readings of its answer: the run asks each prompt once
    strict = prompt_lf("promo_strict", TEMPLATE, answers={"yes": SPAM, "no": ABSTAIN})
    both = prompt_lf("promo_both", TEMPLATE, answers={"yes": SPAM, "no": HAM})
    frames = {"train": frame(), "dev": frame(TEXTS[:2] + ["new comment"])}
    planned, votes = apply([strict, both], frames, settings(fake_openai, tmp_path))
    assert fake_openai.received == len(TEXTS) + 1
    assert sum(p["to_call"] for p in planned) == fake_openai.received
    assert [(p["lf"], p["split"], p["to_call"]) for p in planned] == [
        ("promo_strict", "train", 5), ("promo_strict", "dev", 1),
        ("promo_both", "train", 0), ("promo_both", "dev", 0)]
    assert votes[("promo_strict", "train")] == [SPAM, ABSTAIN, SPAM, ABSTAIN, ABSTAIN]
    assert votes[("promo_both", "train")] == [SPAM, HAM, SPAM, HAM, HAM]


def test_plan_estimates_output_tokens_from_what_the_model_billed_before(fake_openai, tmp_path):
    # a reasoning model bills hundreds of output tokens for a one-word answer: once the
    # cache holds its replies, plan (and the budget held against it) counts those
    fake_openai.completion_tokens = 400
    s = settings(fake_openai, tmp_path, model="gpt-5-mini")
    first = prompt_lf("promo", TEMPLATE, answers={"yes": SPAM, "no": ABSTAIN})
    apply([first], {"train": frame()}, s)
    edited = prompt_lf("promo", TEMPLATE.replace("promote", "advertise"),
                       answers={"yes": SPAM, "no": ABSTAIN})
    with use(s, labels=LABELS) as rt:
        planned = rt.plan([edited], {"train": frame()})[0]
        edited.apply_frame(frame())
        spent = rt.report()["lfs"]["promo"]["cost"]
    assert planned["to_call"] == len(TEXTS) and planned["tokens_out"] == 400 * len(TEXTS)
    assert 0.8 * spent <= planned["cost"] <= 1.25 * spent
    assert "tok out of gpt-5-mini: 400 per call" in format_plan([planned])


def test_a_budget_stop_says_what_was_spent_once_the_calls_in_flight_came_back(
        fake_openai, tmp_path):
    fake_openai.completion_tokens = 400
    fake_openai.latency = 0.05  # several calls in flight when the budget stops the next
    texts = [f"comment number {i}" for i in range(60)]
    s = settings(fake_openai, tmp_path, concurrency=6, budget=0.003)
    lf = prompt_lf("promo", TEMPLATE, answers={"yes": SPAM, "no": ABSTAIN})
    with use(s, labels=LABELS) as rt:
        with pytest.raises(BudgetExceeded) as stop:
            lf.apply_frame(frame(texts))
        spent = rt.report()["spent"]
    assert f"(spent ${spent:.4f} in this run)" in str(stop.value)
    assert stop.value.spent == pytest.approx(spent, abs=1e-6) and spent <= 0.003
    with use(s, labels=LABELS) as rt:  # what was paid for is kept
        assert rt.plan([lf], frame(texts))[0]["cached"] == fake_openai.answered


def test_a_free_text_answer_in_markdown_emphasis_is_that_answer():
    # structured_output = false: chat models often bold their one-word answer
    answers = ["yes", "no"]
    assert parse_reply("**No**", answers) == ("no", None)
    assert parse_reply("**Yes**.", answers) == ("yes", None)
    assert parse_reply("_spam_", ["spam", "ham", "abstain"]) == ("spam", None)
    # still strict: extra words, a refusal or another label are no answer
    for reply in ("Yes, because it asks to subscribe.", "**Yes**, it does",
                  "I'm sorry, but I can't help with that.", "Neutral"):
        assert parse_reply(reply, answers) == (None, "off_label")
    assert parse_labels("**joy**, *anger*", ["joy", "anger", "fear", "abstain"]) == (
        '["joy", "anger"]', None)


@pytest.mark.parametrize("make, message", [
    (lambda: prompt_lf("p", TEMPLATE, answers={"Yes": SPAM, "yes ": HAM}),
     "prompt LF 'p': answers 'Yes' and 'yes ' are one answer (case and spaces are ignored)"),
    (lambda: prompt_lf("p", TEMPLATE, labels={"spam": "ads", "Spam": "promotion"}),
     "prompt LF 'p': answers 'spam' and 'Spam' are one answer"),
    (lambda: prompt_lf("p", TEMPLATE, answers={"yes": SPAM, "": HAM}),
     "prompt LF 'p': an answer may not be empty"),
    (lambda: prompt_lf("p", TEMPLATE, answers={"yes": SPAM, "no": HAM},
                       params={"temperature": 0, "api_key": "sk-abc"}),
     "prompt LF 'p': params may not set api_key"),
])
def test_a_mistake_in_a_prompt_lf_is_one_line_naming_it_when_it_is_made(make, message):
    with pytest.raises(ValueError) as error:
        make()
    assert message in str(error.value) and "\n" not in str(error.value)
    assert "sk-abc" not in str(error.value)


def test_a_vote_outside_the_labels_stops_before_any_call(fake_openai, tmp_path):
    for lf, message in [
            (prompt_lf("p", TEMPLATE, answers={"yes": 7, "no": ABSTAIN}),
             "prompt LF 'p': vote 7 is not a class index of the task's labels ['ham', 'spam'] "
             "(0..1) nor ABSTAIN (-1)"),
            (prompt_lf("p", TEMPLATE, labels={1: "ads", 5: "other"}),
             "prompt LF 'p': label 5 is not a class index of the task's labels ['ham', "
             "'spam'] (0..1)")]:
        with use(settings(fake_openai, tmp_path), labels=LABELS) as rt:
            with pytest.raises(LFError, match=re.escape(message)):
                rt.plan([lf], frame())
            with pytest.raises(LFError):
                lf.apply_frame(frame())
    assert fake_openai.received == 0


def test_local_backend_takes_a_label_without_a_description_of_its_own_from_its_label():
    # docs/authoring.md: for the multi-class form descriptions default to the label
    # descriptions; giving one label a better one keeps the others' defaults
    lf = prompt_lf("kind", "Spam or ham?\nComment: {text}",
                   labels={"spam": "promotes a channel, link or product",
                           "ham": "a genuine comment about the song"},
                   descriptions={"Spam": "subscribe to my channel, visit my website"})
    assert lf.local_descriptions(LABELS) == {
        "spam": "subscribe to my channel, visit my website",
        "ham": "a genuine comment about the song"}
    texts = ["subscribe to my channel and visit my website", "I love this song so much"]
    for margin, expected in [(0.0, [SPAM, HAM]), (2.0, [ABSTAIN, ABSTAIN])]:
        s = LLMSettings(backend="local", progress=False, local_margin=margin)
        with use(s, labels=LABELS):
            assert lf.apply_frame(frame(texts)).tolist() == expected


def test_a_refusal_under_structured_output_is_kept_as_the_reply(fake_openai, tmp_path):
    # OpenAI answers a refused structured request with no content and a `refusal` text:
    # the row abstains, and the text is what the app and the run's note show
    def content(prompt, body):
        if "voice" in prompt:
            return {"refusal": "I'm sorry, I can't help with that."}
        return json.dumps({"answer": "yes" if "subscribe" in prompt else "no"})

    fake_openai.content = content
    lf = prompt_lf("promo", TEMPLATE, answers={"yes": SPAM, "no": ABSTAIN})
    s = settings(fake_openai, tmp_path)
    with use(s, labels=LABELS) as rt:
        votes = lf.apply_frame(frame())
        stats = rt.report()["lfs"]["promo"]
    assert votes.tolist() == [SPAM, ABSTAIN, SPAM, ABSTAIN, ABSTAIN]
    assert stats["rejected"] == {"refusal": 1}
    entries = ResponseCache(tmp_path / "cache.sqlite").db.execute(
        "SELECT reply, answer, reason FROM responses WHERE prompt LIKE '%voice%'").fetchall()
    assert entries == [("I'm sorry, I can't help with that.", None, "refusal")]
    apply([lf], {"train": frame()}, s)  # cached: the model gave it
    assert fake_openai.received == len(TEXTS)


def test_a_cached_reply_rejected_by_an_older_reading_is_read_again(fake_openai, tmp_path):
    # '**No**' was cached as off_label before such replies were read as 'no': the cached
    # apply now gives the votes a fresh one gives, without asking again
    lf = prompt_lf("promo", TEMPLATE, answers={"yes": SPAM, "no": HAM})
    s = settings(fake_openai, tmp_path, structured_output=False)
    reqs = build_requests(lf, frame(), s, LABELS)
    cache = ResponseCache(tmp_path / "cache.sqlite")
    for req in reqs:
        reply = "**Yes**" if "subscribe" in req.messages[-1]["content"] else "**No**"
        cache.put(Entry(req.key, "promo", req.model, "[]", reply, None, "off_label"))
    cache.put(Entry(reqs[-1].key, "promo", reqs[-1].model, "[]", "Maybe.", None, "off_label"))
    cache.close()
    with use(s, labels=LABELS) as rt:
        votes = lf.apply_frame(frame())
        stats = rt.report()["lfs"]["promo"]
    assert votes.tolist() == [SPAM, HAM, SPAM, HAM, ABSTAIN]
    assert stats["rejected"] == {"off_label": 1} and fake_openai.received == 0


def test_the_app_shows_a_cached_reply_as_the_apply_read_it(tmp_path):
    from types import SimpleNamespace

    import numpy as np

    from labeling.review import detail

    lf = prompt_lf("promo", TEMPLATE, answers={"yes": SPAM, "no": HAM})
    s = LLMSettings(backend="openai", structured_output=False)
    df = frame(["what a voice"])
    (req,) = build_requests(lf, df, s, LABELS)
    cache = ResponseCache(tmp_path / "cache.sqlite")
    cache.put(Entry(req.key, "promo", req.model, "[]", "**No**", None, "off_label"))
    cache.close()
    config = SimpleNamespace(llm_cache_path=tmp_path / "cache.sqlite", llm=s, labels=LABELS)
    run = SimpleNamespace(config=config, metrics={"llm": {"backend": "openai"}},
                          frames={"dev": df}, L={"dev": np.array([[HAM]])},
                          lf_names=["promo"], labels=LABELS)
    (item,) = detail.prompt_details(run, [lf], "dev", 0)
    assert (item["vote"], item["reply"], item["answer"], item["reason"]) == (
        "ham", "**No**", "no", None)


@pytest.mark.parametrize("params, message", [
    ({"temperature": "hot"}, "params.temperature must be a number from 0 to 2, got a string"),
    ({"temperature": 2.5}, "params.temperature must be a number from 0 to 2, got 2.5"),
    ({"top_p": -0.1}, "params.top_p must be a number from 0 to 1, got -0.1"),
    ({"max_tokens": 0}, "params.max_tokens must be a whole number >= 1, got 0"),
    ({"seed": 1.5}, "params.seed must be a whole number, got 1.5"),
    ({"n": 3}, "params.n must be 1 (one answer per prompt is read), got 3"),
])
def test_a_param_value_the_endpoint_would_refuse_is_one_line_before_any_call(params, message,
                                                                            tmp_path):
    """Before: accepted, then every request got a 400 until the dead-endpoint stop."""
    with pytest.raises(ValueError) as error:
        prompt_lf("p", TEMPLATE, answers={"yes": SPAM, "no": HAM}, params=params)
    assert str(error.value) == f"prompt LF 'p': {message}"
    config = tmp_path / "labeling.toml"
    config.write_text('name = "t"\nlabels = ["ham", "spam"]\nlfs = ["f.py"]\n'
                      '[data]\ntrain = "train.csv"\n'
                      "[llm]\nparams = {" + ", ".join(f"{k} = {json.dumps(v)}"
                                                        for k, v in params.items()) + "}\n",
                      encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        load_config(config)
    assert str(error.value) == f"{config}: llm.params: {message}"


def test_common_param_values_and_unknown_params_pass():
    prompt_lf("p", TEMPLATE, answers={"yes": SPAM, "no": HAM},
              params={"temperature": 0.0, "top_p": 1, "seed": 7, "max_tokens": 5, "n": 1,
                      "logit_bias": {"1": 5}, "reasoning_effort": "low"})
