"""Kill the server mid-use (SIGKILL, as in a crash), start it again: only the session is lost.

A Chromium page (Playwright, Debian's Chromium) makes an image prediction (so the server
writes an audit record) and a text prediction; the server is killed and started again on the
same port; the same page reconnects and a new text prediction appears with no exception. The
models folder is byte-for-byte unchanged and the audit log is still whole JSON lines.
Skips without Chromium, unless MEDCORE_REQUIRE_BROWSER=1 (CI), where that fails.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest

from medcore.core.settings import models_dir
from tests.appserver import CHROMIUM, CHROMIUM_ARGS, AppServer, ServerStartError, start_server
from tests.conftest import png_bytes
from tests.test_browser import SHOTS

pytestmark = [pytest.mark.browser, pytest.mark.slow]

BEFORE = "I have had an itchy red rash with dry scaly patches on my elbows for weeks."
AFTER = "It burns when I urinate, I need to go all the time and my lower belly hurts."


def _folder_digest(folder: Path) -> dict[str, str]:
    """sha256 of every file under ``folder``, by relative path."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def _audit_records(path: Path) -> list[dict]:
    """Every line of the audit log, parsed (fails the test on a line that is not a JSON object)."""
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert all(isinstance(record, dict) for record in records)
    return records


def _start(port: int | None, env: dict[str, str], log: Path) -> AppServer:
    try:
        return start_server(port, env=env, timeout=120, log_path=log)
    except ServerStartError as err:
        pytest.fail(str(err))


def _predict_text(page, note: str, word: str) -> None:
    """Type ``note``, submit it, and wait for the highlighted words of that note and the chart."""
    # The page is usable once no dialog (e.g. "Connection error") makes it inert; then type and press
    # Analyse, as a user does, again if a press made while the page was still rerunning was lost.
    page.wait_for_function("() => !document.getElementById('root').hasAttribute('inert')", timeout=90_000)
    area = page.locator("textarea").first
    area.fill(note)
    result = page.locator("[data-testid='stHtml']").filter(has_text=word).first
    for attempt in range(3):
        page.get_by_role("button", name="Analyse").click()
        try:
            result.wait_for(timeout=30_000)
            break
        except Exception:  # noqa: BLE001 - playwright's TimeoutError: press again
            if attempt == 2:
                raise
    page.locator(".js-plotly-plot").first.wait_for(timeout=30_000)
    assert page.locator("[data-testid='stException']").count() == 0, "the page shows an exception"


def test_server_killed_and_restarted_loses_only_the_session(tmp_path):
    if not CHROMIUM.exists():
        if os.environ.get("MEDCORE_REQUIRE_BROWSER") == "1":
            pytest.fail("MEDCORE_REQUIRE_BROWSER=1 but /usr/bin/chromium is missing: apt-get install -y chromium")
        pytest.skip("Chromium not installed: `apt-get install -y chromium` to run the browser tests")
    from playwright.sync_api import sync_playwright

    models_before = _folder_digest(models_dir())  # the server's folder (MEDCORE_MODELS_DIR or models/)
    audit = tmp_path / "audit.jsonl"
    env = {"MEDCORE_AUDIT_LOG": str(audit)}
    log = tmp_path / "server.log"
    xray = tmp_path / "chest.png"
    xray.write_bytes(png_bytes(np.random.default_rng(0).integers(0, 256, (200, 180), dtype=np.uint8)))

    server = _start(None, env, log)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
            page = browser.new_context(viewport={"width": 1400, "height": 1800}).new_page()
            SHOTS.mkdir(parents=True, exist_ok=True)
            try:
                page.goto(f"{server.url}/Image_Diagnosis")
                page.get_by_text("Upload an image to see").wait_for(timeout=90_000)
                page.locator("input[type='file']").set_input_files(str(xray))
                # Noise is no chest X-ray: the page refuses it (analysed and audited all the same).
                page.get_by_text("Not analysed").first.wait_for(timeout=90_000)
                records_before = _audit_records(audit)
                assert len(records_before) == 1, records_before

                page.goto(f"{server.url}/Record_Classification")
                _predict_text(page, BEFORE, "rash")

                server.kill()  # SIGKILL: no shutdown hook runs, as in a crash or an OOM kill
                page.get_by_text("Connection error").first.wait_for(timeout=60_000)  # the page notices
                server = _start(server.port, env, log)

                # The same page reconnects by itself (a new server session; the old one is gone)
                # and reruns with the text it still holds; then a new note gets a new prediction.
                page.get_by_text("Connection error").first.wait_for(state="hidden", timeout=90_000)
                _predict_text(page, AFTER, "urinate")
                page.screenshot(path=str(SHOTS / "restart_record_classification.png"), full_page=True)
                page.reload()  # and a reload works too
                _predict_text(page, BEFORE, "rash")
            except Exception:
                page.screenshot(path=str(SHOTS / "restart_failure.png"), full_page=True)
                raise
            finally:
                browser.close()
    finally:
        server.stop()
    assert _folder_digest(models_dir()) == models_before, "the models folder changed"
    records_after = _audit_records(audit)  # every line still a whole JSON object
    assert records_after[: len(records_before)] == records_before, "the audit log lost or changed records"
