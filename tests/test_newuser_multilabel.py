"""A new user's multi-label walk (docs/multilabel.md): steps run alone and out of order,
LF and gold mistakes. Each test here failed before its fix."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from conftest import cli, one_error_line, rerun  # noqa: E402
from test_multilabel import LFS, _rows, _toml  # noqa: E402
from labeling.errors import LabelingError  # noqa: E402
from labeling.session import Session  # noqa: E402


def project(tmp_path: Path, lfs: str = LFS, extra: str = "") -> Path:
    """The tiny multi-label task of test_multilabel.py (labels joy, anger, neutral)."""
    (tmp_path / "lfs.py").write_text(lfs, encoding="utf-8")
    _rows(200, 1).drop(columns="labels").to_csv(tmp_path / "train.csv", index=False)
    _rows(60, 2).to_csv(tmp_path / "dev.csv", index=False)
    _rows(80, 3).to_csv(tmp_path / "test.csv", index=False)
    return _toml(tmp_path, extra)


def ok(*args):
    result = cli(*args)
    assert result.exit_code == 0, result.output
    return result


# --- steps out of order --------------------------------------------------------------

def test_train_after_an_apply_with_no_fit_names_fit(tmp_path):
    # before: train learned from the previous votes' probabilities without a word
    config = project(tmp_path)
    ok("apply", config, "--no-progress")
    ok("fit", config)
    run = tmp_path / "runs/ml"
    rerun(run / "L.parquet")  # as after a second apply
    before = (run / "metrics.json").read_text()
    one_error_line(cli("train", config), "probs.parquet: older than the last `labeling apply`",
                   "run `labeling fit` before `labeling train`")
    assert not (run / "end_model.skops").exists() and (run / "metrics.json").read_text() == before
    ok("fit", config)
    ok("train", config)


def test_export_after_a_fit_with_no_train_names_train(tmp_path):
    # before: the card got the new fit's label models beside the old end model
    config = project(tmp_path)
    ok("run", config, "--no-progress")
    run = tmp_path / "runs/ml"
    rerun(run / "probs.parquet")  # as after a second fit
    one_error_line(cli("export", config, "--out", tmp_path / "m"),
                   "end_model.skops: older than the last `labeling fit`",
                   "run `labeling train` before `labeling export`")
    assert not (tmp_path / "m").exists()


def test_train_after_an_lf_edit_with_no_apply_names_apply(tmp_path):
    # before: train went ahead on the old votes of the edited LF (Session.train refused)
    config = project(tmp_path)
    ok("apply", config, "--no-progress")
    ok("fit", config)
    lfs = tmp_path / "lfs.py"
    lfs.write_text(lfs.read_text().replace('"glad", "great"', '"glad"'), encoding="utf-8")
    one_error_line(cli("train", config), "applied with other LFs than the task's now",
                   "changed: kw_joy", "run `labeling apply` before `labeling train`")
    assert not (tmp_path / "runs/ml/end_model.skops").exists()


def flip_first_set(path: Path) -> None:
    frame = pd.read_csv(path)
    frame.loc[0, "labels"] = "anger" if frame.loc[0, "labels"] != "anger" else "joy"
    frame.to_csv(path, index=False)


@pytest.mark.parametrize("split", ["test", "dev"])
def test_evaluate_after_a_gold_correction_names_the_file_and_the_step(tmp_path, split):
    # before: evaluate reprinted the scores computed against the old gold sets
    config = project(tmp_path)
    ok("run", config, "--no-progress")
    ok("evaluate", config)
    flip_first_set(tmp_path / f"{split}.csv")
    one_error_line(cli("evaluate", config), f"{split}.csv: the {split} gold changed since "
                   "the last `labeling fit`", "run `labeling fit` again")
    with pytest.raises(LabelingError, match=f"the {split} gold changed"):
        Session(config).evaluate()
    # the model card reprints the same scores (added after: export wrote them unchecked)
    one_error_line(cli("export", config, "--out", tmp_path / "m"),
                   f"the {split} gold changed since the last `labeling fit`")
    assert not (tmp_path / "m").exists()
    ok("run", config, "--no-progress")
    ok("evaluate", config)


# --- what the steps print ---------------------------------------------------------------

def words(result) -> str:
    """The output with rich's line wrapping undone."""
    return " ".join(result.output.split())


def test_train_and_run_print_the_gold_only_dev_cv_comparison(tmp_path):
    # before: the only dev comparison with the gold-only model printed was in-sample
    # (the end model 1.000* on the rows it was trained on); its dev CV was in metrics.json
    config = project(tmp_path)
    ok("apply", config, "--no-progress")
    ok("fit", config)
    for step in (("train", config), ("evaluate", config), ("run", config, "--no-progress")):
        out = words(ok(*step))
        assert "trained on the 60 dev gold label sets alone scores" in out, (step, out)
        assert "dev CV macro F1 against this model's" in out, (step, out)


def test_fit_after_train_leaves_the_stale_end_model_out(tmp_path):
    # before: `labeling fit` printed the previous train's end model (marked stale) and
    # gold-only rows, its weak weights and per-label scores beside the new label model
    config = project(tmp_path)
    ok("run", config, "--no-progress")
    out = words(ok("fit", config))
    assert "label_model_mv" in out and "end_model" not in out and "gold_only" not in out
    assert "weak weight" not in out and "end model: not shown (stale" in out


RAISES = LFS + '''

@labeling_function()
def bus_lf(x):
    if "bus" in x.text:
        raise ValueError("no buses here")
    return -1

bus_lf = for_label("neutral", bus_lf)
'''


def test_a_fault_tolerant_apply_counts_and_names_the_lf_that_raised(tmp_path):
    # before: the multi-label apply swallowed the exceptions: the LF showed coverage 0,
    # with no count and no message anywhere (the single-label apply prints both)
    config = project(tmp_path, RAISES)
    one_error_line(cli("apply", config, "--no-progress"), "LF 'bus_lf' raised ValueError",
                   "train row")
    out = words(ok("apply", config, "--no-progress", "--fault-tolerant"))
    analysis = pd.read_csv(tmp_path / "runs/ml/lf_analysis.csv").set_index("lf")
    n = int((pd.read_csv(tmp_path / "train.csv")["text"].str.contains("bus")).sum()
            + (pd.read_csv(tmp_path / "dev.csv")["text"].str.contains("bus")).sum()
            + (pd.read_csv(tmp_path / "test.csv")["text"].str.contains("bus")).sum())
    assert n > 0 and analysis.loc["bus_lf", "faults"] == n and analysis.loc["kw_joy", "faults"] == 0
    assert f"faults: LF 'bus_lf' raised on {n} rows" in out and "no buses here" in out
    assert Session(config).lf_summary().loc["bus_lf", "faults"] == n
    # `labeling run --fault-tolerant` says it too (added after: its summary did not)
    out = words(ok("run", config, "--no-progress", "--fault-tolerant"))
    assert f"faults: LF 'bus_lf' raised on {n} rows" in out
    # re-applying only another LF keeps bus_lf's count (its column is the last apply's)
    Session(config).apply(lfs=["kw_joy"], fault_tolerant=True)
    assert pd.read_csv(tmp_path / "runs/ml/lf_analysis.csv").set_index("lf").loc[
        "bus_lf", "faults"] == n


def test_report_refuses_rows_from_steps_out_of_date(tmp_path):
    # before: report put the gold-only test score computed against the old test gold
    # beside the end model scored against the corrected one, and a new fit's label model
    # beside an end model trained on the previous fit's labels, without a word
    config = project(tmp_path)
    ok("run", config, "--no-progress")
    ok("report", config)
    run = tmp_path / "runs/ml"
    rerun(run / "probs.parquet")  # as after a second fit
    one_error_line(cli("report", config), "end_model.skops: older than the last `labeling fit`",
                   "run `labeling train` before `labeling report`")
    ok("run", config, "--no-progress")
    rerun(run / "end_model.skops")  # a train, no export
    one_error_line(cli("report", config), "model_card.json: older than the last `labeling "
                   "train`", "run `labeling export` before `labeling report`")
    ok("run", config, "--no-progress")
    flip_first_set(tmp_path / "test.csv")
    one_error_line(cli("report", config), "test.csv: the test gold changed since the last "
                   "`labeling fit`")


def test_apply_and_run_warn_of_test_rows_also_in_dev(tmp_path):
    # before: the multi-label apply never looked (the single-label one warns): a test row
    # that is a dev gold row inflates the test score without a word (the bundled
    # GoEmotions splits share 2 test/dev and 14 test/train texts)
    config = project(tmp_path)
    frames = {}
    for split in ("train", "dev", "test"):  # the tiny task's texts repeat: make them unique
        frames[split] = pd.read_csv(tmp_path / f"{split}.csv")
        frames[split]["text"] = frames[split]["text"] + " in " + frames[split]["id"]
    frames["test"].loc[3, "text"] = frames["dev"].loc[0, "text"] + " "  # up to spacing
    for split, frame in frames.items():
        frame.to_csv(tmp_path / f"{split}.csv", index=False)
    for step in (("apply", config, "--no-progress"), ("run", config, "--no-progress")):
        out = words(ok(*step))
        assert "leakage: 1 of 80 test rows (1.2%) have a text also in dev (e.g. test id = " \
               "dev id: r3-3 = r2-0)" in out, (step, out)
        assert "also in train" not in out
    frames["test"].loc[3, "text"] = "a text of its own"  # fixed: the record follows the data
    frames["test"].to_csv(tmp_path / "test.csv", index=False)
    assert "leakage" not in words(ok("apply", config, "--no-progress"))


def test_run_without_a_test_split_marks_its_dev_scores_in_sample(tmp_path):
    # before: `labeling run` printed "end_model dev 1.000" unmarked, the score of a model
    # trained on those dev rows with thresholds tuned there
    config = project(tmp_path)
    config.write_text(config.read_text().replace('test = "test.csv"\n', ""))
    out = ok("run", config, "--no-progress").output
    rows = [line for line in out.splitlines() if line.startswith(("end_model", "gold_only",
                                                                  "label_model"))]
    assert len(rows) == 4 and all(" dev " in r and r.count("*") == 2 for r in rows), out
    assert "* in-sample" in out and "no test split" in out


def test_show_and_lf_summary_refuse_an_lf_edited_since_the_apply(tmp_path):
    # before: `labeling show kw_joy` listed the old kw_joy's votes and Session.lf_summary()
    # its old coverage and precision, right after the edit (the single-label ones refuse)
    config = project(tmp_path)
    ok("apply", config, "--no-progress")
    ok("fit", config)
    ok("show", "kw_joy", config)
    session = Session(config)
    assert session.lf_summary().loc["kw_joy", "label"] == "joy"
    lfs = tmp_path / "lfs.py"
    lfs.write_text(lfs.read_text().replace('"glad", "great"', '"glad"'), encoding="utf-8")
    one_error_line(cli("show", "kw_joy", config), "applied with other LFs than the task's now",
                   "changed: kw_joy", "run `labeling apply` before `labeling show`")
    with pytest.raises(LabelingError, match="changed: kw_joy.*call apply\\(\\)"):
        session.lf_summary()
    run = tmp_path / "runs/ml"
    lfs.write_text(LFS, encoding="utf-8")  # back as applied; then a fit older than an apply
    rerun(run / "L.parquet")
    one_error_line(cli("show", "kw_joy", config), "probs.parquet: older than the last "
                   "`labeling apply`", "run `labeling fit` before `labeling show`")


def test_session_evaluate_marks_the_dev_scores_in_sample(tmp_path):
    # before: the notebook's table gave end_model dev_macro_f1 1.0 next to test with no
    # mark (the CLI stars it; the single-label Session has dev_in_sample)
    config = project(tmp_path)
    ok("run", config, "--no-progress")
    table = Session(config).evaluate()
    assert set(table.index) >= {"end_model", "gold_only", "label_model", "majority_vote"}
    assert table["dev_in_sample"].eq(True).all() and "test_macro_f1" in table


def test_a_vote_outside_applies_or_not_is_named_in_the_multi_label_words(tmp_path):
    # before: "expected -1 (abstain) or a class index 0..1", a single-label task's words
    bad = LFS + '''

@labeling_function()
def two_lf(x):
    return 2 if "bus" in x.text else -1

two_lf = for_label("joy", two_lf)
'''
    config = project(tmp_path, bad)
    one_error_line(cli("apply", config, "--no-progress"), "LF 'two_lf' returned 2 on",
                   "expected -1 (abstain), 0 (does not apply) or 1 (applies) on its label 'joy'")
