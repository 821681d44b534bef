"""A new user's multi-label walk (docs/multilabel.md): steps run alone and out of order,
LF and gold mistakes. Each test here failed before its fix."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from conftest import cli, one_error_line  # noqa: E402
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


def older(path: Path, than: Path) -> None:
    """Date ``path`` a second before ``than`` (as when ``than``'s step ran again)."""
    earlier = than.stat().st_mtime_ns - 10**9
    os.utime(path, ns=(earlier, earlier))


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
    older(run / "probs.parquet", than=run / "L.parquet")  # as after a second apply
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
    older(run / "end_model.skops", than=run / "probs.parquet")  # as after a second fit
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
    ok("run", config, "--no-progress")
    ok("evaluate", config)
