"""`labeling compare A B`: last week's run (kept as a copy of its run folder, or as its
exported model folder) against this week's, after an LF edit and a data refresh."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from conftest import DEFAULT_LFS, cli, one_error_line  # noqa: E402

from labeling import pipeline  # noqa: E402



@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """``(root, old run copy, new run)``: run, keep a copy, edit kw_ham and long_text,
    add train rows, run again."""
    from conftest import default_config, default_frames, write_task

    root = tmp_path_factory.mktemp("compare")
    config = write_task(root, default_frames(), DEFAULT_LFS,
                        default_config() | {"label_model": {"name": "mv"}})
    pipeline.run(pipeline.load_task(config), progress=False)
    shutil.copytree(root / "run", root / "last_week")
    (root / "lfs.py").write_text(DEFAULT_LFS.replace('"song", "love"', '"song", "love", "voice"')
                                 .replace(">= 6", ">= 5"))  # a keyword LF and a code LF
    train = pd.read_csv(root / "train.csv")
    more = train.head(4).assign(id=[f"new{i}" for i in range(4)],
                                text=lambda d: d["text"] + " again")
    pd.concat([train, more]).to_csv(root / "train.csv", index=False)
    pipeline.run(pipeline.load_task(config), progress=False)
    return root, root / "last_week", root / "run", len(train)


def test_compare_two_run_folders_says_what_changed(two_runs):
    root, old, new, n_train = two_runs
    result = cli("compare", old, new)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "end_model test accuracy" in out and "label_model dev accuracy" in out
    assert "  train.csv: changed" in out and "  dev.csv: same" in out
    assert "  lfs.py: changed" in out and "  config: same" in out
    assert "LFs: 1 unchanged; changed: kw_ham, long_text" in out
    assert f"  train rows: {n_train} -> {n_train + 4}" in out
    assert "note:" not in out  # both runs are whole


def test_compare_a_kept_model_folder_with_a_run(two_runs):
    root, old, new, _ = two_runs
    kept = root / "kept_model"
    shutil.copytree(old / "model", kept)  # what `labeling export --out` keeps
    result = cli("compare", kept, new)
    assert result.exit_code == 0, result.output
    # read from both model cards, so the same names on both sides
    assert "  train: changed" in result.output and "  dev: same" in result.output
    # before: a code LF's card entry was its name and kind only, so an edit of
    # long_text's code read as unchanged; the card now has each LF's fingerprint
    assert "LFs: 1 unchanged; changed: kw_ham, long_text" in result.output
    assert "only in" not in result.output
    assert "LF modules are the same" not in result.output


def test_compare_says_when_a_runs_scores_predate_its_last_apply(two_runs):
    root, old, new, _ = two_runs
    half = root / "half"
    shutil.copytree(new, half)
    (half / "L.parquet").write_bytes((old / "L.parquet").read_bytes())  # an apply since
    result = cli("compare", old, half)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("note: B: its scores predate its last `labeling apply`")


def test_compare_bad_inputs_are_one_line(two_runs, tmp_path):
    root, old, new, _ = two_runs
    one_error_line(cli("compare", tmp_path / "gone", new), "gone: no such folder")
    empty = tmp_path / "empty"
    empty.mkdir()
    one_error_line(cli("compare", old, empty), "empty: neither a run folder")
    broken = tmp_path / "broken"
    shutil.copytree(old, broken)
    (broken / "metrics.json").write_text("{not json")
    one_error_line(cli("compare", broken, new), "metrics.json: not readable JSON")
    one_error_line(cli("compare", old), "Missing argument 'B'")


def test_lfs_changed_under_the_same_module_get_a_hint():
    from labeling.cli.compare_commands import compare_lines

    def side(fingerprint):
        return {"metrics": {"sources_at_train": {"lfs.py": "same-sha", "train.csv": "t"},
                            "applied_lfs": {"kw": fingerprint, "other": "x"}},
                "card": None, "folder": Path("/nonexistent")}

    lines = compare_lines(side("f1"), side("f2"))
    at = lines.index("LFs: 1 unchanged; changed: kw")
    assert "LF modules are the same" in lines[at + 1]


def test_compare_two_multi_label_runs_shows_their_scores(tmp_path):
    # before: only the single-label models' accuracy and f1 were read: a multi-label
    # run's scores (metrics.json multi_label.scores, macro F1) printed no row at all
    from test_multilabel import LFS, _rows, _toml

    (tmp_path / "lfs.py").write_text(LFS, encoding="utf-8")
    _rows(60, 1).drop(columns="labels").to_csv(tmp_path / "train.csv", index=False)
    _rows(30, 2).to_csv(tmp_path / "dev.csv", index=False)
    _rows(30, 3).to_csv(tmp_path / "test.csv", index=False)
    config = _toml(tmp_path)
    assert cli("run", config, "--no-progress").exit_code == 0
    run = tmp_path / "runs" / "ml"
    shutil.copytree(run, tmp_path / "last_week")
    for a, b in ((tmp_path / "last_week", run), (tmp_path / "last_week" / "model", run)):
        result = cli("compare", a, b)
        assert result.exit_code == 0, result.output
        assert "end_model test macro_f1" in result.output, result.output
