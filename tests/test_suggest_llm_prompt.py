"""LLM-proposed prompt LFs (labeling/suggest, issue #18): the LLM's ``prompt`` proposals are
validated data (a template with ``{text}`` and no other placeholder), scored by the
endpoint through the task's LLM runtime (cache, budget) on train and dev, accepted as
readable ``prompt_lf(...)`` code that votes through the response cache; a reworded copy
of an existing prompt LF is not proposed; an exhausted budget leaves the rest unscored
and keeps what was done. All against the fake OpenAI server on 127.0.0.1."""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import REPO_ROOT  # noqa: E402
from llm_server import fake_openai  # noqa: E402,F401  (the fixture)

from labeling import llm, pipeline  # noqa: E402
from labeling.cli import app  # noqa: E402
from labeling.lf.loader import load_lfs  # noqa: E402
from labeling.llm.prompt import prompt_lf  # noqa: E402
from labeling.llm.settings import LLMSettings  # noqa: E402
from labeling.suggest.context import Context, LabelModelRefit  # noqa: E402
from labeling.suggest.engine import suggest  # noqa: E402
from labeling.suggest.llm_source import (MAX_PROMPTS, LLMSource, output_tokens,  # noqa: E402
                                         parse, schema)
from labeling.suggest.proposal import ABSTAIN, Proposal  # noqa: E402
from labeling.suggest.task import accept, runtime_for, suggest_for_task  # noqa: E402

HAM, SPAM = 0, 1
LABELS = ["ham", "spam"]
SUGGEST_SYSTEM = "You write labeling functions"


def _prompt(prompt: str, label: str = "spam", rationale: str = "asks about it") -> dict:
    return {"kind": "prompt", "keywords": [], "pattern": "", "prompt": prompt,
            "label": label, "rationale": rationale}


def _fake_llm(proposals: list[dict], rules: dict[str, str]):
    """The fake server's replies: the proposals to the suggestion request; to a prompt LF's
    request, ``yes`` when the row's text (after the template's ``Message: ``-like prefix
    on its second line) holds the word that ``rules`` gives for a word of the question
    (its first line), else ``no``."""
    def content(prompt: str, body: dict) -> str:
        if body["messages"][0]["content"].startswith(SUGGEST_SYSTEM):
            return json.dumps({"proposals": proposals})
        question, _, rest = prompt.partition("\n")
        text = rest.partition(": ")[2]
        word = next((w for q, w in rules.items() if q in question.lower()), None)
        return json.dumps({"answer": "yes" if word and word in text.lower() else "no"})
    return content


def _requests_since(server, start: int) -> list[str]:
    return [next(m["content"] for m in reversed(b["messages"]) if m["role"] == "user")
            for b in server.bodies[start:]]


# --- proposals as data (no server) ----------------------------------------------------

@pytest.mark.parametrize("item, message", [
    (_prompt("Is this spam?"), "has no {text} placeholder"),
    (_prompt("Is this spam? {0}\nText: {text}"), "placeholder {0} is not allowed"),
    (_prompt("Is this spam?\nText: {text.__class__}"), "placeholder {text.__class__}"),
    (_prompt("Is {text[0]} spam?"), "placeholder {text[0]}"),
    (_prompt("Is this spam?\nText: {text!r}"), "placeholder {text!r}"),
    (_prompt("Is this spam?\nText: {text:>9}"), "placeholder {text:>9}"),
    (_prompt("Is this {spam?\nText: {text}"), "is not a template"),
    (_prompt("Is this spam?\x1b[2J\nText: {text}"), "control characters"),
    (_prompt("Is this spam? " * 100 + "{text}"), "longer than 1000 characters"),
    (_prompt("   "), "needs a non-empty prompt"),
    ({k: v for k, v in _prompt("x {text}").items() if k != "prompt"}, "needs a non-empty prompt"),
    ({**_prompt("x {text}"), "prompt": ["x {text}"]}, "prompt must be a string"),
    (_prompt("Is this spam?\nText: {text}", label="eggs"), "label 'eggs' is not one of"),
])
def test_a_bad_prompt_proposal_is_dropped_with_a_one_line_note(item, message):
    good = _prompt("Does it promote a website?\nComment: {text}")
    proposals, notes = parse(json.dumps({"proposals": [good, item]}), LABELS, "m")
    assert [p.prompt for p in proposals] == [good["prompt"]]
    assert len(notes) == 1 and notes[0].startswith("LLM proposal 2 dropped: ")
    assert message in notes[0] and "\n" not in notes[0]


def test_a_valid_prompt_proposal_becomes_a_yes_no_prompt_lf():
    (p,), notes = parse(json.dumps({"proposals": [_prompt(
        "Does it {{literally}} promote a site?\nComment: {text}")]}), LABELS, "gpt-x")
    assert notes == [] and (p.kind, p.label, p.source) == ("prompt", SPAM, "llm:gpt-x")
    lf = p.to_lf()
    assert lf.template == p.prompt and lf.raw_answers == {"yes": SPAM, "no": ABSTAIN}
    assert lf.render({"text": "T"}) == "Does it {literally} promote a site?\nComment: T"
    assert p.needs_endpoint and p.describe().startswith("prompt 'Does it")


def test_at_most_a_few_prompt_proposals_are_kept():
    items = [_prompt(f"Question {i}?\nText: {{text}}") for i in range(MAX_PROMPTS + 2)]
    proposals, notes = parse(json.dumps({"proposals": items}), LABELS, "m")
    assert len(proposals) == MAX_PROMPTS
    assert len(notes) == 2 and all(f"more than {MAX_PROMPTS} prompt proposals" in n
                                   for n in notes)


def test_the_schema_and_the_cost_estimate_know_the_prompt_kind():
    item = schema(LABELS)["properties"]["proposals"]["items"]
    assert item["properties"]["kind"]["enum"] == ["keyword", "regex", "prompt"]
    assert item["properties"]["prompt"] == {"type": "string"} and "prompt" in item["required"]
    # a prompt proposal's template is most of its length: the reply is estimated longer
    assert output_tokens(5) > 80 * 5 + 20


# --- scored by the endpoint, on a small task ------------------------------------------

def _small_ctx(lfs=None, extra=None) -> Context:
    """100 dev rows (40 spam), 500 train rows; the one LF votes spam on "click". Spam rows
    60-74 say "prize winner" and no LF covers them; rows 75-79 say "bonus"."""
    words = ["alpha", "beta", "gamma", "delta", "omega", "sigma", "kappa", "theta"]
    rng = np.random.default_rng(1)
    y = np.array([0] * 60 + [1] * 40)
    dev = [" ".join(rng.choice(words, 4)) + (" click here" if i >= 80 else "")
           + (" prize winner" if 60 <= i < 75 else "") + (" bonus" if 75 <= i < 80 else "")
           for i in range(len(y))]
    train = [" ".join(rng.choice(words, 4)) + (" click here" if i % 5 == 0 else "")
             + (" prize winner" if i % 5 == 1 else "") + (" bonus" if i % 25 == 2 else "")
             for i in range(500)]
    columns = [lambda t: 1 if "click" in t else -1, *(extra or [])]
    L = {s: np.array([[f(t) for f in columns] for t in texts])
         for s, texts in (("train", train), ("dev", dev))}
    names = ["click", *(lf.name for lf in (lfs or []))][:len(columns)]
    return Context(labels=LABELS, texts={"train": train, "dev": dev}, L=L, y_dev=y,
                   lf_names=names, label_model=("mv", {}), use_embeddings=False, lfs=lfs)


def _runtime(server, monkeypatch, tmp_path, budget=100.0, prices=None):
    """An endpoint runtime; scoring uncached prompt proposals needs a budget (set here)."""
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    settings = LLMSettings(max_retries=0, budget=budget, progress=False,
                           prices=prices or {})
    return llm.use(settings, labels=LABELS, cache_path=tmp_path / "llm.sqlite")


PRIZE = "Does this message announce a prize?\nMessage: {text}"
BONUS = "Does this message offer a bonus?\nMessage: {text}"
RULES = {"prize": "winner", "bonus": "bonus", "won": "winner"}


def test_a_prompt_proposal_is_scored_by_the_endpoints_answers(fake_openai, monkeypatch,
                                                              tmp_path):
    ctx = _small_ctx()
    missing = {k: v for k, v in _prompt(BONUS).items() if k != "prompt"}
    fake_openai.content = _fake_llm([
        _prompt(PRIZE, rationale="prizes are spam"), _prompt("Bonus? {0}\nText: {text}"),
        _prompt(BONUS, label="scam"), missing], RULES)
    with _runtime(fake_openai, monkeypatch, tmp_path) as rt:
        result = suggest(ctx, n=5, sources=("llm",), llm_source=LLMSource(rt))
    assert [n.split(": ", 1)[0] for n in result.notes] == [
        f"LLM proposal {i} dropped" for i in (2, 3, 4)]  # bad template, label, no prompt
    assert "placeholder {0}" in result.notes[0] and "'scam'" in result.notes[1]
    (row,) = result.rows
    p = row["proposal"]
    assert p.prompt == PRIZE and p.source == "llm:gpt-4o-mini"
    # its votes are the endpoint's answers: yes (spam) exactly on the "winner" rows
    for split in ("train", "dev"):
        expected = [SPAM if "winner" in t else ABSTAIN for t in ctx.texts[split]]
        assert row["votes"][split].tolist() == expected
    assert row["dev_fires"] == row["dev_correct"] == 15 and row["held_fixes"] == 15
    # one request per distinct row text, plus the suggestion itself; the cost is reported
    distinct = len(set(ctx.texts["train"]) | set(ctx.texts["dev"]))
    assert fake_openai.received == 1 + distinct
    scoring = result.llm["prompt_scoring"]
    assert (scoring["prompts"], scoring["requests"]) == (1, distinct)
    assert scoring["calls"] == distinct + scoring["cached"]  # dev texts also in train: cached
    assert 0 < scoring["cost"] < scoring["spent"]  # the suggestion call is spent too
    assert all(b["response_format"]["json_schema"]["schema"]["properties"]["answer"]["enum"]
               == ["yes", "no"] for b in fake_openai.bodies[1:])


def test_a_prompt_proposal_without_an_endpoint_is_not_scored():
    ctx = _small_ctx()
    p = Proposal("prompt", SPAM, prompt=PRIZE, source="llm:m")
    refit = LabelModelRefit(ctx)
    from labeling.suggest.select import score_all

    rows, dropped = score_all([p], ctx, refit, n=5)  # no runtime: the offline path
    assert rows == [] and "not scored" in dropped[0]["why"]
    assert "no endpoint is configured" in dropped[0]["why"]


def test_a_near_duplicate_of_an_existing_prompt_lf_is_not_proposed(fake_openai, monkeypatch,
                                                                   tmp_path):
    existing = prompt_lf("llm_prize", PRIZE, answers={"yes": SPAM, "no": ABSTAIN})
    ctx = _small_ctx(lfs=[existing], extra=[lambda t: SPAM if "winner" in t else ABSTAIN])
    reworded = "Does this message announce a prize?\nText: {text}"  # same question
    same_votes = "Is the writer telling someone they won?\nMessage: {text}"
    fake_openai.content = _fake_llm([_prompt(reworded), _prompt(same_votes)], RULES)
    with _runtime(fake_openai, monkeypatch, tmp_path) as rt:
        result = suggest(ctx, n=5, sources=("llm",), llm_source=LLMSource(rt))
    assert result.rows == []
    why = {d["what"]: d["why"] for d in result.dropped}
    assert re.match(r"near-duplicate of LF llm_prize \(prompt text similarity 0\.9\d",
                    why[f"prompt {reworded!r}"])
    # a question worded otherwise that votes on the same rows: caught by its votes
    assert why[f"prompt {same_votes!r}"] == "near-duplicate of LF llm_prize (overlap 1.00)"
    asked = _requests_since(fake_openai, 1)
    assert asked and not any(q.startswith("Does this message announce") for q in asked), \
        "the reworded copy was sent to the endpoint"
    # the model was shown the existing prompt, so it need not repeat it
    assert "- llm_prize: Does this message announce a prize? Message: {text}" in \
        fake_openai.bodies[0]["messages"][1]["content"]


def test_a_question_asked_twice_in_one_reply_is_scored_once(fake_openai, monkeypatch,
                                                            tmp_path):
    # before: each of two near-identical prompts of one reply paid a pass over the rows
    ctx = _small_ctx()
    twice = "Does this message announce a prize!\nText: {text}"  # PRIZE, reworded
    fake_openai.content = _fake_llm([_prompt(PRIZE), _prompt(twice)], RULES)
    with _runtime(fake_openai, monkeypatch, tmp_path) as rt:
        result = suggest(ctx, n=5, sources=("llm",), llm_source=LLMSource(rt))
    distinct = len(set(ctx.texts["train"]) | set(ctx.texts["dev"]))
    assert fake_openai.received == 1 + distinct  # the suggestion call and one pass
    (row,) = result.rows
    assert row["proposal"].prompt == PRIZE
    why = {d["what"]: d["why"] for d in result.dropped}
    assert re.match(rf"near-duplicate of proposal {row['proposal'].id} \(prompt text "
                    r"similarity 0\.9\d", why[f"prompt {twice!r}"])


def _plan_cost(server, monkeypatch, tmp_path, ctx, template, prices) -> float:
    """What scoring the prompt ``template`` on train and dev is planned to cost, from an
    empty cache (the estimate the budget check uses)."""
    import pandas as pd

    lf = Proposal("prompt", SPAM, prompt=template, source="llm:m").to_lf()
    frames = {s: pd.DataFrame({"text": ctx.texts[s]}) for s in ("train", "dev")}
    with _runtime(server, monkeypatch, tmp_path / "plan", prices=prices) as rt:
        return sum(p["cost"] for p in rt.plan([lf], frames))


def test_budget_exhaustion_while_scoring_prompts_keeps_what_was_done(fake_openai, monkeypatch,
                                                                     tmp_path):
    ctx = _small_ctx()
    keyword = {"kind": "keyword", "keywords": ["winner"], "pattern": "", "prompt": "",
               "label": "spam", "rationale": "prizes"}
    fake_openai.content = _fake_llm([keyword, _prompt(PRIZE), _prompt(BONUS)], RULES)
    prices = {"gpt-4o-mini": {"input": 1.0, "output": 1.0}}
    pred_dev = LabelModelRefit(ctx).pred_dev_
    with _runtime(fake_openai, monkeypatch, tmp_path, prices=prices) as rt:
        LLMSource(rt, n=5)(ctx, pred_dev, None)  # the suggestion reply, cached: free below
    prize_cost = _plan_cost(fake_openai, monkeypatch, tmp_path, ctx, PRIZE, prices)
    bonus_cost = _plan_cost(fake_openai, monkeypatch, tmp_path, ctx, BONUS, prices)
    budget = prize_cost + 0.25 * bonus_cost  # the first prompt fits, the second does not
    start = fake_openai.received
    with _runtime(fake_openai, monkeypatch, tmp_path, budget=budget, prices=prices) as rt:
        result = suggest(ctx, n=5, sources=("llm",), llm_source=LLMSource(rt, n=5))
        spent = rt.spent
    assert result.llm["cached"] and 0 < spent <= budget
    asked = _requests_since(fake_openai, start)
    assert asked and all(q.startswith("Does this message announce") for q in asked)
    dropped = {d["what"]: d["why"] for d in result.dropped}
    assert dropped[f"prompt {BONUS!r}"].startswith("not scored: planned cost $")
    assert "no call was made" in dropped[f"prompt {BONUS!r}"]
    assert any("not scored: planned cost" in n and BONUS[:20] in n for n in result.notes)
    # what was done stays: the keyword and the first prompt were scored
    scored = {r["proposal"].describe() for r in result.rows} | {
        w for w, why in dropped.items() if not why.startswith("not scored")}
    assert {"keywords 'winner'", f"prompt {PRIZE!r}"} <= scored
    # ... and its answers are cached: with budget for the second, only its rows are asked
    start = fake_openai.received
    with _runtime(fake_openai, monkeypatch, tmp_path, budget=1.01 * bonus_cost,
                  prices=prices) as rt:
        again = suggest(ctx, n=5, sources=("llm",), llm_source=LLMSource(rt, n=5))
    asked = _requests_since(fake_openai, start)
    assert asked and all(q.startswith("Does this message offer a bonus") for q in asked)
    assert not any(d["why"].startswith("not scored") for d in again.dropped)


# --- accepted on the bundled task: code that votes through the cache ------------------

KEPT_LFS = "LFS = [check_out, song_praise, views_talk, short_comment]\n"
PROMO = ("Is this comment promoting something (a channel, a website, money)?\n"
         "Comment: {text}")
PROMO_RULES = {"promoting": "http"}


def _bundled_task(root: Path, server, monkeypatch) -> pipeline.Task:
    """The bundled task with four of its LFs (none on links), applied and fitted, and the
    fake endpoint configured."""
    shutil.copytree(REPO_ROOT / "data" / "youtube", root / "data" / "youtube")
    source = (REPO_ROOT / "functions" / "youtube_spam.py").read_text(encoding="utf-8")
    (root / "functions").mkdir()
    (root / "functions" / "youtube_spam.py").write_text(
        source.split("# --- prompts")[0] + KEPT_LFS, encoding="utf-8")
    config = (REPO_ROOT / "labeling.toml").read_text(encoding="utf-8")
    # a budget: without one, suggest does not score uncached prompt proposals
    (root / "labeling.toml").write_text(config + "\n[llm]\nbudget = 5.0\n", encoding="utf-8")
    task = pipeline.load_task(root / "labeling.toml")
    pipeline.step_apply(task, progress=False)
    pipeline.step_fit(task)
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    return task


def test_an_accepted_prompt_lf_is_readable_code_that_votes_through_the_cache(
        fake_openai, monkeypatch, tmp_path):
    task = _bundled_task(tmp_path, fake_openai, monkeypatch)
    fake_openai.content = _fake_llm(
        [_prompt(PROMO, rationale="links in comments are\nadverts")], PROMO_RULES)
    with runtime_for(task, "llm") as runtime:
        result = suggest_for_task(task, n=5, source="llm", runtime=runtime, embeddings=False)
    rows = [r for r in result.rows if r["proposal"].kind == "prompt"]
    assert rows, result.dropped
    row = rows[0]
    # the CLI again: the suggestion and every answer come from the response cache
    start = fake_openai.received
    out = CliRunner().invoke(app, ["suggest", str(task.config.source), "--source", "llm",
                                   "--n", "5"])
    assert out.exit_code == 0, out.output
    assert fake_openai.received == start and row["proposal"].id in out.output
    assert re.search(r"LLM prompt proposals scored on train and dev: 1 prompt\(s\), (\d+) "
                     r"distinct rows, \1 cached, 0 request\(s\), \$0\.0000", out.output)
    name, entry = accept(task, row["proposal"].id)
    path = task.config.base_dir / entry
    text = path.read_text(encoding="utf-8")
    # readable code under a comment saying where it came from
    said = " ".join(line[2:] for line in text.splitlines() if line.startswith("# "))
    assert re.search(r"Accepted \S+ from `labeling suggest` \(proposed by the LLM "
                     rf"gpt-4o-mini, id {row['proposal'].id}\): votes spam when the LLM "
                     "answers yes", said)
    assert said.endswith("Rationale: links in comments are adverts")
    assert (f'{name} = prompt_lf(\n    "{name}",\n'
            "    'Is this comment promoting something (a channel, a website, money)?\\n'\n"
            '    "Comment: {text}",\n    answers={"yes": SPAM, "no": ABSTAIN},\n)') in text
    (lf,) = [lf for lf in load_lfs([str(path)], task.config.base_dir) if lf.name == name]
    assert lf.template == PROMO
    # applied again with the endpoint: train and dev are answered from the response cache
    reloaded = pipeline.load_task(task.config.source)
    assert entry in reloaded.config.lfs
    start = fake_openai.received
    pipeline.step_apply(reloaded, progress=False)
    asked = _requests_since(fake_openai, start)
    seen = {f"{PROMO.split('{')[0]}{t}" for s in ("train", "dev")
            for t in reloaded.splits[s]["text"]}
    assert not set(asked) & seen, "a train or dev row was asked again"
    assert len(asked) <= reloaded.splits["test"]["text"].nunique()  # test: never scored
    import pandas as pd

    L = pd.read_parquet(reloaded.run_dir / pipeline.L_FILE)
    for split in ("train", "dev"):
        assert L.xs(split, level="split")[name].tolist() == row["votes"][split].tolist()
    assert (L[name] == SPAM).sum() > 0


def test_without_a_budget_an_uncached_prompt_proposal_is_not_scored(fake_openai, monkeypatch,
                                                                    tmp_path):
    ctx = _small_ctx()
    fake_openai.content = _fake_llm([_prompt(PRIZE)], RULES)
    start = fake_openai.received
    with _runtime(fake_openai, monkeypatch, tmp_path, budget=None) as rt:
        result = suggest(ctx, n=5, sources=("llm",), llm_source=LLMSource(rt))
    assert _requests_since(fake_openai, start + 1) == []  # the suggestion call only
    why = {d["what"]: d["why"] for d in result.dropped}[f"prompt {PRIZE!r}"]
    calls = len(set(ctx.texts["train"]) | set(ctx.texts["dev"]))
    assert why == (f"not scored: answering it would take {calls} endpoint calls (a call per "
                   "train and dev row) and [llm] budget is not set; set it to let suggest "
                   "spend on scoring prompts")
    # once its answers are cached (a run with a budget), no budget is needed to score it
    with _runtime(fake_openai, monkeypatch, tmp_path) as rt:
        suggest(ctx, n=5, sources=("llm",), llm_source=LLMSource(rt))
    start = fake_openai.received
    with _runtime(fake_openai, monkeypatch, tmp_path, budget=None) as rt:
        again = suggest(ctx, n=5, sources=("llm",), llm_source=LLMSource(rt))
    assert fake_openai.received == start
    assert not any(d["why"].startswith("not scored") for d in again.dropped)
