"""A new user's day in the LF loop: edit an LF, look at its rows, ask for suggestions,
re-apply part of the task. What each step shows must be the votes of the LFs on disk
now; when it cannot be, one line says which LFs changed and what to run."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

from labeling.errors import LabelingError
from labeling.pipeline import load_task
from labeling.session import Session

sys.path.insert(0, str(Path(__file__).parent))
from conftest import cli, one_error_line  # noqa: E402
from llm_server import fake_openai  # noqa: E402,F401  (the fixture)


def edit(config: Path, old: str, new: str, file: str = "lfs.py") -> None:
    path = config.parent / file
    source = path.read_text(encoding="utf-8")
    assert old in source
    path.write_text(source.replace(old, new), encoding="utf-8")


def applied_and_fit(make_task) -> Path:
    config = make_task()
    assert cli("apply", config, "--no-progress").exit_code == 0
    assert cli("fit", config).exit_code == 0
    return config


# --- labeling show -----------------------------------------------------------------

def test_show_after_an_lf_edit_asks_for_apply(make_task):
    """Before: `show kw_ham` after narrowing it to "memories" listed the rows the
    old keyword list fired on (every "song" row), exit 0, as if they were the new ones."""
    config = applied_and_fit(make_task)
    edit(config, '["song", "love"]', '["memories"]')
    one_error_line(cli("show", "kw_ham", config), "L.parquet", "changed: kw_ham",
                   "run `labeling apply` before `labeling show`")
    assert cli("apply", config, "--no-progress").exit_code == 0
    assert cli("fit", config).exit_code == 0
    shown = cli("show", "kw_ham", config, "--limit", "100")
    assert shown.exit_code == 0, shown.output
    dev = make_task.frames()["dev"]["text"]
    assert f"kw_ham fires on {dev.str.contains('memories').sum()} dev rows" in shown.output


def test_show_after_an_apply_without_fit_asks_for_fit(make_task):
    """The label model column comes from probs.parquet: after an apply of edited LFs and
    no fit, it was the old label model's, beside the new votes."""
    config = applied_and_fit(make_task)
    edit(config, '["song", "love"]', '["memories"]')
    assert cli("apply", config, "--no-progress").exit_code == 0
    one_error_line(cli("show", "kw_ham", config), "probs.parquet",
                   "older than the last `labeling apply`", "run `labeling fit`")


def test_show_of_an_lf_added_since_the_apply_names_it(make_task):
    config = applied_and_fit(make_task)
    edit(config, "HAM, SPAM = 0, 1",
         "HAM, SPAM = 0, 1\nkw_free = keyword_lf(['free'], label=SPAM, name='kw_free')")
    one_error_line(cli("show", "kw_free", config), "new: kw_free", "run `labeling apply`")


# --- labeling suggest ----------------------------------------------------------------

def test_suggest_after_an_lf_edit_asks_for_apply(make_task):
    """Before: the suggester read L.parquet by its column names only, so after an edit it
    scored every proposal (and wrote 'Label model dev f1 a -> b' into the accepted LF's
    comment) against the old LF's votes."""
    from labeling.suggest.task import context_for

    config = applied_and_fit(make_task)
    context_for(load_task(config), embeddings=False)  # the current LFs: fine
    edit(config, '["song", "love"]', '["memories"]')
    with pytest.raises(LabelingError, match=r"changed: kw_ham.*run `labeling apply` before "
                                            r"`labeling suggest`"):
        context_for(load_task(config), embeddings=False)
    one_error_line(cli("suggest", config), "changed: kw_ham")
    assert cli("apply", config, "--no-progress").exit_code == 0
    with pytest.raises(LabelingError, match="older than the last `labeling apply`; run "
                                            "`labeling fit`"):
        context_for(load_task(config), embeddings=False)


# --- Session.apply(lfs=[...]) --------------------------------------------------------

def test_a_partial_apply_that_kept_an_edited_lf_is_not_taken_for_the_current_lfs(make_task):
    """Before: with kw_ham and kw_spam both edited, apply(lfs=["kw_spam"]) spliced kw_spam's
    new column beside kw_ham's old one (as documented) and the same session's
    lf_summary() and fit() then went ahead on kw_ham's old votes, silently;
    a fresh load refused ("changed: kw_ham")."""
    config = make_task()
    session = Session(config)
    old = session.apply()["train"][:, session.lf_names.index("kw_ham")].copy()
    edit(config, '["song", "love"]', '["memories"]')
    edit(config, '["subscribe", "channel", "free"]', '["subscribe"]')
    session.reload()
    part = session.apply(lfs=["kw_spam"])  # kw_ham's edit is not applied: allowed
    assert (part["train"][:, session.lf_names.index("kw_ham")] == old).all()
    for step in (session.lf_summary, session.fit):
        with pytest.raises(LabelingError, match=r"changed: kw_ham\); call apply\(\)"):
            step()
    session.apply(lfs=["kw_spam"])  # again: kw_ham is still the old one
    with pytest.raises(LabelingError, match=r"changed: kw_ham\)"):
        session.fit()
    with pytest.raises(LabelingError, match=r"changed: kw_ham\)"):
        Session(config).fit()  # as a fresh load says
    session.apply(lfs=["kw_ham"])
    session.fit()
    assert session.lf_summary().loc["kw_ham", "coverage"] < (old != -1).mean()


def test_partial_apply_after_a_full_apply_in_the_same_session(make_task):
    """An LF memoizing in a global fingerprints otherwise once it has run: the same
    session's partial apply must not take it for an edit."""
    source = ("from labeling import ABSTAIN, labeling_function\n\nSEEN = {}\n\n\n"
              "@labeling_function()\ndef memo(x):\n    SEEN[x.text] = len(SEEN)\n"
              "    return 1 if 'channel' in x.text else ABSTAIN\n\n\n"
              "@labeling_function()\ndef loves(x):\n    return 0 if 'love' in x.text else ABSTAIN\n\n\n"
              "@labeling_function()\ndef song(x):\n    return 0 if 'song' in x.text else ABSTAIN\n")
    session = Session(make_task(lf_source=source))
    session.apply()
    session.apply(lfs=["loves"])
    session.fit()


# --- helper modules ------------------------------------------------------------------

HELPER_LFS = '''\
from labeling import ABSTAIN, keyword_lf, labeling_function
from newuser_words import HAM_WORDS
from functions.newuser_rules import is_spam

kw_ham = keyword_lf(HAM_WORDS, label=0, name="kw_ham")


@labeling_function()
def spam_rule(x):
    return 1 if is_spam(x.text.lower()) else ABSTAIN


@labeling_function()
def long_text(x):
    return 1 if len(x.text.split()) >= 6 else ABSTAIN
'''


def test_an_lf_module_imports_its_helpers_and_their_edits_are_applied(make_task, monkeypatch):
    """docs/lf_loop.md: the loop watches and re-imports "the task's own modules" the LF
    modules import. Before, a `.py` LF module could import none under `labeling`: neither
    a helper beside it nor one from the task's folder was on sys.path
    ("functions/spam.py: failed to import: ModuleNotFoundError: No module named ...")."""
    monkeypatch.setattr(sys, "path", list(sys.path))  # the folders the loader adds go
    for name in ("newuser_words", "functions", "functions.newuser_rules"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    config = make_task(lf_source=None, config={"lfs": ["functions/spam.py"]}, files={
        "functions/spam.py": HELPER_LFS,
        "functions/newuser_words.py": "HAM_WORDS = ['song', 'love']\n",
        "functions/newuser_rules.py": "def is_spam(text):\n    return 'subscribe' in text\n"})
    assert cli("apply", config, "--no-progress").exit_code == 0
    session = Session(config)
    train = session.apply()["train"]
    (config.parent / "functions/newuser_words.py").write_text("HAM_WORDS = ['memories']\n")
    (config.parent / "functions/newuser_rules.py").write_text(
        "def is_spam(text):\n    return 'free' in text\n")
    edited = session.apply()["train"]  # a save since the load: reloaded, helpers too
    texts = make_task.frames()["train"]["text"].str.lower()
    assert ((edited[:, 0] == 0) == texts.str.contains("memories")).all()
    assert ((edited[:, 1] == 1) == texts.str.contains("free")).all()
    assert ((train[:, 1] == 1) == texts.str.contains("subscribe")).all()
    for name in ("newuser_words", "functions", "functions.newuser_rules"):
        sys.modules.pop(name, None)


# --- labeling dev ---------------------------------------------------------------------

def test_the_dev_loop_names_the_setting_it_reads_for_an_lf_that_raises(make_task):
    """`labeling dev` has no --fault-tolerant option, yet an LF raising in it said only
    "use --fault-tolerant"; the loop reads `[apply] fault_tolerant` from the config."""
    from rich.console import Console

    from labeling.dev_loop import watch

    config = make_task()
    edit(config, "    return SPAM if len(x.text.split()) >= 6 else ABSTAIN",
         "    if 'memories' in x.text:\n        raise ValueError('no memories')\n"
         "    return SPAM if len(x.text.split()) >= 6 else ABSTAIN")
    console = Console(record=True, width=400)
    watch(config, console=console, max_rounds=1)
    errors = [line for line in console.export_text().splitlines() if line.startswith("error")]
    assert len(errors) == 1 and "LF 'long_text' raised ValueError: no memories" in errors[0]
    assert "[apply] fault_tolerant = true" in errors[0], errors[0]
    config.write_text(config.read_text() + "\n[apply]\nfault_tolerant = true\n")
    console = Console(record=True, width=400)
    watch(config, console=console, max_rounds=1)
    assert "dev table in" in console.export_text() and "error" not in console.export_text()


# --- labeling plan ------------------------------------------------------------------

def test_the_plan_names_the_split_of_each_line():
    """`labeling plan` printed three lines per prompt LF (train, dev, test) and no split:
    "llm_promotion 1232 ... / llm_promotion 264 ... / llm_promotion 264 ..." left the user
    to guess which 264 was dev and which test."""
    from labeling.llm import format_plan

    plan = [{"split": split, "lf": "llm_promotion", "model": "gpt-4o-mini", "calls": n,
             "cached": 0, "to_call": n, "tokens_in": 10 * n, "tokens_out": n, "cost": 0.001}
            for split, n in (("train", 1232), ("dev", 264), ("test", 264))]
    lines = format_plan(plan).splitlines()
    assert lines[0].split()[:3] == ["LF", "split", "model"]
    assert [line.split()[:3] for line in lines[2:5]] == [
        ["llm_promotion", s, "gpt-4o-mini"] for s in ("train", "dev", "test")]
    assert lines[-1] == "total cost: $0.0030"


def test_apply_lf_reapplies_only_the_named_lfs(make_task):
    """`labeling apply --lf NAME`, as Session.apply(lfs=[...]) (before: "No such option:
    --lf"); an edited LF it leaves out is named, and fit refuses it."""
    config = applied_and_fit(make_task)
    L_file = config.parent / "run" / "L.parquet"
    before = pd.read_parquet(L_file)
    edit(config, '["song", "love"]', '["memories"]')
    edit(config, '["subscribe", "channel", "free"]', '["subscribe"]')
    result = cli("apply", config, "--no-progress", "--lf", "kw_spam")
    assert result.exit_code == 0, result.output
    assert "kept the last apply's votes of LFs edited since: kw_ham" in result.output
    after = pd.read_parquet(L_file)
    assert after["kw_ham"].equals(before["kw_ham"]) and after["long_text"].equals(before["long_text"])
    assert not after["kw_spam"].equals(before["kw_spam"])
    one_error_line(cli("fit", config), "changed: kw_ham", "run `labeling apply`")
    result = cli("apply", config, "--no-progress", "--lf", "kw_ham", "--lf", "long_text")
    assert result.exit_code == 0 and "kept" not in result.output, result.output
    assert cli("fit", config).exit_code == 0
    one_error_line(cli("apply", config, "--lf", "nope"), "no LF named 'nope'", "kw_spam")


# --- labeling suggest --accept -----------------------------------------------------

def test_a_proposal_accepted_twice_is_refused(tmp_path):
    """`labeling suggest --accept ID` twice (the id is still among the last suggestions)
    appended the same LF twice (sugg_ke_billion_1141 and sugg_ke_billion_1141_2), which
    the label model counts as two independent votes."""
    from labeling.suggest.store import SuggestionStore

    store = SuggestionStore(tmp_path)
    store.data["last"]["1141eaa8"] = {"what": "keywords 'billion'", "proposal": {"label": 0}}
    store.save()
    assert SuggestionStore(tmp_path).get("1141eaa8")["what"] == "keywords 'billion'"
    store.mark_accepted("1141eaa8", "sugg_ke_billion_1141", "functions/youtube_suggested.py")
    for step in ("get", "reject"):
        with pytest.raises(LabelingError, match=r"proposal 1141eaa8 was accepted already, as "
                                                r"LF sugg_ke_billion_1141 in functions/"
                                                r"youtube_suggested.py \(.*\); edit or delete"):
            getattr(SuggestionStore(tmp_path), step)("1141eaa8")


def test_the_dev_loop_sees_a_gold_label_corrected_in_the_data_or_the_app(make_task):
    """The loop watched the config and the LF modules only: a gold label corrected in
    dev.csv (or in the app's annotations) left the printed dev accuracy as it was until the
    next LF save, though the table claims to be the current dev numbers."""
    from rich.console import Console

    from labeling.dev_loop import _stamp, take_snapshot, watch, watched_files

    config = make_task(config={"label_model": {"name": "mv", "params": make_task.DELETE}})
    files = watched_files(None, config)
    for name in ("train.csv", "dev.csv", "test.csv", "annotations.sqlite",
                 "annotations.sqlite-wal"):
        assert config.parent / name in files, name
    session = Session(config)
    before = take_snapshot(session)
    stamp = _stamp(files)
    dev = config.parent / "dev.csv"
    frame = pd.read_csv(dev)
    frame.loc[frame["text"].str.contains("song"), "label"] = "spam"  # kw_ham now wrong
    frame.to_csv(dev, index=False)
    assert _stamp(watched_files(session, config)) != stamp  # the loop's next poll reloads
    after = take_snapshot(session.reload())
    assert after.lfs.loc["kw_ham", "dev_accuracy"] < before.lfs.loc["kw_ham", "dev_accuracy"]
    console = Console(record=True, width=200)
    watch(config, console=console, max_rounds=1)
    assert "watching 5 files" in console.export_text()  # config, lfs.py and the data files


# --- prompt LFs -----------------------------------------------------------------------

PROMPT_LFS = '''\
from labeling import ABSTAIN, keyword_lf
from labeling.llm import prompt_lf

HAM, SPAM = 0, 1
spam_words = keyword_lf(["subscribe", "channel", "free"], label=SPAM, name="kw_spam")
ham_words = keyword_lf(["song", "love"], label=HAM, name="kw_ham")
llm_promo = prompt_lf("llm_promo", "Does this ask to subscribe? {text}",
                      answers={"yes": SPAM, "no": HAM})
'''


def test_an_edited_prompt_is_a_changed_lf(fake_openai, make_task, monkeypatch):
    """A prompt LF was compared by name only: after its question was edited, `fit` fitted
    and `show` listed the old question's answers, exit 0; only `apply` asked anew."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-newuser-loop-0123456789")
    monkeypatch.setenv("OPENAI_BASE_URL", fake_openai.base_url)
    config = make_task(lf_source=PROMPT_LFS, config={
        "llm": {"progress": False}, "label_model": {"name": "mv", "params": make_task.DELETE}})
    assert cli("apply", config, "--no-progress").exit_code == 0
    assert cli("fit", config).exit_code == 0
    assert cli("show", "llm_promo", config).exit_code == 0
    edit(config, "Does this ask to subscribe? {text}", "Is this an advert? {text}")
    for args in (("fit", config), ("show", "llm_promo", config)):
        one_error_line(cli(*args), "changed: llm_promo", "run `labeling apply`")
    asked = fake_openai.received
    assert cli("apply", config, "--no-progress").exit_code == 0
    assert fake_openai.received > asked  # the new question is asked, not the old answers
    assert cli("fit", config).exit_code == 0
    edit(config, "answers={\"yes\": SPAM, \"no\": HAM}", "answers={\"yes\": SPAM, \"no\": ABSTAIN}")
    one_error_line(cli("fit", config), "changed: llm_promo")


def test_a_repeated_lf_name_names_its_module(make_task):
    """A copied LF whose name was not changed: the error named the LF but not the file
    ("LF names must be unique across modules; repeated: kw_ham")."""
    config = make_task()
    edit(config, "HAM, SPAM = 0, 1",
         "HAM, SPAM = 0, 1\nham_again = keyword_lf(['nice'], label=HAM, name='kw_ham')")
    one_error_line(cli("apply", config), "repeated: kw_ham (lfs.py, 2 times)")


def test_another_llm_model_in_the_config_is_a_changed_prompt_lf(fake_openai, make_task,
                                                                monkeypatch):
    """The prompt LF names no model, so it asks the config's `[llm] model`: changing that
    model changes its answers, but fit went ahead on the old model's (only the LF's own
    fields were recorded). Settings that do not shape answers (timeout) are no change."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-newuser-loop-0123456789")
    monkeypatch.setenv("OPENAI_BASE_URL", fake_openai.base_url)
    config = make_task(lf_source=PROMPT_LFS, config={
        "llm": {"progress": False, "model": "gpt-4o-mini"},
        "label_model": {"name": "mv", "params": make_task.DELETE}})
    assert cli("apply", config, "--no-progress").exit_code == 0
    edit(config, "progress = false", "progress = false\ntimeout = 30.0", file="labeling.toml")
    assert cli("fit", config).exit_code == 0
    edit(config, 'model = "gpt-4o-mini"', 'model = "gpt-4.1-mini"', file="labeling.toml")
    one_error_line(cli("fit", config), "changed: llm_promo", "run `labeling apply`")
    assert cli("apply", config, "--no-progress").exit_code == 0
    assert cli("fit", config).exit_code == 0
