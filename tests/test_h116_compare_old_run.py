"""`labeling compare` of a run from before 2026-12-06 (no sources_at_train in its
metrics.json: its files are named by role in its model card) with a newer run: every
file was 'only in A' (train, dev) or 'only in B' (data/train.csv, ...), though the data
were the same (found by the upgrade walkthrough h116, with a worktree of 2026-12-05)."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from conftest import cli  # noqa: E402

TRAIN, DEV = "a" * 64, "b" * 64
SCORES = {"end_model": {"test": {"accuracy": 0.9, "f1": 0.8}}}


def _run(folder: Path, metrics: dict, files: dict, lfs=()) -> Path:
    (folder / "model").mkdir(parents=True)
    (folder / "metrics.json").write_text(json.dumps(SCORES | metrics), encoding="utf-8")
    card = {"task": "t", "labels": ["ham", "spam"], "metrics": SCORES,
            "training_files": {role: {"file": name, "sha256": sha}
                               for role, (name, sha) in files.items()}, "lfs": list(lfs)}
    (folder / "model" / "model_card.json").write_text(json.dumps(card), encoding="utf-8")
    return folder


def test_an_old_run_against_a_new_one_compares_the_same_files_as_same(tmp_path):
    old = _run(tmp_path / "old", {}, {"train": ("train.csv", TRAIN), "dev": ("dev.csv", DEV)})
    new = _run(tmp_path / "new", {"sources_at_train": {"data/train.csv": TRAIN,
                                                        "data/dev.csv": DEV}},
               {"train": ("train.csv", TRAIN), "dev": ("dev.csv", DEV)})
    result = cli("compare", old, new)
    assert result.exit_code == 0, result.output
    assert "  train: same" in result.output and "  dev: same" in result.output, result.output
    assert "only in" not in result.output, result.output


def test_its_lfs_are_compared_by_description_not_as_all_changed(tmp_path):
    """The old card describes each LF, the new one adds its fingerprint (and the new run's
    metrics.json records fingerprints): all 17 LFs of the bundled task showed 'changed'."""
    lf = {"name": "re_link", "kind": "pattern", "pattern": "http", "label": 1}
    files = {"train": ("train.csv", TRAIN)}
    old = _run(tmp_path / "old", {}, files, [lf])
    new = _run(tmp_path / "new", {"sources_at_train": {"data/train.csv": TRAIN},
                                  "applied_lfs": {"re_link": "f" * 64}},
               files, [lf | {"fingerprint": "f" * 64}])
    result = cli("compare", old, new)
    assert result.exit_code == 0, result.output
    assert "LFs: 1 unchanged" in result.output, result.output
