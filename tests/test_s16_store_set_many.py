"""AnnotationStore.set_many(merge=...) leaves the caller's rows as they are.

Before: ``merge`` got the caller's own dicts, and the import's merge pops each row's
``seen`` (the file's updated_at) and may rename its annotator: rows given to
``set_many`` again (a retry) had lost the time that stops an older file from replacing
a newer label (the import's merge then failed on the missing key).
"""

from __future__ import annotations

import copy

from labeling.gold import AnnotationStore


def _rows():
    return [dict(example_id=f"x{i}", label=0, split="train", label_name="ham",
                 annotator="bob", text=f"text {i}", seen=(1_000_000, 1000)) for i in range(3)]


def test_the_rows_given_are_not_changed(tmp_path):
    store = AnnotationStore(tmp_path / "a.sqlite")
    rows = _rows()
    before = copy.deepcopy(rows)

    def merge(row, stored):
        row.pop("seen")
        row["annotator"] = "merged"
        return row

    assert store.set_many("t", rows, merge=merge) == 3
    assert rows == before
    assert set(store.table("t")["annotator"]) == {"merged"}

