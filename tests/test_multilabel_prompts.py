"""Multi-label prompt LFs (#15): one request per row whose answer names several labels,
expanded into one L column per label. Against the fake OpenAI server (a real HTTP server
on 127.0.0.1, the real ``openai`` client): several labels, an empty list, unknown labels,
malformed JSON, abstain, failures, budget, cache, a description edit; the local MiniLM
backend on a tiny task; config mistakes as one-line errors naming the LF; the multi-label
steps, `labeling report`, the card and the app's run loader with prompt columns."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent))
from llm_server import fake_openai  # noqa: E402,F401  (the fixture)

from labeling.apply import apply_lfs  # noqa: E402
from labeling.cli import app  # noqa: E402
from labeling.errors import LabelingError, LFError, LFLoadError  # noqa: E402
from labeling.lf.loader import load_lfs  # noqa: E402
from labeling.llm import (BudgetExceeded, LLMError, LLMSettings, multilabel_prompt_lf,  # noqa: E402
                          plan, use)
from labeling.llm.multilabel import parse_labels, top_group  # noqa: E402
from labeling.pipeline import load_task  # noqa: E402

LABELS = ["joy", "anger", "fear", "neutral"]
SPLITS = ("train", "dev", "test")
COVERED = ["joy", "anger", "fear"]
TEMPLATE = "Which feelings does this comment express?\nComment: {text}"
DESCRIPTIONS = {"joy": "I am so happy, this is wonderful, I love it",
                "anger": "I am furious, this makes me so angry, I hate it",
                "fear": "I am scared and afraid, this is terrifying"}


def feelings(name="feel", **kw):
    return multilabel_prompt_lf(name, TEMPLATE, labels=kw.pop("labels", DESCRIPTIONS), **kw)


CUES = {"happy": "joy", "angry": "anger", "scared": "fear", "bus": "neutral",
        "table": "neutral"}


def script(prompt: str, body: dict) -> str:
    """The fake server's reply: the labels of the request's enum whose cue words the
    comment (the user message) holds; special words for abstain and invalid replies."""
    text = prompt.lower()
    if "unsure" in text:
        return json.dumps({"answer": "abstain"})
    if "weird" in text:
        return json.dumps({"answer": ["joy", "sadness"]})  # sadness: not a covered label
    if "broken" in text:
        return '{"answer": ["joy"'
    schema = body["response_format"]["json_schema"]["schema"]
    covered = schema["properties"]["answer"]["anyOf"][0]["items"]["enum"]
    named = [label for cue, label in CUES.items() if cue in text and label in covered]
    return json.dumps({"answer": list(dict.fromkeys(named))})


def settings(server, tmp_path, **kw) -> LLMSettings:
    base = dict(backend="openai", base_url=server.base_url, cache_path=tmp_path / "cache.sqlite",
                progress=False, backoff_base=0.01, backoff_max=0.05, timeout=5, max_retries=2,
                concurrency=4)
    return LLMSettings(**{**base, **kw})


def frame(texts) -> pd.DataFrame:
    return pd.DataFrame({"id": [f"r{i}" for i in range(len(texts))], "text": texts})


def apply(lf, df, s):
    """L of the LF's label columns on ``df`` through the applier, and the LF's stats."""
    with use(s, labels=LABELS) as rt:
        L = apply_lfs(df, lf.label_columns, cardinality=2)
        return L, rt.report()["lfs"].get(lf.name)


# --- answers from the endpoint ------------------------------------------------------

def test_one_request_per_row_gives_a_column_per_label(fake_openai, tmp_path):
    fake_openai.content = script
    texts = ["so happy and a bit scared", "I am angry", "a table", "happy happy",
             "so happy and a bit scared"]  # a repeated comment: one request for both
    L, stats = apply(feelings(), frame(texts), settings(fake_openai, tmp_path))
    assert [c.name for c in feelings().label_columns] == ["feel:joy", "feel:anger", "feel:fear"]
    assert L.tolist() == [[1, 0, 1], [0, 1, 0], [0, 0, 0], [1, 0, 0], [1, 0, 1]]
    # three columns, four distinct comments: four requests, not twelve or fifteen
    assert fake_openai.received == stats["calls"] == stats["requests"] == 4
    assert stats["rows"] == 5 and stats["votes"] == {"0": 9, "1": 6}
    body = fake_openai.bodies[0]
    schema = body["response_format"]["json_schema"]["schema"]
    assert body["response_format"]["json_schema"]["strict"] is True
    assert schema["properties"]["answer"]["anyOf"] == [
        {"type": "array", "items": {"type": "string", "enum": COVERED}},
        {"type": "string", "enum": ["abstain"]}]
    system = body["messages"][0]["content"]
    assert "JSON array" in system and f"- fear: {DESCRIPTIONS['fear']}" in system


def test_empty_list_means_no_covered_label_applies(fake_openai, tmp_path):
    fake_openai.content = script
    L, stats = apply(feelings(), frame(["nothing here", "a chair"]),
                     settings(fake_openai, tmp_path))
    assert L.tolist() == [[0, 0, 0], [0, 0, 0]] and stats["rejected"] == {}


@pytest.mark.parametrize("text, reason", [("something weird", "off_label"),
                                          ("a broken reply", "bad_json")])
def test_invalid_answers_abstain_on_every_column_and_are_counted(fake_openai, tmp_path,
                                                                 text, reason):
    fake_openai.content = script
    s = settings(fake_openai, tmp_path)
    L, stats = apply(feelings(), frame([text, "so happy"]), s)
    assert L.tolist() == [[-1, -1, -1], [1, 0, 0]]
    assert stats["rejected"] == {reason: 1} and stats["failed"] == 0
    fake_openai.reset()
    _, again = apply(feelings(), frame([text, "so happy"]), s)  # cached, still counted
    assert fake_openai.received == 0 and again["rejected"] == {reason: 1}


def test_abstain_answer_abstains_on_every_column(fake_openai, tmp_path):
    fake_openai.content = script
    L, stats = apply(feelings(), frame(["I am unsure, happy?", "so angry"]),
                     settings(fake_openai, tmp_path))
    assert L.tolist() == [[-1, -1, -1], [0, 1, 0]] and stats["rejected"] == {}


def test_a_failed_request_abstains_and_is_asked_again_next_run(fake_openai, tmp_path):
    fake_openai.content = script
    fake_openai.inject("scared", "500", "500", "500")  # max_retries=2: three attempts
    s = settings(fake_openai, tmp_path)
    L, stats = apply(feelings(), frame(["so scared", "so happy"]), s)
    assert L.tolist() == [[-1, -1, -1], [1, 0, 0]]
    assert stats["failed"] == 1 and stats["errors"] == {"server_error": 3}
    fake_openai.reset()
    L, stats = apply(feelings(), frame(["so scared", "so happy"]), s)
    assert L.tolist() == [[0, 0, 1], [1, 0, 0]] and fake_openai.received == 1


def test_plain_text_replies_without_structured_output(fake_openai, tmp_path):
    replies = {"a": "joy, fear", "b": "[]", "c": "Abstain.", "d": "joy; happiness"}
    fake_openai.content = lambda prompt, body: replies[prompt[-1]]
    L, stats = apply(feelings(), frame(["a", "b", "c", "d"]),
                     settings(fake_openai, tmp_path, structured_output=False))
    assert all("response_format" not in b for b in fake_openai.bodies)
    assert L.tolist() == [[1, 0, 1], [0, 0, 0], [-1, -1, -1], [-1, -1, -1]]
    assert stats["rejected"] == {"off_label": 1}


def test_parse_labels_forms():
    names = ["joy", "anger", "abstain"]
    assert parse_labels('{"answer": ["ANGER", "joy"]}', names) == ('["joy", "anger"]', None)
    assert parse_labels("[]", names) == ("[]", None)
    assert parse_labels('{"answer": "abstain"}', names) == ("abstain", None)
    assert parse_labels('{"answer": [1]}', names) == (None, "bad_json")
    assert parse_labels('{"labels": ["joy"]}', names) == (None, "bad_json")
    assert parse_labels('["abstain"]', names) == (None, "off_label")  # not a label
    assert parse_labels("  ", names) == (None, "empty")


def test_second_apply_is_answered_from_the_cache(fake_openai, tmp_path):
    fake_openai.content = script
    s = settings(fake_openai, tmp_path)
    texts = ["so happy", "so angry and scared", "unsure"]
    first, _ = apply(feelings(), frame(texts), s)
    assert fake_openai.received == 3
    fake_openai.reset()
    second, stats = apply(feelings(), frame(texts), s)
    assert fake_openai.received == 0 and stats["cache_hits"] == stats["calls"] == 3
    assert second.tolist() == first.tolist()
    planned = plan(feelings().label_columns, {"train": frame(texts)}, s, labels=LABELS)
    assert [(p["lf"], p["cached"], p["to_call"]) for p in planned] == [("feel", 3, 0)]


def test_budget_covers_one_request_per_row_and_stops_before_any_call(fake_openai, tmp_path):
    fake_openai.content = script
    texts = [f"so happy {i}" for i in range(6)]
    s = settings(fake_openai, tmp_path)
    planned = plan(feelings().label_columns, {"train": frame(texts)}, s, labels=LABELS)
    assert len(planned) == 1 and planned[0]["calls"] == 6  # one LF, not one per column
    cost = planned[0]["cost"]
    # the estimate's reply is the longest answer: every covered label
    assert planned[0]["tokens_out"] >= 6 * len(json.dumps({"answer": COVERED})) // 4
    with pytest.raises(BudgetExceeded, match="budget"):
        apply(feelings(), frame(texts), settings(fake_openai, tmp_path, budget=cost * 0.5))
    assert fake_openai.received == 0
    L, _ = apply(feelings(), frame(texts), settings(fake_openai, tmp_path, budget=cost * 1.5))
    assert fake_openai.received == 6 and (L[:, 0] == 1).all()


def test_applying_the_prompt_lf_itself_or_outside_a_runtime_is_refused():
    lf = feelings()
    with pytest.raises(LFError, match="'feel' gives one column per label.*feel:joy"):
        apply_lfs(frame(["x"]), [lf], cardinality=2)
    with pytest.raises(LLMError, match="'feel': no LLM runtime is active"):
        apply_lfs(frame(["x"]), lf.label_columns, cardinality=2)


# --- the local backend ----------------------------------------------------------------

def local(**kw) -> LLMSettings:
    return LLMSettings(backend="local", progress=False, **kw)


def test_local_backend_names_every_label_clearing_the_margin():
    texts = ["I'm so happy today, I love this!", "This makes me furious, I hate these people",
             "I hate this and I'm scared of it", "the bus leaves at nine"]
    L, stats = apply(feelings(), frame(texts), local())
    assert L.tolist() == [[1, 0, 0], [0, 1, 0], [0, 1, 1], [-1, -1, -1]]
    assert stats["backend"] == "local" and stats["calls"] == 4
    L, _ = apply(feelings(local_margin=2.0), frame(texts), local())  # gaps are < 2
    assert (L == -1).all()
    with pytest.raises(LLMError, match="'one'.*at least two"):
        apply(feelings("one", labels={"joy": "happy"}), frame(texts), local())


def test_top_group_rule():
    sims = np.array([[0.5, 0.2, 0.45], [0.3, 0.29, 0.31], [0.9, 0.1, 0.0]])
    assert top_group(sims, 0.1).tolist() == [[1, 0, 1], [-1, -1, -1], [1, 0, 0]]
    assert top_group(sims, 0.0).tolist()[1] == [0, 0, 1]  # margin 0: the best alone
    # two labels: the single-label rule (best beats the runner-up by the margin)
    assert top_group(np.array([[0.4, 0.35], [0.4, 0.2]]), 0.1).tolist() == [[-1, -1], [1, 0]]


# --- config mistakes ----------------------------------------------------------------

@pytest.mark.parametrize("kwargs, message", [
    ({"labels": {}}, "'bad': labels must name at least one label"),
    ({"labels": {"joy": "x", "JOY": "y"}}, "'bad': label names must differ"),
    ({"labels": {"a:b": "x"}}, "'bad': label 'a:b' must be a label name"),
    ({"descriptions": {"sadness": "x"}}, "'bad': descriptions for labels it does not cover"),
    ({"template": "no placeholder"}, "'bad': template has no {column} placeholder"),
])
def test_declaration_mistakes_name_the_lf(kwargs, message):
    args = {"template": TEMPLATE, "labels": DESCRIPTIONS} | kwargs
    with pytest.raises(LFError, match=re.escape(message)) as info:
        multilabel_prompt_lf("bad", args.pop("template"), **args)
    assert isinstance(info.value, LabelingError) and "\n" not in str(info.value)


def test_declaration_mistake_in_a_module_is_one_load_error(tmp_path):
    (tmp_path / "lfs.py").write_text("from labeling.llm import multilabel_prompt_lf\n"
                                     "x = multilabel_prompt_lf('emotions', '{text}', "
                                     "labels={})\n", encoding="utf-8")
    with pytest.raises(LFLoadError, match=r"lfs.py: failed to import \(line 2\): .*"
                                          r"'emotions': labels must name"):
        load_lfs(["lfs.py"], tmp_path)


# --- the multi-label steps, report, card and app --------------------------------------

LFS = f'''\
from labeling.lf.core import APPLIES, for_label, keyword_lf
from labeling.llm import multilabel_prompt_lf

DESCRIPTIONS = {json.dumps(DESCRIPTIONS)}
feelings = multilabel_prompt_lf("feel", {TEMPLATE!r}, labels=DESCRIPTIONS)
calm = multilabel_prompt_lf("calm", "Is this calm or upset?\\n{{text}}",
                            labels={{"neutral": "calm, factual", "anger": "upset"}})
kw_joy = for_label("joy", keyword_lf(["glad"], label=APPLIES, name="kw_joy"))
'''
PHRASES = {"joy": ["so happy today", "glad and happy"], "anger": ["i am angry", "angry again"],
           "fear": ["so scared", "scared of it"], "neutral": ["the bus is at nine", "a table"]}


def _rows(n, seed) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        labels = sorted(rng.choice(["joy", "anger", "fear"], size=rng.integers(1, 3),
                                   replace=False)) if rng.random() < 0.7 else ["neutral"]
        text = " and ".join(rng.choice(PHRASES[label]) for label in labels) + f" #{i % 7}"
        out.append({"id": f"r{seed}-{i}", "text": text, "labels": ";".join(labels)})
    return pd.DataFrame(out)


def _task(root: Path, lfs: str = LFS, labels=LABELS, multi_label=True) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "lfs.py").write_text(lfs, encoding="utf-8")
    _rows(60, 1).drop(columns="labels").to_csv(root / "train.csv", index=False)
    _rows(40, 2).to_csv(root / "dev.csv", index=False)
    _rows(40, 3).to_csv(root / "test.csv", index=False)
    config = root / "labeling.toml"
    config.write_text(f'''name = "mlp"
labels = {json.dumps(labels)}
multi_label = {str(multi_label).lower()}
lfs = ["lfs.py"]

[data]
train = "train.csv"
dev = "dev.csv"
test = "test.csv"
label_column = "labels"

[label_model]
name = "mv"

[end_model]
name = "tfidf_logreg"
''', encoding="utf-8")
    return config


def _cli(*args):
    return CliRunner().invoke(app, [*args, "--no-progress"] if args[0] != "report" else args)


@pytest.fixture
def endpoint(fake_openai, monkeypatch):
    fake_openai.content = script
    monkeypatch.setenv("OPENAI_BASE_URL", fake_openai.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-secret")
    return fake_openai


def test_run_report_and_card_with_prompt_columns(endpoint, tmp_path):
    config = _task(tmp_path / "t")
    result = _cli("run", str(config))
    assert result.exit_code == 0, result.output
    run = tmp_path / "t" / "runs" / "mlp"
    L = pd.read_parquet(run / "L.parquet")
    assert list(L.columns) == ["feel:joy", "feel:anger", "feel:fear", "calm:neutral",
                               "calm:anger", "kw_joy"]
    texts = {s: set(pd.read_csv(tmp_path / "t" / f"{s}.csv")["text"]) for s in SPLITS}
    metrics = json.loads((run / "metrics.json").read_text())
    stats = metrics["llm"]["lfs"]
    assert set(stats) == {"feel", "calm"}  # one entry per prompt, not per column
    assert stats["feel"]["calls"] == sum(len(t) for t in texts.values())
    # each prompt asked once per distinct comment (the splits share the cache)
    distinct = len(set.union(*texts.values()))
    assert stats["feel"]["requests"] == distinct and endpoint.received == 2 * distinct
    test = pd.read_csv(tmp_path / "t" / "test.csv")
    happy = test["text"].str.contains("happy").to_numpy()
    assert (L.xs("test", level="split")["feel:joy"].to_numpy() == happy.astype(int)).all()
    analysis = pd.read_csv(run / "lf_analysis.csv").set_index("lf")
    assert analysis.loc["feel:fear", "label"] == "fear"
    assert analysis.loc["feel:joy", "dev_precision"] == 1.0
    assert analysis.loc["calm:anger", "dev_precision"] == 1.0
    card = json.loads((run / "model" / "model_card.json").read_text())
    lfs = {lf["name"]: lf for lf in card["lfs"]}
    assert lfs["feel:joy"]["kind"] == "prompt" and lfs["feel:joy"]["target_label"] == "joy"

    result = _cli("report", str(config))
    assert result.exit_code == 0, result.output
    report = json.loads((run / "report.json").read_text())
    rows = {r["name"]: r for r in report["rows"]}
    joy = rows["prompt LF feel:joy (detector of joy)"]
    fear = rows["prompt LF feel:fear (detector of fear)"]
    assert joy["f1"] == 1.0 and joy["shared_with"] == "feel"
    assert joy["cost_per_1m_docs"] == fear["cost_per_1m_docs"] > 0
    per_doc = {r["shared_with"]: r["cost_per_1m_docs"] for r in report["rows"]
               if r["kind"] == "prompt_lf"}
    label_model = next(r for r in report["rows"] if r["kind"] == "label_model")
    assert label_model["cost_per_1m_docs"] == pytest.approx(sum(per_doc.values()))


def test_description_edit_asks_that_prompt_again_and_nothing_else(endpoint, tmp_path):
    config = _task(tmp_path / "t")
    assert _cli("apply", str(config)).exit_code == 0
    run = tmp_path / "t" / "runs" / "mlp"
    before = pd.read_parquet(run / "L.parquet")
    endpoint.reset()
    lfs = tmp_path / "t" / "lfs.py"
    lfs.write_text(lfs.read_text().replace("I am scared and afraid", "afraid, frightened"),
                   encoding="utf-8")
    endpoint.content = lambda prompt, body: (json.dumps({"answer": ["fear"]})
                                             if "frightened" in body["messages"][0]["content"]
                                             else script(prompt, body))
    result = _cli("apply", str(config))
    assert result.exit_code == 0, result.output
    after = pd.read_parquet(run / "L.parquet")
    systems = {b["messages"][0]["content"] for b in endpoint.bodies}
    distinct = {t for s in SPLITS for t in pd.read_csv(tmp_path / "t" / f"{s}.csv")["text"]}
    assert endpoint.received == len(distinct)  # each comment once, for feel only
    assert all("frightened" in s for s in systems)
    assert (after["feel:fear"] == 1).all()  # recomputed from the new answers
    unchanged = ["calm:neutral", "calm:anger", "kw_joy"]
    pd.testing.assert_frame_equal(after[unchanged], before[unchanged])
    stats = json.loads((run / "metrics.json").read_text())["llm"]["lfs"]
    assert stats["calm"]["cache_hits"] == stats["calm"]["calls"]
    assert stats["feel"]["requests"] == len(distinct)


def test_budget_of_a_multilabel_run_stops_before_any_call(endpoint, tmp_path):
    config = _task(tmp_path / "t")
    text = config.read_text().replace('[label_model]', '[llm]\nbudget = 0.0000001\n\n'
                                      '[label_model]')
    config.write_text(text, encoding="utf-8")
    result = _cli("apply", str(config))
    assert result.exit_code == 2 and "error:" in result.output and "budget" in result.output
    assert endpoint.received == 0


def test_local_backend_run_on_a_tiny_task(monkeypatch, tmp_path):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    config = _task(tmp_path / "t")
    result = _cli("apply", str(config))
    assert result.exit_code == 0, result.output
    run = tmp_path / "t" / "runs" / "mlp"
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["llm"]["backend"] == "local" and set(metrics["llm"]["lfs"]) == {"feel", "calm"}
    analysis = pd.read_csv(run / "lf_analysis.csv").set_index("lf")
    # the phrases are close to their label's description: the columns find them on dev
    for label in COVERED:
        assert analysis.loc[f"feel:{label}", "dev_precision"] >= 0.8, analysis


def test_app_pages_render_a_run_with_prompt_columns(endpoint, tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from labeling.review.ml_detail import votes_table
    from labeling.review.ml_project import load_multilabel_run

    config = _task(tmp_path / "t")
    assert _cli("run", str(config)).exit_code == 0
    run = load_multilabel_run(config)
    table = votes_table(run, "dev", 0).set_index("lf")
    assert table.loc["feel:anger", "label"] == "anger"
    assert table.loc["calm:anger", "label"] == "anger"
    monkeypatch.setenv("LABELING_PROJECT", str(config))
    monkeypatch.setenv("LABELING_ANNOTATIONS", str(tmp_path / "annotations.sqlite"))
    monkeypatch.delenv("LABELING_RUN_DIR", raising=False)
    at = AppTest.from_file(str(Path(__file__).parents[1] / "app" / "streamlit_app.py"),
                           default_timeout=120)
    at.run()
    for name in ("ml_overview", "ml_labels", "ml_examples", "ml_example", "ml_annotate"):
        at.switch_page(f"views/{name}.py").run()
        assert not at.exception and not at.error, (name, at.exception, at.error)
    at.switch_page("views/ml_labels.py").run()
    shown = " ".join(str(df.value.to_dict()) for df in at.dataframe)
    assert "feel:fear" in shown and "calm:neutral" in shown


@pytest.mark.parametrize("change, message", [
    ({"lfs": LFS.replace("labels=DESCRIPTIONS", "labels=DESCRIPTIONS | {'sadness': 'sad'}")},
     "error: multi-label prompt LF 'feel': 'sadness' is not among the task's labels "
     "(joy, anger, fear, neutral)"),
    ({"multi_label": False}, "error: multi-label prompt LF 'feel': the task is single-label"),
])
def test_task_mistakes_are_one_line_errors_naming_the_lf(tmp_path, change, message):
    config = _task(tmp_path / "t", **change)
    if not change.get("multi_label", True):  # a single-label task: gold without ';'
        for split in ("dev", "test"):
            path = tmp_path / "t" / f"{split}.csv"
            df = pd.read_csv(path)
            df["labels"] = df["labels"].str.split(";").str[0]
            df.to_csv(path, index=False)
    result = _cli("apply", str(config))
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    with pytest.raises(LFError, match="'feel'"):
        load_task(config)
