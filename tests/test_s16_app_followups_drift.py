"""The app's drift line after a labeling upgrade (h126): lf_drift compared fingerprints
without the run's build record (``applied_code``), so LFs nobody edited showed as
"changed: kw_money" where `labeling fit` says "labeling was upgraded ... votes may
differ: kw_money"."""

from __future__ import annotations

import sys
from pathlib import Path

from labeling.apply import applied
from labeling.config import load_config
from labeling.lf.loader import load_lfs
from labeling.review.project import lf_drift, load_run

sys.path.insert(0, str(Path(__file__).parent))
from test_h115_compare_after_apply import _task  # noqa: E402
from test_s16_upgrade_builds import (OLD_BUILD, _as_another_build_applied,  # noqa: E402
                                     _edit_metrics, _steps)


def _drift(config):
    loaded = load_config(config)
    return lf_drift(load_run(config), load_lfs(loaded.lfs, loaded.base_dir))


def test_the_app_says_upgraded_not_changed_of_lfs_nobody_edited(tmp_path):
    config = _task(tmp_path)
    run = _steps(config, "apply", "fit").run_dir
    assert _drift(config) is None
    _edit_metrics(run, lambda m: _as_another_build_applied(m, ["kw_money"]))
    note = _drift(config)
    assert (f"labeling was upgraded ({OLD_BUILD} -> {applied.code_identity()}); these "
            "LFs' votes may differ: kw_money") in note, note
    assert "changed: " not in note


def test_an_lf_edited_across_an_upgrade_is_still_changed_in_the_app(tmp_path):
    config = _task(tmp_path)
    run = _steps(config, "apply", "fit").run_dir
    _edit_metrics(run, lambda m: (_as_another_build_applied(m, ["kw_money"]),
                                  _as_another_build_applied(m, ["kw_song"], own=False)))
    note = _drift(config)
    assert "votes may differ: kw_money; changed: kw_song" in note, note
