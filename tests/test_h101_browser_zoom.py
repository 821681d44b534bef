"""The review app at 200% zoom (a 1280x800 laptop: a 640x400 CSS-pixel viewport) with the
keyboard alone, in chromium (walkthrough h101).

Before: Streamlit collapses the sidebar at that width and slides it off screen, but its
nine page links, the name box and its help button stayed in the Tab order: after "Skip to
main content" the focus went to 12 stops outside the window (x = -288 px) before the page.
Now Tab goes from the skip link to "Expand sidebar" and the page; Enter on it brings the
links back into view and into the Tab order.

Skipped when /usr/bin/chromium is absent, as tests/test_browser.py is.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "tests"))
from test_browser import (CHROMIUM, CHROMIUM_ARGS, _idle, pytestmark,  # noqa: E402, F401
                          sample_project, server)

FOCUSED = """() => { const e = document.activeElement, r = e.getBoundingClientRect();
  return {name: e.getAttribute('aria-label') || (e.innerText || '').trim().split('\\n').pop(),
          nav: !!e.closest('[data-testid=stSidebar]'),
          inside: r.right > 0 && r.bottom > 0 && r.left < innerWidth && r.top < innerHeight}; }"""


def _tab_until(page, wanted: str, limit: int = 40) -> list[dict]:
    """Press Tab until the focused element's name is ``wanted``; every stop on the way."""
    stops = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        stops.append(page.evaluate(FOCUSED))
        if stops[-1]["name"] == wanted:
            return stops
    pytest.fail(f"Tab never reached {wanted!r}: {stops}")


def test_at_200_percent_zoom_tab_never_lands_on_the_hidden_sidebar(server):
    from playwright import sync_api

    url, _ = server
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 640, "height": 400})
            page.goto(f"{url}/annotate")
            page.wait_for_selector(".st-key-ann_hide input", timeout=60_000)
            _idle(page)
            stops = _tab_until(page, "hide labeled")
            hidden = [s["name"] for s in stops if not s["inside"]]
            assert not hidden, f"focus went outside the window: {hidden}"
            assert not any(s["nav"] for s in stops), stops

            # the sidebar is still reachable: Shift+Tab back to "Expand sidebar", Enter
            for _ in range(len(stops)):
                page.keyboard.press("Shift+Tab")
                if page.evaluate(FOCUSED)["name"] == "Expand sidebar":
                    break
            page.keyboard.press("Enter")
            page.get_by_role("link", name="Overview").wait_for(state="visible")
            stops = _tab_until(page, "Overview")
            assert stops[-1]["inside"] and stops[-1]["nav"]
        finally:
            browser.close()
