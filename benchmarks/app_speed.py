"""Print the app's speed as a user meets it (not a test; nothing is asserted).

Reproduce with:
    .venv/bin/python benchmarks/app_speed.py        (needs /usr/bin/chromium)

Measures: server start to the home page rendered in Chromium; the first result on each page
(model load included); a second visit to each page (page switch, models cached); the server
process's resident memory with every model loaded.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))  # run from a checkout without installing

from tests.appserver import start_server  # noqa: E402

# page path -> text that appears once the page's main result is drawn (shipped models, default inputs)
PAGES = {
    "Image_Diagnosis": "Upload an image to see",
    "Record_Classification": "Describe the symptoms",
    "Service_Recommendation": "Recommended next",
    "Model_Evaluation": "Intended use",
}


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    from playwright.sync_api import sync_playwright

    started = time.perf_counter()
    server = start_server(timeout=120, poll_interval=0.05)
    url = server.url
    try:
        health = time.perf_counter() - started
        args = [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ]
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=args)
            page = browser.new_page()
            page.goto(url)
            page.get_by_text("pneumonia-cxr").first.wait_for(state="attached", timeout=120_000)
            home = time.perf_counter() - started
            print(f"server start -> /_stcore/health: {health:.2f} s; -> home page with models table: {home:.2f} s")
            for visit in ("first visit (model load included)", "second visit (page switch)"):
                for path, marker in PAGES.items():
                    begin = time.perf_counter()
                    page.goto(f"{url}/{path}")
                    page.get_by_text(marker).first.wait_for(timeout=120_000)
                    print(f"{visit:<36} {path:<24} {time.perf_counter() - begin:.2f} s")
            browser.close()
        print(f"server resident memory after visiting every page: {_rss_mb(server.pid):.0f} MB")
    finally:
        server.stop(timeout=20)


if __name__ == "__main__":
    main()
