"""Print the app's speed as a user meets it (not a test; nothing is asserted).

Reproduce with:
    MEDCORE_DATA_DIR=../shared/data .venv/bin/python benchmarks/app_speed.py   (needs /usr/bin/chromium)

Measures: server start to the home page rendered in Chromium; the first prediction on the
image and text pages (model load included) and a second one (a later interaction); the first
recommendation and model card; page switches after that; the server's resident memory with
the models loaded; the image page opened, the opacity slider moved and the image page opened in
a new session (another tab). Three cold starts: without the background model warm-up, with it, and
with it after 20 s on the home page (a user reading it).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))  # run from a checkout without installing

from tests.appserver import CHROMIUM, CHROMIUM_ARGS, start_server  # noqa: E402

NOTE = "I have had an itchy red rash with dry scaly patches on my elbows for weeks."
OTHER_NOTE = "It burns when I urinate and I need to go all the time; my lower belly hurts."
# (URL path, text that shows the page is drawn); sidebar titles come from medcore.ui.navigation.PAGES
PAGES = (
    ("Image_Diagnosis", "Upload an image to see"),
    ("Record_Classification", "Paste a clinical text"),
    ("Service_Recommendation", "Recommended next"),
    ("Model_Evaluation", "Intended use"),
)


def _png(path: Path, seed: int) -> Path:
    """A real chest X-ray (PneumoniaMNIST val, from MEDCORE_DATA_DIR) enlarged to 224 px: the page refuses
    anything else, so timing a prediction needs real images."""
    from benchmarks.load_test import _png as xray_png

    path.write_bytes(xray_png(seed))
    return path


def _timed(label: str, action) -> None:
    begin = time.perf_counter()
    action()
    print(f"{label:<58} {time.perf_counter() - begin:6.2f} s")


def _image(page, url: str, path: Path, first: bool) -> None:
    page.locator("input[type='file']").first.set_input_files(str(path))
    if first:
        page.get_by_role("heading", name=path.name).wait_for(timeout=120_000)  # this file's result
        page.locator(".js-plotly-plot").nth(1).wait_for(timeout=120_000)  # probabilities and Grad-CAM
    else:  # the uploader adds the file to the batch: a results table for both appears
        page.get_by_text("Results for 2 files").wait_for(timeout=120_000)


def _opacity(page) -> None:
    """Move the Grad-CAM opacity slider one step (0.45 -> 0.50) and wait until the browser has redrawn
    the heatmap with the new opacity."""
    page.get_by_role("slider").first.focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.js-plotly-plot')].some("
        "g => (g.data || []).some(t => t.type === 'heatmap' && Math.abs(t.opacity - 0.5) < 1e-6))",
        timeout=120_000,
    )


def _new_session(browser, url: str) -> None:
    """Another tab (a new Streamlit session, empty browser cache) opening the image page until its
    uploader is drawn. Called after the first tab has been idle for 2 s, as another clinician's
    browser would be: the tabs share one browser's renderer here."""
    other = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        other.goto(f"{url}/Image_Diagnosis")
        other.get_by_text("Upload an image to see").wait_for(timeout=120_000)
    finally:
        other.close()


def _text(page, url: str, note: str, first: bool) -> None:
    if first:
        page.goto(f"{url}/Record_Classification")
    area = page.locator("textarea").first
    area.fill(note)
    area.press("Control+Enter")
    page.get_by_text("Words that pushed towards the top class").wait_for(timeout=120_000)
    page.get_by_text(note.split()[-1].strip(".")).last.wait_for(timeout=120_000)  # the new note is highlighted
    page.locator(".js-plotly-plot").first.wait_for(timeout=120_000)  # and its ranking drawn
    page.wait_for_function("() => !document.querySelector('[data-testid=stStatusWidget]')", timeout=120_000)


def _visit(page, url: str, path: str, marker: str) -> None:
    page.goto(f"{url}/{path}")
    page.get_by_text(marker).first.wait_for(timeout=120_000)


def _switch(page, path: str, marker: str) -> None:
    """Click the page's link in the sidebar (an in-app switch, as a user does)."""
    from medcore.ui.navigation import PAGES as NAVIGATION

    title = next(entry.title for entry in NAVIGATION if entry.url_path == path)
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title, exact=True).click()
    page.get_by_text(marker).first.wait_for(timeout=120_000)


def run(browser, warm_up: bool, pause: float) -> None:
    """One cold start of the server, then the user's first and later interactions."""
    import tempfile

    print(f"\n== model warm-up {'on' if warm_up else 'off'}; {pause:.0f} s on the home page before the first page ==")
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    started = time.perf_counter()
    server = start_server(timeout=120, poll_interval=0.05, env={"MEDCORE_WARM_UP": "1" if warm_up else "0"})
    url = server.url
    try:
        health = time.perf_counter() - started
        page.goto(url)
        page.get_by_text("pneumonia-cxr").first.wait_for(state="attached", timeout=120_000)
        print(f"{'server start -> /_stcore/health':<58} {health:6.2f} s")
        print(f"{'server start -> home page with the models table':<58} {time.perf_counter() - started:6.2f} s")
        time.sleep(pause)
        with tempfile.TemporaryDirectory() as folder:
            images = [_png(Path(folder) / f"scan{i}.png", i) for i in range(2)]
            _timed(
                "image page opened (uploader drawn)",
                lambda: _visit(page, url, "Image_Diagnosis", "Upload an image to see"),
            )
            _timed("first image prediction (model load included)", lambda: _image(page, url, images[0], True))
            _timed("opacity slider moved (heatmap redrawn)", lambda: _opacity(page))
            _timed("second image prediction (new upload)", lambda: _image(page, url, images[1], False))
            time.sleep(2)
            _timed("image page in a new session (another tab)", lambda: _new_session(browser, url))
        _timed("first text prediction (model load included)", lambda: _text(page, url, NOTE, True))
        _timed("second text prediction (new note)", lambda: _text(page, url, OTHER_NOTE, False))
        _timed(
            "first recommendation (model load included)",
            lambda: _visit(page, url, "Service_Recommendation", "Recommended next"),
        )
        _timed("first model card", lambda: _visit(page, url, "Model_Evaluation", "Intended use"))
        for path, marker in PAGES:
            _timed(f"page switch to {path} (sidebar)", lambda path=path, marker=marker: _switch(page, path, marker))
        print(f"server resident memory (process tree) at the end: {server.rss_mb():.0f} MB")
    finally:
        page.close()
        server.stop(timeout=20)


def main() -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:  # the browser starts first: a user's browser is already open
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        run(browser, warm_up=False, pause=0)
        run(browser, warm_up=True, pause=0)
        run(browser, warm_up=True, pause=20)
        browser.close()


if __name__ == "__main__":
    main()
