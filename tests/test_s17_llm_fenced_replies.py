"""Replies wrapped in a markdown code fence (```` ```json {...} ``` ````), as chat models
often send JSON when no structured output is asked: read as their body, for single- and
multi-label prompt LFs, fresh and from the cache (h136 found both rejected as off_label)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from llm_server import fake_openai  # noqa: E402,F401  (the fixture)
from test_llm_prompt_iteration import TEMPLATE, TEXTS, frame  # noqa: E402
from test_llm_prompt_iteration import settings as single_settings  # noqa: E402
from test_multilabel_prompts import apply as ml_apply  # noqa: E402
from test_multilabel_prompts import feelings  # noqa: E402
from test_multilabel_prompts import settings as ml_settings  # noqa: E402

from labeling.llm import prompt_lf, use  # noqa: E402
from labeling.llm.client import parse_reply  # noqa: E402
from labeling.llm.multilabel import parse_labels  # noqa: E402

HAM, SPAM = 0, 1


def fenced(value) -> str:
    return "```json\n" + json.dumps(value) + "\n```"


def test_a_fenced_json_answer_votes_for_a_single_label_prompt(fake_openai, tmp_path):
    fake_openai.content = lambda prompt, body: fenced(
        {"answer": "yes" if "subscribe" in prompt else "no"})
    lf = prompt_lf("promo", TEMPLATE, answers={"yes": SPAM, "no": HAM})
    s = single_settings(fake_openai, tmp_path, structured_output=False)
    with use(s, labels=["ham", "spam"]) as rt:
        votes = lf.apply_frame(frame()).tolist()
        stats = rt.report()["lfs"]["promo"]
    assert votes == [SPAM, HAM, SPAM, HAM, HAM]
    assert not stats.get("rejected"), stats
    with use(s, labels=["ham", "spam"]):  # from the cache: the same votes, nothing asked
        assert lf.apply_frame(frame()).tolist() == votes
    assert fake_openai.received == len(TEXTS)


def test_a_fenced_json_list_votes_for_a_multi_label_prompt(fake_openai, tmp_path):
    replies = {"a": fenced({"answer": ["joy", "fear"]}), "b": fenced(["anger"]),
               "c": "```\njoy\n```", "d": fenced({"answer": ["table"]})}
    fake_openai.content = lambda prompt, body: replies[prompt[-1]]
    L, stats = ml_apply(feelings(), frame(["a", "b", "c", "d"]),
                        ml_settings(fake_openai, tmp_path, structured_output=False))
    assert L.tolist() == [[1, 0, 1], [0, 1, 0], [1, 0, 0], [-1, -1, -1]]
    assert stats["rejected"] == {"off_label": 1}  # 'table' is no label, fenced or not


def test_fences_read_and_not_read():
    assert parse_reply("```json {\"answer\": \"yes\"} ```", ["yes", "no"]) == ("yes", None)
    assert parse_reply("```yes```", ["yes", "no"]) == ("yes", None)
    assert parse_reply("``````", ["yes", "no"]) == (None, "empty")
    # a fence inside other words is not the whole reply: not an answer
    assert parse_reply("I'd say ```yes```", ["yes", "no"]) == (None, "off_label")
    assert parse_reply("```json\n{\"answer\": \"maybe\"}\n```", ["yes", "no"]) == (
        None, "off_label")
    assert parse_labels("```json\n[\"joy\"]\n```", ["joy", "abstain"]) == ('["joy"]', None)
    assert parse_labels("```json\n[\"joy\", 3]\n```", ["joy", "abstain"]) == (None, "bad_json")
