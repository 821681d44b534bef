"""The Annotate page's keys right after a pick with the mouse, in chromium (walkthrough
h142, 2026-12-08): an annotator chose the dev split and the "all" slice with the mouse and
pressed 2 (spam). Streamlit ignores its key shortcuts while an <input> has the focus, and
the slice box kept it: the 2 went into its search ("No results") and nothing was labeled
until they clicked somewhere blank; after a click on "hide labeled" too. Now a pick leaves
the keys to the page (app/keys_after_picks.js).

Skipped, as tests/test_browser.py, when /usr/bin/chromium is absent.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from test_browser import CHROMIUM, CHROMIUM_ARGS, _idle, pytestmark, serving  # noqa: E402,F401

from labeling.gold import AnnotationStore  # noqa: E402


def _pick(page, key: str, option) -> None:
    page.locator(f".st-key-{key} input").click()
    page.get_by_role("option", name=option).first.click()
    _idle(page)


def test_keys_label_right_after_picks_made_with_the_mouse(tiny_app_project, tmp_path):
    from playwright import sync_api

    with serving(tiny_app_project, tmp_path) as (url, annotations), \
            sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1400})
            page.goto(f"{url}/annotate")
            page.wait_for_selector("h1:has-text('Annotate')", timeout=90_000)
            _idle(page)
            _pick(page, "ann_split", "dev")
            _pick(page, "ann_slice", re.compile("^all"))
            shown = page.get_by_text(re.compile(r"to go\)")).inner_text().split()[0]
            page.keyboard.press("2")  # the task's second label
            _idle(page)
            store = AnnotationStore(annotations)
            table = store.table("tiny")
            assert table["example_id"].tolist() == [shown], (
                table, page.locator(".st-key-ann_slice input").input_value())
            assert table["label"].tolist() == [1]

            page.locator(".st-key-ann_hide label").click()  # "hide labeled" off: the
            _idle(page)  # queue starts again with the example labeled
            assert page.get_by_text(re.compile(r"to go\)")).inner_text().split()[0] == shown
            page.keyboard.press("1")  # corrected to the first label
            _idle(page)
            table = store.table("tiny")
            assert table["example_id"].tolist() == [shown] and table["label"].tolist() == [0]
        finally:
            browser.close()
