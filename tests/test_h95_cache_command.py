"""`labeling cache`: months of LF edits and weekly data refreshes leave column files of
old fingerprints and votes of rows since removed; the command shows them and --prune
drops them, keeping exactly what the next apply reads."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from conftest import DEFAULT_LFS, cli, one_error_line  # noqa: E402

from labeling.apply.cache import ColumnCache  # noqa: E402
from labeling.files import run_folder_lock  # noqa: E402
from labeling.pipeline import load_task, step_apply  # noqa: E402


def _columns(config: Path) -> list[Path]:
    return sorted((config.parent / "run" / "cache" / "lf_columns").glob("*.npz"))


def _aged(make_task):
    """A task applied, then its LF module edited and its train data cut by a third and
    applied again: one stale column file and old rows in the others."""
    config = make_task()
    step_apply(load_task(config), progress=False)
    lfs = config.parent / "lfs.py"
    lfs.write_text(DEFAULT_LFS.replace('"song", "love"', '"song", "love", "voice"'))
    train = pd.read_csv(config.parent / "train.csv")
    train.iloc[: 2 * len(train) // 3].to_csv(config.parent / "train.csv", index=False)
    step_apply(load_task(config), progress=False)
    return config


def test_cache_shows_stale_columns_and_prune_keeps_what_the_next_apply_reads(make_task):
    config = _aged(make_task)
    before = _columns(config)
    assert len(before) == 4  # kw_spam, long_text, and kw_ham before and after its edit
    shown = cli("cache", config)
    assert shown.exit_code == 0, shown.output
    assert "3 of the task's LFs, 1 of LFs edited or removed" in shown.output
    assert "--prune" in shown.output

    task = load_task(config)
    L_before = pd.read_parquet(config.parent / "run" / "L.parquet")
    pruned = cli("cache", config, "--prune")
    assert pruned.exit_code == 0, pruned.output
    assert "3 of the task's LFs, 0 of LFs edited or removed" in pruned.output
    after = _columns(config)
    assert len(after) == 3 and set(after) < set(before)
    # every current row is still cached for every current LF, and nothing else is
    cache = ColumnCache(config.parent / "run" / "cache" / "lf_columns")
    rows = np.unique(np.concatenate([cache.frame_keys(df.drop(columns="label",
                                                              errors="ignore")).hashes
                                     for df in task.splits.values()]))  # as apply keys
    for path in after:
        with np.load(path) as data:
            assert np.array_equal(np.sort(data["hashes"]), rows)
    assert len(list((cache.dir / "frames").glob("*.npz"))) == 3  # one per split now
    # and the next apply reads the same votes
    step_apply(load_task(config), progress=False)
    pd.testing.assert_frame_equal(pd.read_parquet(config.parent / "run" / "L.parquet"),
                                  L_before)


def test_prune_drops_an_unreadable_column_file(make_task):
    config = make_task()
    step_apply(load_task(config), progress=False)
    torn = _columns(config)[0]
    torn.write_bytes(torn.read_bytes()[:20])
    result = cli("cache", config, "--prune")
    assert result.exit_code == 0, result.output
    assert not torn.exists() and "1 files removed" in result.output


def test_cache_bad_inputs_are_one_line(make_task, tmp_path):
    one_error_line(cli("cache", tmp_path / "nope.toml"), "nope.toml")
    one_error_line(cli("cache", "--bogus"), "No such option: --bogus",
                   "cache --help`")
    config = make_task()
    fresh = cli("cache", config)  # nothing run yet: said, not an error, nothing created
    assert fresh.exit_code == 0 and "no run folder yet" in fresh.output
    assert not (config.parent / "run").exists()
    step_apply(load_task(config), progress=False)
    with run_folder_lock(config.parent / "run", "run"):  # an apply writing the columns
        one_error_line(cli("cache", config, "--prune"), "in use by `labeling run`")
    assert len(_columns(config)) == 3


def test_cache_and_prune_on_a_multi_label_task(tmp_path):
    # a multi-label apply keeps its LF columns in cache/ itself, beside the other caches
    from test_multilabel import LFS, _rows, _toml

    (tmp_path / "lfs.py").write_text(LFS, encoding="utf-8")
    _rows(40, 1).drop(columns="labels").to_csv(tmp_path / "train.csv", index=False)
    _rows(20, 2).to_csv(tmp_path / "dev.csv", index=False)
    _rows(20, 3).to_csv(tmp_path / "test.csv", index=False)
    config = _toml(tmp_path)
    config.write_text(config.read_text().replace("cache = false", "cache = true"))
    assert cli("apply", config, "--no-progress").exit_code == 0
    (tmp_path / "lfs.py").write_text(LFS.replace('"glad", "great"]', '"glad", "great", "yay"]'))
    assert cli("apply", config, "--no-progress").exit_code == 0
    cache = tmp_path / "runs" / "ml" / "cache"
    keep = cache / "label_models" / "keep.json"  # another cache's file: never touched
    keep.parent.mkdir(parents=True, exist_ok=True)
    keep.write_text("{}")
    shown = cli("cache", config)
    assert "3 of the task's LFs, 1 of LFs edited or removed" in shown.output, shown.output
    pruned = cli("cache", config, "--prune")
    assert pruned.exit_code == 0, pruned.output
    assert "3 of the task's LFs, 0 of LFs edited or removed" in pruned.output
    assert len(list(cache.glob("*.npz"))) == 3 and keep.is_file()


def test_cache_shows_an_unreadable_response_cache_instead_of_stopping(make_task):
    config = make_task()
    step_apply(load_task(config), progress=False)
    responses = config.parent / "run" / "cache" / "llm_responses.sqlite"
    responses.write_bytes(b"not a database " * 50)
    result = cli("cache", config)
    assert result.exit_code == 0, result.output
    line = next(x for x in result.output.splitlines() if x.startswith("LLM responses"))
    assert "unreadable" in line and "move it aside" in line


def test_prune_removes_label_model_fits_from_before_the_last_apply(make_task):
    from labeling.pipeline import step_fit

    config = make_task()
    fits = config.parent / "run" / "cache" / "label_models"
    step_apply(load_task(config), progress=False)
    step_fit(load_task(config))
    first = set(fits.iterdir())
    lfs = config.parent / "lfs.py"  # an edit that changes votes: a new fit
    lfs.write_text(DEFAULT_LFS.replace('"subscribe", "channel", "free"', '"subscribe"'))
    step_apply(load_task(config), progress=False)
    step_fit(load_task(config))
    current = set(fits.iterdir()) - first
    assert first and current
    result = cli("cache", config, "--prune")
    assert result.exit_code == 0, result.output
    assert f"{len(first)} fits from before the last apply removed" in result.output
    assert set(fits.iterdir()) == current
    step_fit(load_task(config))  # the current votes' fit is still cached: nothing new
    assert set(fits.iterdir()) == current
