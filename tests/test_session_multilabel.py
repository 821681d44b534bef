"""The notebook API on a multi-label task (#15, #14 item 4): `Session` runs the CLI's
multi-label steps in memory and writes the same artifacts.

Before labeling/session_multilabel.py, `Session.apply` ran the single-label apply on a
multi-label task (no lf_analysis.csv, single-label summary) and `fit`/`examples` the
single-label fit and example table. Tiny data: tests/test_multilabel_loop.py's project
(three labels; two joy LFs that make mistakes, one of them voting "does not apply").
"""

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

sys.path.insert(0, str(Path(__file__).parent))
from test_multilabel_loop import _expected, write_project  # noqa: E402

from labeling import session_multilabel  # noqa: E402
from labeling.cli import app  # noqa: E402
from labeling.errors import LabelingError, LFError  # noqa: E402
from labeling.review.project import NoRunError  # noqa: E402
from labeling.session import Session  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
LABELS = ["joy", "anger", "neutral"]


@pytest.fixture(scope="module")
def done(tmp_path_factory) -> dict:
    """One session through every step; what each step returned."""
    session = Session(write_project(tmp_path_factory.mktemp("ml_session")))
    out = {"session": session, "L": session.apply(), "summary": session.lf_summary(),
           "scores": session.fit()}
    out["wrong"] = session.examples("kw_not_joy", "wrong")
    out["trained"] = session.train()
    out["report"] = session.evaluate()
    out["exported"] = session.export()
    return out


def _metrics(session) -> dict:
    return json.loads((session.task.run_dir / "metrics.json").read_text())["multi_label"]


def _dev_gold(session) -> pd.DataFrame:
    """Dev gold as an id x label 0/1 table, from the data file alone."""
    dev = pd.read_csv(session.task.config.base_dir / "dev.csv", dtype=str).set_index("id")
    sets = dev["labels"].str.split(";")
    return pd.DataFrame({n: sets.map(lambda s, n=n: int(n in s)) for n in LABELS})


def test_apply_writes_the_multilabel_matrix_and_lf_analysis(done):
    session, L = done["session"], done["L"]
    assert set(L) == {"train", "dev", "test"}
    on_disk = pd.read_parquet(session.task.run_dir / "L.parquet")
    assert np.array_equal(on_disk.xs("dev", level="split").to_numpy(), L["dev"])
    assert set(np.unique(L["train"])) <= {-1, 0, 1}
    assert (L["train"][:, session.lf_names.index("kw_not_joy")] == 0).any()

    summary = done["summary"]
    assert list(summary.index) == session.lf_names
    assert summary.loc["kw_not_joy", "label"] == "joy"
    assert summary.loc["kw_anger", "label"] == "anger"
    # dev precision/recall of kw_joy_noisy's "applies" votes, from the files alone
    votes = on_disk.xs("dev", level="split")["kw_joy_noisy"] == 1
    joy = _dev_gold(session).loc[votes.index, "joy"] == 1
    row = summary.loc["kw_joy_noisy"]
    assert row["dev_precision"] == pytest.approx((votes & joy).sum() / votes.sum(), abs=1e-4)
    assert row["dev_recall"] == pytest.approx((votes & joy).sum() / joy.sum(), abs=1e-4)
    assert row["coverage"] == pytest.approx(
        (L["train"][:, session.lf_names.index("kw_joy_noisy")] != -1).mean(), abs=1e-4)


def test_fit_gives_dev_scores_per_label_and_never_test(done):
    scores, section = done["scores"], _metrics(done["session"])
    assert set(scores) == {"label_model", "majority_vote"}
    lm = scores["label_model"]
    assert lm["macro_f1"] == section["scores"]["label_model_mv"]["dev"]["macro_f1"]
    assert set(lm["per_label"]) == set(LABELS)
    assert set(lm["chosen_per_label"]) == set(LABELS) and set(lm["thresholds"]) == set(LABELS)
    assert "test" not in json.dumps(scores)
    probs = pd.read_parquet(done["session"].task.run_dir / "probs.parquet")
    assert {f"{p}{n}" for p in ("p_", "pred_", "mv_") for n in LABELS} <= set(probs.columns)


def test_train_evaluate_export(done):
    trained, report = done["trained"], done["report"]
    assert set(trained["dev_cv_f1"]) == set(LABELS)
    assert trained["dev_cv_macro_f1"] == pytest.approx(np.mean(list(
        trained["dev_cv_f1"].values())))
    assert set(trained["gold_only"]["dev_cv_f1"]) == set(LABELS)
    # the weak rows' weight dev CV chose, as metrics.json has it (was missing here)
    fit = json.loads((done["session"].task.run_dir / "metrics.json").read_text())
    end = fit["multi_label"]["end_model"]
    assert trained["weak_weight"] == end["weak_weight"]
    assert trained["weak_weight_cv"] == end["weak_weight_cv"]
    # one weight per label, each among the candidates, with the shared-weight figures
    assert list(trained["weak_weight"]) == LABELS and trained["weak_weight_per_label"]
    assert set(trained["weak_weight"].values()) <= set(trained["weak_weight_cv"])
    assert trained["weak_weight_cv_macro"] == end["weak_weight_cv_macro"]
    assert trained["weak_weight_shared"] in trained["weak_weight_cv_macro"]
    assert "test" not in json.dumps(trained)
    section = _metrics(done["session"])
    assert list(report.index) == ["label_model", "majority_vote", "end_model", "gold_only"]
    assert report.loc["label_model"].equals(report.loc["majority_vote"])  # the LM is mv
    assert report.loc["end_model", "test_macro_f1"] == \
        section["scores"]["end_model"]["test"]["macro_f1"]
    assert {"dev_micro_f1", "test_micro_f1"} <= set(report.columns)
    per_label = session_multilabel.evaluate(done["session"].task, per_label=True)
    assert per_label.loc[("end_model", "anger"), "test_f1"] == \
        section["scores"]["end_model"]["test"]["per_label"]["anger"]["f1"]
    card = json.loads((done["exported"] / "model_card.json").read_text())
    assert np.allclose(card["multi_label"]["thresholds"], list(trained["thresholds"].values()),
                       atol=1e-4)  # metrics.json rounds them to 4 digits


def test_examples_carry_every_lfs_vote_gold_sets_and_probabilities(done):
    session, wrong = done["session"], done["wrong"]
    expected = _expected(session.task.config.source, "kw_not_joy", wrong=True)
    assert expected and list(wrong["id"]) == expected
    assert (wrong["vote"] == "-joy").all() and (wrong["kw_not_joy"] == "-joy").all()
    assert wrong["gold"].str.contains("joy").all()
    assert set(session.lf_names) <= set(wrong.columns)
    assert {f"p_{n}" for n in LABELS} <= set(wrong.columns)
    assert wrong.columns[-1] == "text"
    probs = pd.read_parquet(session.task.run_dir / "probs.parquet").xs("dev", level="split")
    assert np.allclose(wrong["p_anger"], probs.loc[wrong["id"], "p_anger"].round(3))
    L = pd.read_parquet(session.task.run_dir / "L.parquet").xs("dev", level="split")
    kw_joy = L.loc[wrong["id"], "kw_joy"].map({1: "+joy", 0: "-joy", -1: ""})
    assert list(wrong["kw_joy"]) == list(kw_joy)

    conflicts = session.examples("kw_not_joy", "conflicts", other="kw_joy")
    assert len(conflicts)
    assert ((conflicts["kw_not_joy"] == "-joy") & (conflicts["kw_joy"] == "+joy")).all()
    fires = session.examples("kw_anger", "fires", split="train")
    assert "gold" not in fires and (fires["kw_anger"] == "+anger").all()


@pytest.mark.parametrize("call, message", [
    (lambda s: s.examples("nope"), "no LF named 'nope'"),
    (lambda s: s.examples("kw_joy", "sometimes"), "kind must be one of"),
    (lambda s: s.examples("kw_joy", "wrong", split="train"), "train split has no gold"),
    (lambda s: s.examples("kw_joy", split="holdout"), "no holdout split"),
    (lambda s: s.examples("kw_joy", "conflicts", other="kw_anger"), "only on the same label"),
    (lambda s: s.suggest(), "single-label tasks only"),
])
def test_bad_requests_are_one_line_errors(done, call, message):
    with pytest.raises(LabelingError, match=message) as info:
        call(done["session"])
    assert "\n" not in str(info.value)


def test_steps_before_their_inputs_say_which_step_to_run(tmp_path):
    session = Session(write_project(tmp_path / "p"))
    for call, step in ((session.lf_summary, "apply"), (session.fit, "apply"),
                       (session.evaluate, "fit"), (session.export, "train")):
        with pytest.raises(LabelingError, match=step):
            call()
    with pytest.raises(NoRunError):
        session.examples("kw_joy")
    with pytest.raises(LabelingError, match="full apply"):
        session.apply(lfs=["kw_joy"])


def test_an_lf_without_a_target_label_is_named(tmp_path):
    config = write_project(tmp_path / "p")
    lfs = config.parent / "lfs.py"
    lfs.write_text(lfs.read_text() + "\nbare = keyword_lf(['meh'], label=APPLIES, "
                   "name='kw_bare')\n")
    with pytest.raises(LFError, match="LF kw_bare: a multi-label task needs its target"):
        Session(config).apply()


def test_apply_some_lfs_splices_them_into_the_last_apply(tmp_path):
    session = Session(write_project(tmp_path / "p"))
    full = session.apply()
    lfs = session.task.config.base_dir / "lfs.py"
    lfs.write_text(lfs.read_text().replace('["today", "now"]', '["today", "now", "this"]'))
    session.reload()
    j = session.lf_names.index("kw_joy_noisy")
    same = session.apply(lfs=["kw_joy"])  # the noisy LF's edit is not applied yet
    assert all(np.array_equal(same[s], full[s]) for s in full)
    part = session.apply(lfs=["kw_joy_noisy"])
    assert not np.array_equal(part["train"][:, j], full["train"][:, j])
    fresh = session.apply(cache=False)  # what a full apply of the edited LFs gives
    assert all(np.array_equal(part[s], fresh[s]) for s in fresh)
    # lf_analysis.csv follows the spliced matrix, not the old one
    session.apply(lfs=["kw_joy_noisy"])
    summary = session.lf_summary()
    assert summary.loc["kw_joy_noisy", "label"] == "joy"
    assert summary.loc["kw_joy_noisy", "coverage"] == pytest.approx(
        (fresh["train"][:, j] != -1).mean(), abs=1e-4)
    with pytest.raises(LabelingError, match="no LF named 'nope'"):
        session.apply(lfs=["nope"])


def test_the_session_writes_what_the_cli_writes(done, tmp_path):
    """Same data, LFs and config: `labeling apply` + `fit` give the session's files."""
    config = write_project(tmp_path / "cli")
    for step in ("apply", "fit"):
        result = CliRunner().invoke(app, [step, str(config), *(["--no-progress"]
                                                                if step == "apply" else [])])
        assert result.exit_code == 0, result.output
    ours, theirs = done["session"].task.run_dir, config.parent / "runs" / "ml"
    for name in ("L.parquet", "probs.parquet"):
        pd.testing.assert_frame_equal(pd.read_parquet(ours / name),
                                      pd.read_parquet(theirs / name))
    pd.testing.assert_frame_equal(pd.read_csv(ours / "lf_analysis.csv"),
                                  pd.read_csv(theirs / "lf_analysis.csv"))


# --- the docs/multilabel.md example -----------------------------------------------------

def docs_block() -> str:
    text = (ROOT / "docs" / "multilabel.md").read_text(encoding="utf-8")
    match = re.search(r"<!-- multilabel-notebook-example -->\s*```python\n(.*?)```", text,
                      re.S)
    assert match, "docs/multilabel.md has no python block after its example marker"
    return match.group(1)


def test_the_docs_multilabel_example_runs(tmp_path, monkeypatch):
    """On a copy of the GoEmotions Ekman task with fewer rows (400 train, 250 dev, 300
    test) and `tfidf_logreg` (no MiniLM); the block's calls are unchanged."""
    data = tmp_path / "data" / "goemotions"
    data.mkdir(parents=True)
    for name in ("labeling.toml", "ekman_mapping.json"):
        shutil.copy(ROOT / "data" / "goemotions" / name, data / name)
    for split, rows in (("train", 400), ("dev", 250), ("test", 300)):  # a shorter test
        pd.read_csv(ROOT / "data" / "goemotions" / f"{split}.csv", dtype=str).head(
            rows).to_csv(data / f"{split}.csv", index=False)
    shutil.copytree(ROOT / "functions", tmp_path / "functions")
    config = data / "labeling.toml"
    config.write_text(config.read_text(encoding="utf-8")
                      + '\n[end_model]\nname = "tfidf_logreg"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)

    namespace: dict = {}
    exec(compile(docs_block(), "docs/multilabel.md", "exec"), namespace)  # noqa: S102

    summary, scores, wrong, report = (namespace[k] for k in ("summary", "scores", "wrong",
                                                             "report"))
    assert summary.loc["kw_joy", "label"] == "joy" and "dev_precision" in summary
    assert "test" not in json.dumps(scores) and "macro_f1" in scores["label_model"]
    assert len(wrong) and {"vote", "gold", "p_joy", "kw_joy", "text"} <= set(wrong.columns)
    assert {"end_model", "gold_only", "label_model"} <= set(report.index)
    assert "test_macro_f1" in report.columns
    assert (tmp_path / "runs" / "goemotions_ekman" / "model" / "model_card.json").is_file()
