"""LF suggestions (labeling/suggest): offline proposals on the bundled data, scored on dev
only; accept writes code that loads and votes as proposed; reject is remembered;
duplicates are not proposed; the LLM source against the fake OpenAI server (malformed
JSON, an off-label proposal, an invalid regex, budget exhaustion)."""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import REPO_ROOT  # noqa: E402
from llm_server import fake_openai  # noqa: E402,F401  (the fixture)

from labeling import pipeline  # noqa: E402
from labeling.cli import app  # noqa: E402
from labeling.errors import ConfigError, LabelingError  # noqa: E402
from labeling.lf.loader import load_lfs  # noqa: E402
from labeling.llm.errors import BudgetExceeded  # noqa: E402
from labeling.session import Session  # noqa: E402
from labeling.suggest import codegen  # noqa: E402
from labeling.suggest.context import Context  # noqa: E402
from labeling.suggest.proposal import InvalidProposal, Proposal, validate  # noqa: E402
from labeling.suggest.score import votes_of  # noqa: E402
from labeling.suggest.select import rank_score  # noqa: E402
from labeling.suggest.store import SuggestionStore  # noqa: E402
from labeling.suggest.task import (accept, context_for, reject, runtime_for,  # noqa: E402
                                   suggest_for_task)

HAM, SPAM = 0, 1


KEPT_LFS = "LFS = [subscribe, check_out, song_praise, views_talk, short_comment]\n"


def _bundled_copy(root: Path) -> Path:
    """The bundled task in ``root``: its data and config, and five of its LFs (its full set
    leaves the label model little to fix on dev, so few proposals would pass; the prompt
    LFs would embed every row with MiniLM: minutes on a busy 2-core machine)."""
    shutil.copytree(REPO_ROOT / "data" / "youtube", root / "data" / "youtube")
    source = (REPO_ROOT / "functions" / "youtube_spam.py").read_text(encoding="utf-8")
    (root / "functions").mkdir()
    (root / "functions" / "youtube_spam.py").write_text(
        source.split("# --- prompts")[0] + KEPT_LFS, encoding="utf-8")
    shutil.copy(REPO_ROOT / "labeling.toml", root / "labeling.toml")
    return root / "labeling.toml"


def _fitted(root: Path) -> pipeline.Task:
    task = pipeline.load_task(_bundled_copy(root))
    pipeline.step_apply(task, progress=False)
    pipeline.step_fit(task)
    return task


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """A fitted copy of the bundled task and its first offline suggestions (read only)."""
    task = _fitted(tmp_path_factory.mktemp("suggest"))
    result = suggest_for_task(task, n=8, embeddings=False)
    return task, result


@pytest.fixture
def fresh(tmp_path):
    """A fitted copy of the bundled task that a test may change (accept, reject)."""
    return _fitted(tmp_path)


# --- proposals as data -----------------------------------------------------------

@pytest.mark.parametrize("proposal, message", [
    (Proposal("regex", SPAM, pattern="(unclosed"), "does not compile"),
    (Proposal("regex", SPAM, pattern="a*"), "matches the empty string"),
    (Proposal("regex", SPAM, pattern=r"(\w+\s?)*$"), "nests unbounded quantifiers"),
    (Proposal("keyword", 2, keywords=("free",)), "not one of the task's labels"),
    (Proposal("keyword", SPAM, keywords=()), "needs 1 to"),
    (Proposal("shell", SPAM, pattern="rm -rf /"), "kind 'shell'"),
])
def test_invalid_proposals_are_refused_with_a_reason(proposal, message):
    with pytest.raises(InvalidProposal, match=message):
        validate(proposal, ["ham", "spam"])


def test_a_proposal_id_names_what_it_matches_and_votes():
    a = Proposal("keyword", SPAM, keywords=("free", "prize"), source="offline:ngram")
    assert a.id == Proposal("keyword", SPAM, keywords=("prize", "free")).id  # no order, source
    assert a.id != Proposal("keyword", HAM, keywords=("free", "prize")).id
    assert a.id != Proposal("regex", SPAM, pattern="free|prize").id


def test_the_suggester_sees_no_test_split():
    with pytest.raises(ValueError, match="train and dev only"):
        Context(labels=["a", "b"], texts={"train": ["x"], "dev": ["y"], "test": ["z"]},
                L={"train": np.zeros((1, 1)), "dev": np.zeros((1, 1))}, y_dev=[0],
                lf_names=["lf"])


# --- offline suggestions on the bundled data ---------------------------------------

def test_offline_proposals_are_valid_and_scored_on_dev(fitted):
    task, result = fitted
    assert 2 <= len(result.rows) <= 8
    labels = task.config.labels
    dev = task.splits["dev"]
    gold = task.gold("dev")
    for row in result.rows:
        p = validate(row["proposal"], labels)
        assert p.source.startswith("offline:")
        # the dev numbers are the LF's own votes on dev gold, recounted here
        lf = p.to_lf()
        votes = np.array([lf(r) for r in dev.itertuples(index=False)])
        fires = votes == p.label
        assert row["dev_fires"] == fires.sum()
        assert row["dev_correct"] == (fires & (gold == p.label)).sum()
        assert row["dev_precision_low"] <= row["dev_precision"] <= row["dev_precision_high"]
        assert row["examples"]["dev"] and all(ex["id"] in set(dev["id"])
                                              for ex in row["examples"]["dev"])
        assert np.isfinite(row["lm_dev_after"])
    # each row is scored given the rows above it accepted: recomputed here
    n_dev = int((gold >= 0).sum())
    ctx = context_for(task, embeddings=False)
    from labeling.suggest.context import LabelModelRefit
    from labeling.suggest.proxy import WeakLabelProxy
    from labeling.suggest.select import GreedySelector, refusal

    selector = GreedySelector(ctx, LabelModelRefit(ctx), WeakLabelProxy(ctx))
    for row in result.rows:
        assert row["score"] == pytest.approx(rank_score(row, n_dev))
        assert refusal(row) is None
        again = {k: row[k] for k in ("proposal", "votes", "held_mask")}
        assert selector.evaluate(again) is None
        assert [again[k] for k in ("held_fixes", "held_harms", "weak_gains", "weak_losses")] \
            == [row[k] for k in ("held_fixes", "held_harms", "weak_gains", "weak_losses")]
        selector.accept(row)
    assert {w["label"] for w in result.weakness} == set(labels)


def test_suggestions_do_not_read_test(fitted, tmp_path):
    """Scrambling the test split (labels flipped, texts replaced by dev's) changes nothing:
    if any number came from test, this would differ."""
    task, result = fitted
    test = task.splits["test"]
    scrambled = test.copy()
    scrambled["label"] = 1 - scrambled["label"]
    dev_texts = task.splits["dev"]["text"].tolist()
    scrambled["text"] = [dev_texts[i % len(dev_texts)] for i in range(len(scrambled))]
    task.splits["test"] = scrambled
    run_dir = task.config.run_dir
    shutil.copy(run_dir / "suggestions.json", tmp_path / "suggestions.json")
    try:
        again = suggest_for_task(task, n=8, embeddings=False)
    finally:
        task.splits["test"] = test
        shutil.copy(tmp_path / "suggestions.json", run_dir / "suggestions.json")
    keys = ("dev_fires", "dev_correct", "lm_dev_after", "score", "train_coverage")
    assert [(r["proposal"].id, *(r[k] for k in keys)) for r in again.rows] == \
           [(r["proposal"].id, *(r[k] for k in keys)) for r in result.rows]


def test_a_word_from_one_folds_rows_earns_no_held_out_credit():
    """Mined on all dev, "zork" (only in 4 spam rows of one fold) fixes those 4 rows; the
    held-out runs never find it without them, so its rank counts nothing."""
    from labeling.metrics import stratified_folds
    from labeling.suggest.engine import FOLDS, suggest

    rng = np.random.default_rng(0)
    words = ["alpha", "beta", "gamma", "delta", "omega", "sigma", "kappa", "theta"]
    y = np.array([0] * 60 + [1] * 40)
    folds = stratified_folds(y, FOLDS, 0)
    lucky = np.flatnonzero((folds == 0) & (y == 1))[:4]
    dev = [" ".join(rng.choice(words, 4)) + (" zork" if i in lucky else "")
           + (" win prize" if y[i] and i % 3 else "") for i in range(len(y))]
    train = [" ".join(rng.choice(words, 4)) + (" win prize" if i % 4 == 0 else "")
             for i in range(300)]
    lf = lambda texts: np.array([[1 if "prize" in t else -1] for t in texts])  # noqa: E731
    ctx = Context(labels=["ham", "spam"], texts={"train": train, "dev": dev},
                  L={"train": lf(train), "dev": lf(dev)}, y_dev=y, lf_names=["prize"],
                  label_model=("mv", {}), use_embeddings=False)
    result = suggest(ctx, n=50)
    every = {r["proposal"].describe(): r for r in result.rows}
    dropped = {d["what"]: d["why"] for d in result.dropped}
    assert "keywords 'zork'" not in every  # shown only if a held-out row credits it
    assert "keywords 'zork'" in dropped and "no held-out dev row" in dropped["keywords 'zork'"]


def _counted(fixes=0, harms=0, gains=0, losses=0, before=0.9, after=0.9) -> dict:
    return {"held_fixes": fixes, "held_harms": harms, "weak_gains": gains,
            "weak_losses": losses, "lm_dev_before": before, "lm_dev_after": after}


@pytest.mark.parametrize("counts, refused", [
    # the bundled task's shown-then-harmful proposal: one held-out row for the weak-label
    # model, none for the label model
    (_counted(gains=1), "too little held-out evidence"),
    (_counted(fixes=1), "too little held-out evidence"),
    (_counted(fixes=1, gains=1), "too little held-out evidence"),  # 1 of 1 for each model
    (_counted(fixes=3, gains=1, losses=4), "weak-label model gets more held-out dev rows"),
    (_counted(), "no held-out dev row where it helps"),
    (_counted(fixes=2, harms=3, gains=9), "label model gets more held-out dev rows wrong"),
    (_counted(fixes=6, before=0.90, after=0.89), "would lower the label model's dev score"),
    (_counted(fixes=2), None),                       # 2 of 2: shown, if the set is sure
    (_counted(fixes=3, gains=1, losses=2), None),    # 3 of 3; the weak-label model: noise
    (_counted(fixes=1, harms=1, gains=4, losses=1), None),  # 4 of 5 for the weak labels
])
def test_a_proposal_needs_held_out_evidence(counts, refused):
    from labeling.suggest.select import refusal

    why = refusal(counts)
    assert (why is None) if refused is None else (refused in why), why


def test_the_shown_set_is_cut_where_its_joint_evidence_is_surest():
    from labeling.suggest.select import best_prefix

    lone = [_counted(fixes=2)]
    assert best_prefix(lone) == 0  # 2 of 2 rows: not sure at 95%: nothing is shown
    trec_like = [_counted(fixes=2, gains=1), _counted(fixes=2), _counted(gains=2)]
    assert best_prefix(trec_like) == 3  # 7 of 7 together are
    # a strong first, then proposals whose rows are as often lost as gained
    assert best_prefix([_counted(fixes=12), _counted(fixes=2, gains=1, harms=1, losses=2),
                        _counted(fixes=2, gains=1, harms=1, losses=2)]) == 1


def test_proposals_are_judged_given_the_ones_above_them():
    """Two LFs voting spam on the same 15 dev rows: each alone fixes them; once the first
    is accepted, the second fixes nothing, and is not shown for what the first did."""
    from labeling.suggest.context import LabelModelRefit
    from labeling.suggest.proxy import WeakLabelProxy
    from labeling.suggest.score import score_each
    from labeling.suggest.select import GreedySelector, score_all

    words = ["alpha", "beta", "gamma", "delta", "omega", "sigma", "kappa", "theta"]
    rng = np.random.default_rng(1)
    y = np.array([0] * 60 + [1] * 40)
    dev = [" ".join(rng.choice(words, 4)) + (" click here" if i >= 80 else "")
           + (" prize winner" if 60 <= i < 75 else "") for i in range(len(y))]
    train = [" ".join(rng.choice(words, 4)) + (" click here" if i % 5 == 0 else "")
             + (" prize winner" if i % 5 == 1 else "") + (" winner" if i % 25 in (2, 3) else "")
             for i in range(500)]
    lf = lambda texts: np.array([[1 if "click" in t else -1] for t in texts])  # noqa: E731
    ctx = Context(labels=["ham", "spam"], texts={"train": train, "dev": dev},
                  L={"train": lf(train), "dev": lf(dev)}, y_dev=y, lf_names=["click"],
                  label_model=("mv", {}), use_embeddings=False)
    prize = Proposal("keyword", SPAM, keywords=("prize",), source="llm")
    winner = Proposal("keyword", SPAM, keywords=("winner",), source="llm")
    refit = LabelModelRefit(ctx)
    alone = {}
    for p in (prize, winner):  # each judged on its own: 15 dev decisions fixed
        row = score_each([p], ctx, refit)[0][0]
        GreedySelector(ctx, refit, WeakLabelProxy(ctx)).evaluate(row)
        alone[p.id] = row["held_fixes"]
    assert alone == {prize.id: 15, winner.id: 15}
    rows, dropped = score_all([prize, winner], ctx, refit, n=5)
    assert rows[0]["held_fixes"] == 15
    later = rows[1:]
    assert all(r["held_fixes"] == 0 for r in later)  # nothing left for the second to fix
    if not later:
        why = {d["id"]: d["why"] for d in dropped}
        assert "above it accepted" in why[({prize.id, winner.id} - {rows[0]["proposal"].id}).pop()]


_MINE_SCRIPT = """
import numpy as np
from labeling.suggest.mine import NgramMiner
texts = ["win cash prize now %d" % i if i % 2 else "see you at lunch %d" % i for i in range(40)]
y = np.array([i % 2 for i in range(40)])
missed = np.ones((40, 2), dtype=bool)
miner = NgramMiner(2).fit(texts, y, missed, np.ones(40, dtype=bool))
print([p.id for p in miner.proposals_])
"""


def test_mined_proposals_come_in_the_same_order_in_every_process():
    """Equally good features (here every word of the spam texts) are ordered by where they
    enter the vocabulary; read from a set, that followed the per-process string hash."""
    import os
    import subprocess

    runs = [subprocess.run([sys.executable, "-c", _MINE_SCRIPT], capture_output=True,
                           text=True, check=True, cwd=REPO_ROOT,
                           env={**os.environ, "PYTHONHASHSEED": seed}).stdout
            for seed in ("1", "2")]
    assert len(json.loads(runs[0].replace("'", '"'))) >= 3
    assert runs[0] == runs[1]


def test_the_label_models_dev_score_with_a_proposal_is_a_refit_with_its_column(fitted):
    task, result = fitted
    ctx = context_for(task, embeddings=False)
    from labeling.suggest.context import LabelModelRefit

    refit = LabelModelRefit(ctx)
    row = result.rows[0]
    votes = votes_of(row["proposal"], ctx)
    assert refit.before_ == pytest.approx(row["lm_dev_before"])
    assert refit.score_with(votes) == pytest.approx(row["lm_dev_after"])


def test_an_existing_lf_is_not_proposed_again(fitted):
    task, _ = fitted
    ctx = context_for(task, embeddings=False)
    from labeling.suggest.context import LabelModelRefit
    from labeling.suggest.select import score_all

    same = Proposal("keyword", SPAM, keywords=("subscribe", "subscribing", "subscriber",
                                               "subscribers", "sub4sub"))
    near = Proposal("keyword", SPAM, keywords=("subscribe", "subscribers", "sub4sub",
                                               "subscriber", "subscribing", "subscribed"))
    rows, dropped = score_all([same, near], ctx, LabelModelRefit(ctx), n=5)
    assert rows == []
    why = {d["id"]: d["why"] for d in dropped}
    assert "kw_subscribe" in why[same.id] and "kw_subscribe" in why[near.id]


# --- accept, reject ------------------------------------------------------------------

def test_accept_writes_code_that_loads_and_votes_identically(fresh):
    task = fresh
    result = suggest_for_task(task, n=8, embeddings=False)
    chosen = {}
    for row in result.rows:  # one of each kind the offline sources gave
        chosen.setdefault(row["proposal"].kind, row)
    assert "keyword" in chosen or "regex" in chosen
    names = {}
    for kind, row in chosen.items():
        name, entry = accept(task, row["proposal"].id)
        names[name] = row
        assert entry == "functions/youtube_suggested.py"
    path = task.config.base_dir / "functions" / "youtube_suggested.py"
    text = path.read_text(encoding="utf-8")
    for name, row in names.items():
        assert re.search(rf"# Accepted .*id {row['proposal'].id}", text)
        assert f'name="{name}"' in text
    # the config now loads the module, and its LFs vote exactly as the proposals did
    reloaded = pipeline.load_task(task.config.source)
    assert "functions/youtube_suggested.py" in reloaded.config.lfs
    lfs = {lf.name: lf for lf in reloaded.lfs}
    ctx = context_for(task, embeddings=False)
    for name, row in names.items():
        for split in ("train", "dev"):
            votes = np.array([lfs[name](r) for r in reloaded.splits[split].itertuples(index=False)])
            assert np.array_equal(votes, votes_of(row["proposal"], ctx)[split])
    # accepted: not proposed again, even after the LFs are applied
    pipeline.step_apply(reloaded, progress=False)
    pipeline.step_fit(reloaded)
    again = suggest_for_task(reloaded, n=8, embeddings=False)
    assert not {r["proposal"].id for r in again.rows} & {r["proposal"].id for r in names.values()}


def test_reject_is_remembered(fresh):
    task = fresh
    first = suggest_for_task(task, n=5, embeddings=False)
    gone = first.rows[0]["proposal"].id
    reject(task, gone)
    store = json.loads((task.run_dir / "suggestions.json").read_text(encoding="utf-8"))
    assert gone in store["rejected"]
    second = suggest_for_task(task, n=5, embeddings=False)
    assert gone not in {r["proposal"].id for r in second.rows}
    assert any(d["id"] == gone and "rejected" in d["why"] for d in second.dropped)
    with pytest.raises(LabelingError, match="no proposal 'nope'"):
        reject(task, "nope")


def test_suggesting_on_a_stale_run_says_what_to_run(fresh):
    task = fresh
    accept(task, suggest_for_task(task, n=3, embeddings=False).rows[0]["proposal"].id)
    with pytest.raises(LabelingError, match="run `labeling apply` and `labeling fit` first"):
        suggest_for_task(pipeline.load_task(task.config.source), embeddings=False)


def test_codegen_keeps_hostile_text_in_comments_and_literals(tmp_path):
    """An LLM's rationale and patterns are data: line breaks cannot end the comment, and
    every literal parses back to the exact string."""
    p = Proposal("regex", SPAM, pattern=r'"\'\\d{5,}"', source="llm:x",
                 rationale="fine\nimport os; os.system('touch PWNED')\r\n#x\u2028y")
    q = Proposal("prompt", HAM, question='Is it "like" {this}?\nOr \\ that',
                 descriptions={"yes": "a 'song' review\n", "no": "spam {text}"})
    labels = ["ham", "spam"]
    block = ""
    for prop in (p, q):
        rec = {"id": prop.id, "proposal": prop.to_dict()}
        block += codegen.origin(rec, labels, "f1") + "\n" + codegen.lf_code(
            prop, prop.default_name(), labels) + "\n"
    path = tmp_path / "mod.py"
    codegen.append_lf(path, "t", labels, block)
    namespace: dict = {}
    exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"), namespace)  # noqa: S102
    assert "os" not in namespace and not (tmp_path / "PWNED").exists()
    assert namespace[p.default_name()].pattern.pattern == p.pattern
    made = namespace[q.default_name()]
    assert made.template == q.template() and made.descriptions == q.descriptions
    assert made.render({"text": "T"}).endswith("Text: T")


def test_add_to_config_edits_only_the_lfs_array(tmp_path):
    path = tmp_path / "labeling.toml"
    path.write_text('name = "t"  # the task\nlfs = [\n  "a.py",  # first ]\n  "b.py",\n]\n'
                    '[data]\ntrain = "x.csv"\n', encoding="utf-8")
    assert codegen.add_to_config(path, "functions/t_suggested.py")
    text = path.read_text(encoding="utf-8")
    assert "# first ]" in text and "# the task" in text
    import tomllib

    assert tomllib.loads(text)["lfs"] == ["a.py", "b.py", "functions/t_suggested.py"]
    assert not codegen.add_to_config(path, "functions/t_suggested.py")  # there already
    path.write_text('name = "t"\n[x]\nlfs = ["a.py"]\n', encoding="utf-8")
    with pytest.raises((ConfigError, KeyError)):
        codegen.add_to_config(path, "s.py")


# --- the notebook API and the CLI ------------------------------------------------------

def test_session_suggest_accept_reject(fresh):
    session = Session(fresh.config.source)
    table = session.suggest(n=8, embeddings=False)
    assert isinstance(table, pd.DataFrame) and 2 <= len(table) <= 8
    assert {"dev_precision", "dev_precision_low", "lm_dev_after", "examples"} <= set(table.columns)
    first, second = table.index[:2]
    session.reject_suggestion(second)
    name = session.accept_suggestion(first)
    assert name in session.lf_names  # reloaded with the new module


def test_cli_suggest_lists_accepts_and_rejects(fresh):
    runner = CliRunner()
    config = str(fresh.config.source)
    out = runner.invoke(app, ["suggest", config, "--n", "8", "--label", "spam"])
    assert out.exit_code == 0, out.output
    assert "proposed LFs" in out.output and "where the current LFs are weakest" in out.output
    ids = list(json.loads((fresh.run_dir / "suggestions.json").read_text())["last"])
    out = runner.invoke(app, ["suggest", config, "--accept", ids[0], "--reject", ids[1]])
    assert out.exit_code == 0, out.output
    assert f"accepted {ids[0]}" in out.output and f"rejected {ids[1]}" in out.output
    out = runner.invoke(app, ["suggest", config, "--accept", "deadbeef"])
    assert out.exit_code == 2 and "error: no proposal 'deadbeef'" in out.output
    out = runner.invoke(app, ["suggest", config, "--label", "eggs"])
    assert out.exit_code == 2 and "not one of the task's labels" in out.output


# --- the LLM source against the fake OpenAI server ------------------------------------

def _llm_task(task, server, monkeypatch, budget=None):
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    llm = {"max_retries": 0, "budget": budget}
    task.config = task.config.model_copy(update={
        "llm": task.config.llm.model_copy(update=llm)})
    return task


def _suggest_llm(task, source="llm"):
    with runtime_for(task, source) as runtime:
        return suggest_for_task(task, n=5, source=source, runtime=runtime, embeddings=False)


def _reply(*proposals):
    return lambda prompt, body: json.dumps({"proposals": list(proposals)})


GOOD = {"kind": "keyword", "keywords": ["my channel", "subscribe"], "pattern": "",
        "label": "spam", "rationale": "asks for subscriptions"}


def test_llm_proposals_are_validated_data(fake_openai, monkeypatch, tmp_path):
    task = _llm_task(_fitted(tmp_path), fake_openai, monkeypatch)
    fake_openai.content = _reply(
        {"kind": "regex", "keywords": [], "pattern": r"\bwww\.\w+", "label": "spam",
         "rationale": "links"},
        {"kind": "keyword", "keywords": ["lol"], "pattern": "", "label": "maybe",
         "rationale": "off label"},
        {"kind": "regex", "keywords": [], "pattern": "([a-z", "label": "ham",
         "rationale": "broken"},
        {"kind": "python", "keywords": [], "pattern": "__import__('os')", "label": "ham",
         "rationale": "code"})
    result = _suggest_llm(task)
    body = fake_openai.bodies[0]
    assert body["response_format"]["json_schema"]["schema"]["required"] == ["proposals"]
    assert "Labels: ham, spam" in body["messages"][1]["content"]
    sources = {r["proposal"].source for r in result.rows}
    assert sources == {"llm:gpt-4o-mini"}
    notes = "\n".join(result.notes)
    assert "LLM proposal 2 dropped: label 'maybe' is not one of the task's labels" in notes
    assert "LLM proposal 3 dropped: regex '([a-z' does not compile" in notes
    assert "LLM proposal 4 dropped: kind 'python'" in notes
    assert result.llm["calls"] == 1 and result.llm["cost"] > 0
    # asked again: answered from the response cache, no new request
    again = _suggest_llm(task)
    assert fake_openai.received == 1 and again.llm["cached"]
    assert [r["proposal"].id for r in again.rows] == [r["proposal"].id for r in result.rows]


def test_llm_proposals_are_cached_per_endpoint(fake_openai, monkeypatch, tmp_path):
    # two servers serving other models under one name never share proposals, as prompt
    # LFs' replies do not (session 18: the suggestion's key had no endpoint, so the second
    # server was never asked and its proposals were the first's)
    from llm_server import FakeOpenAI

    task = _llm_task(_fitted(tmp_path), fake_openai, monkeypatch)
    fake_openai.content = _reply(GOOD)
    _suggest_llm(task)
    other = FakeOpenAI().start()
    try:
        other.content = _reply({**GOOD, "keywords": ["check out"]})
        monkeypatch.setenv("OPENAI_BASE_URL", other.base_url)
        again = _suggest_llm(task)
        assert other.received == 1 and not again.llm["cached"]
    finally:
        other.stop()


def test_malformed_llm_reply_is_a_note_not_a_crash(fake_openai, monkeypatch, tmp_path):
    task = _llm_task(_fitted(tmp_path), fake_openai, monkeypatch)
    fake_openai.content = lambda prompt, body: '{"proposals": [{"kind": "keyword", '
    result = _suggest_llm(task, source="all")
    assert any("LLM reply is not valid JSON" in n for n in result.notes)
    assert result.rows and all(r["proposal"].source.startswith("offline:") for r in result.rows)
    fake_openai.content = lambda prompt, body: '{"ideas": []}'
    result = _suggest_llm(task, source="llm")
    assert result.rows == [] and any('no "proposals" list' in n for n in result.notes)


def test_llm_budget_exhaustion_stops_before_the_call(fake_openai, monkeypatch, tmp_path):
    task = _llm_task(_fitted(tmp_path), fake_openai, monkeypatch, budget=1e-7)
    fake_openai.content = _reply(GOOD)
    with pytest.raises(BudgetExceeded, match="over the budget of \\$0.0000; no call was made"):
        _suggest_llm(task)
    assert fake_openai.received == 0
    out = CliRunner().invoke(app, ["suggest", str(task.config.source), "--source", "llm"])
    # the CLI reads the config (no budget there): the endpoint is called once
    assert out.exit_code == 0, out.output
    path = task.config.source
    path.write_text(path.read_text(encoding="utf-8") + "\n[llm]\nbudget = 0.0000001\n",
                    encoding="utf-8")
    fake_openai.reset()  # another label: another prompt, not in the response cache
    out = CliRunner().invoke(app, ["suggest", str(path), "--source", "llm", "--label", "ham"])
    assert out.exit_code == 2 and "error: LLM suggestions: the call would cost" in out.output
    assert "Traceback" not in out.output and fake_openai.received == 0


def test_llm_source_needs_an_endpoint(fresh, monkeypatch):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(LabelingError, match="LLM suggestions need an endpoint"):
        _suggest_llm(fresh)


def test_app_page_lists_accepts_and_rejects(fresh, monkeypatch, tmp_path):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("LABELING_PROJECT", str(fresh.config.source))
    monkeypatch.delenv("LABELING_RUN_DIR", raising=False)
    monkeypatch.setenv("LABELING_ANNOTATIONS", str(tmp_path / "annotations.sqlite"))
    at = AppTest.from_file(str(REPO_ROOT / "app" / "streamlit_app.py"), default_timeout=120)
    at.run()
    at.switch_page("views/suggest.py").run()
    assert not at.exception and not at.error
    at.checkbox(key="suggest_clusters").uncheck().run()
    at.button(key="suggest_go").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    ids = list(json.loads((fresh.run_dir / "suggestions.json").read_text())["last"])
    assert len(at.expander) == len(ids) >= 2
    at.button(key=f"reject_{ids[1]}").click().run()
    at.button(key=f"accept_{ids[0]}").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    messages = " ".join(m.value for m in at.success)
    from labeling.review.literal import literal

    assert literal("appended to functions/youtube_suggested.py") in messages
    store = json.loads((fresh.run_dir / "suggestions.json").read_text())
    assert ids[0] in store["accepted"] and ids[1] in store["rejected"]
