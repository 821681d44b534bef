"""A team member in a real browser (chromium via Playwright, `streamlit run` headless):
opens the Annotate page with her name in the URL (``?annotator=dana``), imports a file of hand labels, labels
an example on the detail page, and finds both in annotations.sqlite under her name.

Before: no name was recorded with any label, and no file of labels could be imported.
"""

from __future__ import annotations

import sys
from pathlib import Path

from labeling.gold import AnnotationStore
from labeling.review.project import load_run

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_browser import CHROMIUM, CHROMIUM_ARGS, _idle, pytestmark, serving  # noqa: E402,F401


def test_name_from_the_url_and_an_imported_file_are_recorded(tiny_app_project, tmp_path):
    from playwright import sync_api

    run = load_run(tiny_app_project)
    imported_id = str(run.frames["dev"]["id"].iloc[2])
    hand = f"example_id,split,label_name\n{imported_id},dev,spam\n".encode()
    with serving(tiny_app_project, tmp_path) as (url, annotations), \
            sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 2000})
            page.goto(f"{url}/annotate?annotator=dana")
            page.wait_for_selector("h1:has-text('Annotate')", timeout=60_000)
            _idle(page)
            sync_api.expect(page.locator(".st-key-annotator input")).to_have_value("dana")

            page.get_by_text("Import labels").click()
            page.locator("input[type='file']").set_input_files(
                files=[{"name": "hand.csv", "mimeType": "text/csv", "buffer": hand}])
            _idle(page)
            page.get_by_role("button", name="Import", exact=True).click()
            _idle(page)
            page.get_by_text("1 label imported from hand.csv").wait_for()

            page.goto(f"{url}/example?annotator=dana")  # a new session: the name again
            page.wait_for_selector("h1:has-text('Example detail')", timeout=60_000)
            _idle(page)
            page.locator(".st-key-detail_ann-0 button").click()  # ham
            _idle(page)
            page.get_by_text("Your label: ham (dana, ").wait_for()
        finally:
            browser.close()
    table = AnnotationStore(annotations).table("tiny").set_index("example_id")
    assert table.loc[imported_id, ["split", "label_name", "annotator"]].tolist() == [
        "dev", "spam", "dana"]
    others = table.drop(index=imported_id)
    assert others[["label_name", "annotator"]].values.tolist() == [["ham", "dana"]]
