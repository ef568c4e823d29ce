"""The served dashboard in a real browser: Debian's Chromium (headless), driven by Playwright.

Starts the dashboard server on a free port over the hand-computed lake, changes the date
range and the media selection the way a reader does, checks the KPI text, and saves a screenshot to
`test-output/dashboard.png`. Chromium must be installed (`make chromium`, part of `make test`): without it
this test fails, it never skips.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.dashboard.conftest import M3
from tests.transform.fixture_lake import M1
from wistia_analytics.dashboard.server import serve

DEBIAN_CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
OUTPUT = Path(__file__).resolve().parents[2] / "test-output"
TIMEOUT_MS = 20_000

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]


def chromium() -> str:
    """`$CHROMIUM_PATH`, else Debian's /usr/bin/chromium, else `chromium` on the PATH; fail if none."""
    for candidate in (os.environ.get("CHROMIUM_PATH"), DEBIAN_CHROMIUM, shutil.which("chromium")):
        if candidate and Path(candidate).is_file():
            return candidate
    pytest.fail("no Chromium: install Debian's package with `make chromium` (never `playwright install`)")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture()
def server(gold_lake: Path) -> Iterator[str]:
    port = _free_port()
    proc = serve("127.0.0.1", port, str(gold_lake), timeout=60)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_dashboard_in_chromium(server: str) -> None:
    executable = chromium()
    from playwright.sync_api import expect, sync_playwright

    OUTPUT.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 2800})  # tall: Streamlit scrolls inside
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(server)

            def kpi(label: str) -> object:
                return page.get_by_test_id("stMetric").filter(has_text=label).get_by_test_id("stMetricValue")

            # the default view: the last 30 days, i.e. the whole lake
            expect(kpi("Total Plays")).to_have_text("8")
            expect(kpi("Play Rate")).to_have_text("29.6%")
            expect(kpi("Unique Visitors")).to_have_text("4")
            expect(page.get_by_text("Data as of 2026-11-02")).to_be_visible()

            # date range: Custom, then the start day 01 -> 02 (the range becomes 2026-11-02 alone)
            sidebar = page.get_by_test_id("stSidebar")
            sidebar.get_by_role("radio", name="Custom").click()
            page.get_by_role("spinbutton", name="day, From - to start date").click()
            page.keyboard.type("02")
            page.keyboard.press("Tab")
            page.get_by_role("heading", name="Video engagement").click()  # commit the date field
            expect(kpi("Total Plays")).to_have_text("3")
            expect(kpi("Total Loads")).to_have_text("12")
            expect(kpi("Engagement Rate")).to_have_text("43.3%")
            expect(page.get_by_text("-40.0%")).to_be_visible()  # plays against 2026-11-01

            # media selection: search by name, pick Launch
            box = page.get_by_role("combobox", name="Medias")
            box.click()
            box.type("Launch")
            page.keyboard.press("Enter")
            page.keyboard.press("Escape")
            expect(kpi("Total Plays")).to_have_text("1")
            expect(kpi("Total Loads")).to_have_text("4")
            expect(kpi("Play Rate")).to_have_text("25.0%")
            expect(kpi("Total Watch Time")).to_have_text("10 s")
            expect(kpi("Engagement Rate")).to_have_text("10.0%")
            expect(kpi("Unique Visitors")).to_have_text("1")

            # the URL holds the view (written at the end of each run)
            expect(page).to_have_url(f"{server}?range=custom&start=2026-11-02&end=2026-11-02&media={M1}&curve={M1}")
            assert M3 not in page.url
            page.wait_for_timeout(500)  # let the charts finish drawing
            page.screenshot(path=str(OUTPUT / "dashboard.png"), full_page=True)
        finally:
            browser.close()
    assert (OUTPUT / "dashboard.png").stat().st_size > 10_000
