"""The Import box's warning about rows it did not import (h126): it said they were
"relabeled in the app after this file's updated_at" also of a row kept because its
label was cleared in the app after the download (import_labels' ``kept`` lists both)."""

from __future__ import annotations

import sys
from pathlib import Path

from labeling.gold import AnnotationStore
from labeling.review.import_labels import export
from labeling.review.project import load_run

sys.path.insert(0, str(Path(__file__).parent))
from test_appuser_annotate import _annotate_page, _shown  # noqa: E402


def test_a_row_cleared_after_the_download_is_not_called_relabeled(tiny_app_project, tmp_path):
    store = AnnotationStore(tmp_path / "annotations.sqlite")
    at, _ = _annotate_page(tiny_app_project)
    first = _shown(at)
    at.button(key="ann_btn-1").click().run()
    download = export(store, load_run(tiny_app_project), "csv")
    at.button(key="ann_back").click().run()
    at.button(key="ann_btn-clear").click().run()  # cleared after the download
    assert store.table(load_run(tiny_app_project).config.name).empty
    at.file_uploader(key="import_labels").set_value(("old.csv", download, "text/csv")).run()
    at.button(key="import_labels_go").click().run()
    assert not at.exception and not at.error, (at.exception, [e.value for e in at.error])
    warnings = [w.value.replace("\\", "")  # literal()'s escapes
                for w in at.warning if "not imported" in w.value]
    assert len(warnings) == 1, [w.value for w in at.warning]
    assert f"train {first} (cleared at " in warnings[0], warnings[0]
    assert ("1 row of old.csv not imported: relabeled or cleared in the app after this "
            "file's updated_at, so the newer label (or none) is kept: ") in warnings[0]
