"""Run folders written by older versions, used by this one (the upgrade walkthrough
h116, with worktrees of the commits of 2026-12-05 and 2026-12-06).

Runs from before 2026-12-06 did not record which LFs made their L.parquet
(metrics.json ``applied_lfs``). Today's keyword_lf votes otherwise on some rows (the
bundled task's kw_social now matches "follow  me", two spaces, on a train row the old
version left unvoted), so `labeling fit` on such a run silently fit the old code's votes,
and `labeling apply --lf X` spliced X into them and recorded the rest as applied."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from conftest import cli, one_error_line  # noqa: E402

from labeling import pipeline  # noqa: E402



def _as_an_older_version_left_it(make_task) -> Path:
    config = make_task(config={"label_model": {"name": "mv", "params": make_task.DELETE}})
    task = pipeline.load_task(config)
    pipeline.step_apply(task, progress=False)
    pipeline.step_fit(task)
    path = task.run_dir / "metrics.json"
    metrics = json.loads(path.read_text(encoding="utf-8"))
    del metrics["applied_lfs"]  # what a run of 2026-12-05 or -06 (morning) holds
    path.write_text(json.dumps(metrics), encoding="utf-8")
    return config


def test_fit_refuses_a_label_matrix_of_an_older_version(make_task):
    config = _as_an_older_version_left_it(make_task)
    one_error_line(cli("fit", config), "L.parquet", "older version", "labeling apply")


def test_show_refuses_it_too(make_task):
    config = _as_an_older_version_left_it(make_task)
    one_error_line(cli("show", "--config", config, "kw_spam"), "older version",
                   "`labeling apply` before `labeling show`")


def test_a_partial_apply_on_it_asks_for_a_full_apply_then_all_works(make_task):
    config = _as_an_older_version_left_it(make_task)
    one_error_line(cli("apply", config, "--lf", "kw_spam"), "L.parquet",
                   "full apply")
    assert cli("apply", config).exit_code == 0
    result = cli("fit", config)
    assert result.exit_code == 0, result.output


def test_cache_says_an_upgrade_may_have_changed_the_columns_it_cannot_use(make_task):
    """After an upgrade, `labeling cache` said '11 of LFs edited or removed' of a project
    whose LFs nobody edited: keyword_lf's code had changed their fingerprints."""
    config = make_task(config={"label_model": {"name": "mv", "params": make_task.DELETE}})
    task = pipeline.load_task(config)
    pipeline.step_apply(task, progress=False)
    columns = task.run_dir / "cache" / "lf_columns"
    first = sorted(columns.glob("*.npz"))[0]
    (columns / f"{'0' * 64}.npz").write_bytes(first.read_bytes())  # an older version's
    result = cli("cache", config)
    assert result.exit_code == 0, result.output
    assert "1 of LFs edited or removed (or whose labeling code an upgrade changed)" in \
        result.output, result.output
