"""The Import box shows what an import overwrote (``replaced_note``): a label given in
the app, replaced by a hand-made file (no ``updated_at``), is named with who gave it.
Before, the box showed only the count imported, and the overwrite went unseen."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pandas as pd

from labeling.gold import AnnotationStore
from labeling.review.import_labels import export
from labeling.review.project import load_run

sys.path.insert(0, str(Path(__file__).parent))
from test_appuser_annotate import _annotate_page, _shown  # noqa: E402


def test_the_import_box_names_the_label_it_replaced(tiny_app_project, tmp_path):
    store = AnnotationStore(tmp_path / "annotations.sqlite")
    at, _ = _annotate_page(tiny_app_project)
    first = _shown(at)
    at.button(key="ann_btn-1").click().run()  # a label given in the app
    run = load_run(tiny_app_project)
    given = run.labels[1]
    sheet = pd.read_csv(io.BytesIO(export(store, run, "csv")), dtype=str)
    sheet = sheet.drop(columns=["updated_at"])  # made by hand: replaces what is stored
    sheet["label_name"] = run.labels[0]
    at.file_uploader(key="import_labels").set_value(
        ("hand.csv", sheet.to_csv(index=False).encode(), "text/csv")).run()
    at.button(key="import_labels_go").click().run()
    assert not at.exception and not at.error, (at.exception, [e.value for e in at.error])
    notes = [i.value.replace("\\", "") for i in at.info if "replaced" in i.value]
    assert len(notes) == 1, [i.value for i in at.info]
    assert notes[0].startswith("1 label of hand.csv replaced a label (or a clear) given in "
                               "the app: "), notes[0]
    assert f"train {first} ({given} " in notes[0], notes[0]
