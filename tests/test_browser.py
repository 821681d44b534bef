"""End to end in a real browser: `streamlit run` headless, Debian's chromium via Playwright.

Opens the conflicts view, picks an LF pair by clicking its row (and by the selectbox),
sees the examples where the two LFs disagree, labels one, reloads the page and finds
the label still there. Saves a screenshot under the test's tmp dir, and to
docs/conflicts.png for the README when that file is missing or UPDATE_SCREENSHOTS=1.

A second test opens every page over a run whose texts and ids hold Markdown and HTML
images (tests/hostile_texts.py) and checks that the browser requests none of them and
shows the text as typed.

Skipped only when /usr/bin/chromium is absent (`make test` installs it).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from labeling.gold import AnnotationStore
from labeling.review.launch import app_environment, free_port, streamlit_command
from labeling.review.sample import ensure_sample_run

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "tests"))
from hostile_texts import BEACON, ID_BEACON, ensure_hostile_run  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"

# Outside CI, a machine without root cannot get chromium from apt: skip there. On CI,
# `make test` installs it, so its absence is a setup failure and the test must fail.
pytestmark = pytest.mark.skipif(not CHROMIUM.exists() and not os.environ.get("CI"),
                                reason="/usr/bin/chromium is absent (make test installs it "
                                       "with apt as root)")


@pytest.fixture(scope="session")
def sample_project(tmp_path_factory) -> Path:
    return ensure_sample_run(REPO_ROOT / "labeling.toml",
                             tmp_path_factory.getbasetemp() / "app_sample")


@contextlib.contextmanager
def serving(project: Path, tmp_path: Path):
    """The app over ``project`` on a free port; yields (url, annotations path)."""
    port = free_port()
    annotations = tmp_path / "annotations.sqlite"
    log = open(tmp_path / "streamlit.log", "wb")  # a file, not a pipe: a full pipe blocks
    proc = subprocess.Popen(streamlit_command(port),
                            env=app_environment(project, annotations=annotations),
                            stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reply:
                    if reply.read().strip() == b"ok":
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("streamlit did not come up:\n"
                            + (tmp_path / "streamlit.log").read_text(errors="replace"))
            time.sleep(0.2)
        yield url, annotations
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture
def server(sample_project, tmp_path):
    """The app over the sample run; yields (url, annotations path); stopped after the test."""
    with serving(sample_project, tmp_path) as served:
        yield served


def _idle(page) -> None:
    page.wait_for_timeout(300)  # let a rerun start before waiting for its end
    # a bound on waiting, not a speed check: a page's first run in a fresh app process
    # (imports, the run's files) took 17 s on an idle 2-core machine and over 30 s with a
    # test suite beside it (the hostile-texts test failed so, 2026-12-07)
    page.wait_for_selector(IDLE, timeout=90_000)


def test_conflicts_pair_to_annotation_survives_reload(server, tmp_path):
    from playwright import sync_api  # in the test extra: a missing one is a setup bug
    url, annotations = server
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 2200})
            page.goto(f"{url}/conflicts")
            page.wait_for_selector("h1:has-text('Conflicts')", timeout=60_000)
            _idle(page)
            pair_box = page.locator(".st-key-pair input")
            first_pair = pair_box.input_value()

            # a real click on the second row of the pairs table selects that pair
            grid = page.locator("[data-testid='stDataFrame']").first
            box = grid.bounding_box()
            page.mouse.click(box["x"] + 14, box["y"] + 35 + 35 + 17)
            _idle(page)
            second_pair = pair_box.input_value()
            assert second_pair != first_pair

            # back to the first pair through the selectbox
            pair_box.click()
            page.get_by_role("option", name=first_pair, exact=True).click()
            _idle(page)
            a, b = first_pair.split(" (")[0].split(" × ")
            summary = page.get_by_text(f"where {a} and {b} disagree")
            summary.wait_for()
            count = int(summary.inner_text().split()[0])
            assert count > 0
            assert page.locator("[data-testid='stDataFrame']").count() >= 2

            example_id = page.locator(".st-key-conf_example input").input_value().split(":")[0]
            page.locator(".st-key-conf_ann-1 button").click()  # label it "spam"
            _idle(page)
            page.get_by_text("Your label: spam").wait_for()
            page.evaluate("document.querySelector(\"[data-testid='stMain']\")?.scrollTo(0, 0)")
            page.wait_for_timeout(500)  # let the toast fade and the scroll settle
            shot = tmp_path / "conflicts.png"
            page.screenshot(path=str(shot), full_page=True)

            page.reload()
            page.wait_for_selector("h1:has-text('Conflicts')", timeout=60_000)
            _idle(page)
            assert pair_box.input_value() == first_pair  # a fresh session: defaults again
            example_box = page.locator(".st-key-conf_example input")
            if not example_box.input_value().startswith(f"{example_id}:"):
                example_box.click()
                page.get_by_role("option").filter(has_text=f"{example_id}:").first.click()
                _idle(page)
            page.get_by_text("Your label: spam").wait_for()  # read back from SQLite

            page.goto(f"{url}/annotate")
            page.wait_for_selector("h1:has-text('Annotate')", timeout=60_000)
            _idle(page)
            total = page.locator("[data-testid='stMetric']").filter(has_text="total")
            assert total.inner_text().split()[-1] == "1"
        finally:
            browser.close()
    assert AnnotationStore(annotations).gold_for(
        "youtube", "train", [example_id], ["ham", "spam"]) == {example_id: 1}
    docs = REPO_ROOT / "docs" / "conflicts.png"
    if not docs.exists() or os.environ.get("UPDATE_SCREENSHOTS") == "1":
        docs.parent.mkdir(exist_ok=True)
        shutil.copyfile(shot, docs)


HOSTILE_PAGES = ("overview", "lfs", "conflicts", "slices", "example", "end-model", "annotate")


def test_texts_with_markdown_images_make_no_request(tmp_path_factory, tmp_path):
    from playwright import sync_api

    project = ensure_hostile_run(REPO_ROOT / "labeling.toml",
                                 tmp_path_factory.getbasetemp() / "app_hostile")
    requested: list[str] = []
    with serving(project, tmp_path) as (url, _), sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 2200})
            page.on("request", lambda request: requested.append(request.url))
            for name in HOSTILE_PAGES:
                page.goto(f"{url}/{name}")
                page.wait_for_selector("[data-testid='stApp']", timeout=60_000)
                _idle(page)
                page.wait_for_timeout(500)  # images start loading once they are in the DOM
                assert page.locator("[data-testid='stException']").count() == 0, name
            _no_beacons(requested)
            page.goto(f"{url}/conflicts")
            _idle(page)
            # on a busy machine the idle marker can show before the text area is filled
            # (CI of 8fe029f read ''): wait for the value, then check it as typed
            sync_api.expect(page.locator("textarea").first).to_have_value(
                re.compile(re.escape("![x](")), timeout=30_000)
            shown = page.locator("textarea").first.input_value()
            assert "![x](" in shown and "**bold**" in shown  # the text as typed
            page.locator(".st-key-conf_ann-1 button").click()  # a toast names the id
            _idle(page)
            page.wait_for_timeout(500)
        finally:
            browser.close()
    _no_beacons(requested)
    assert any(r.startswith(url) for r in requested)  # the recorder did see the app's own


def _no_beacons(requested: list[str]) -> None:
    beacons = [r for r in requested if r.startswith("http://127.0.0.1:1/")]
    assert not beacons, f"pages fetched URLs from the data ({BEACON}, {ID_BEACON}): {beacons}"
