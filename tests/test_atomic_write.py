"""labeling.files.atomic_write: two writers of one file (``labeling dev`` and ``labeling
fit`` filling the same cache entry) must not break each other."""

from __future__ import annotations

import pytest

from labeling.errors import LabelingError
from labeling.files import atomic_write


def test_overlapping_writes_of_one_file_both_succeed(tmp_path):
    target = tmp_path / "fit.json"
    with atomic_write(target) as first:
        first.write_text("first", encoding="utf-8")
        with atomic_write(target) as second:  # starts and ends while the first is open
            second.write_text("second", encoding="utf-8")
        assert target.read_text(encoding="utf-8") == "second"
    assert target.read_text(encoding="utf-8") == "first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fit.json"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "fit.json"
    target.write_text("old", encoding="utf-8")
    with pytest.raises(RuntimeError):
        with atomic_write(target) as tmp:
            tmp.write_text("half", encoding="utf-8")
            raise RuntimeError("the writer failed")
    assert target.read_text(encoding="utf-8") == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fit.json"]


def test_an_unwritable_target_is_one_labeling_error_naming_it(tmp_path):
    target = tmp_path / "missing-folder" / "fit.json"
    with pytest.raises(LabelingError, match="fit.json: could not be written"):
        with atomic_write(target) as tmp:
            tmp.write_text("x", encoding="utf-8")

