"""`labeling cache --prune` on a corpus whose rows all changed (h144): a column file of a
current LF holding no row of the data now is removed, as a part holding no such row is;
the next apply reads nothing from either."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from conftest import cli  # noqa: E402

from labeling.pipeline import load_task, step_apply  # noqa: E402


def test_prune_removes_a_current_lfs_column_that_holds_no_current_row(make_task):
    # before: kept ("never empties a current column"), though a part of the same LF on
    # the same gone rows was removed: after a data refresh that re-keyed every row (a
    # column added to the export, every text re-cleaned), --prune freed nothing of the
    # old corpus's votes until a later apply merged new rows in and a second prune ran
    config = make_task()
    step_apply(load_task(config), progress=False)
    folder = config.parent / "run" / "cache" / "lf_columns"
    columns = sorted(folder.glob("*.npz"))
    assert len(columns) == 3
    for split in ("train", "dev", "test"):
        path = config.parent / f"{split}.csv"
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        frame.assign(lang="en").to_csv(path, index=False)  # every row's key changes
    pruned = cli("cache", config, "--prune")
    assert pruned.exit_code == 0, pruned.output
    assert not any(p.exists() for p in columns), pruned.output
    assert "3 column files" in pruned.output, pruned.output
    # what the next apply computes is what a cold apply computes
    step_apply(load_task(config), progress=False)
    L = pd.read_parquet(config.parent / "run" / "L.parquet")
    cold = cli("apply", config, "--no-cache", "--no-progress")
    assert cold.exit_code == 0, cold.output
    pd.testing.assert_frame_equal(pd.read_parquet(config.parent / "run" / "L.parquet"), L)


def test_showing_the_caches_does_not_import_the_training_pipeline(make_task):
    # before: `labeling cache` imported labeling.pipeline (the end models, export, ONNX)
    # for the name of one folder: 37 s on a busy core for a table of file sizes, about
    # 10 s of it that import
    import subprocess

    config = make_task()
    step_apply(load_task(config), progress=False)
    probe = ("import sys\nfrom labeling.cli import main\nsys.argv = ['labeling', 'cache', "
             f"{str(config)!r}]\ntry:\n    main()\nexcept SystemExit as exc:\n"
             "    assert not exc.code, exc.code\n"
             "print('pipeline imported:', 'labeling.pipeline' in sys.modules)\n")
    shown = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                           cwd=config.parent)
    assert shown.returncode == 0, shown.stderr
    assert "embeddings (end model)" in shown.stdout
    assert "pipeline imported: False" in shown.stdout, shown.stdout


def test_prune_right_after_an_apply_removes_no_current_column(make_task):
    # the net e290bfc took away ("never empties a current column") guarded against prune
    # keying rows otherwise than apply (9d3c710 deleted every current vote): with the data
    # as applied, every current LF's column file and part survives, byte for byte (r148)
    config = make_task()
    step_apply(load_task(config), progress=False)
    folder = config.parent / "run" / "cache" / "lf_columns"
    before = {p: p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
    assert before
    pruned = cli("cache", config, "--prune")
    assert pruned.exit_code == 0, pruned.output
    after = {p: p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
    assert after == before, pruned.output
