"""The served dashboard in a real browser: Debian's Chromium (headless), driven by Playwright.

Starts the dashboard server on a free port over the hand-computed lake, changes the date
range and the media selection the way a reader does, checks the KPI text, and saves a screenshot to
`test-output/dashboard.png`; then opens a shared URL that sets every control and checks the controls, the KPIs
and that the address stays as shared (`test-output/dashboard-shared.png`). Chromium must be installed
(`make chromium`, part of `make test`): without it these tests fail, they never skip.
"""

from __future__ import annotations

import contextlib
import http.server
import os
import re
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

from tests.dashboard.conftest import M3, P1, build_hostile_lake
from tests.transform.fixture_lake import M1, M2
from wistia_analytics.dashboard.launcher import serve

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


@contextlib.contextmanager
def serving(lake: Path) -> Iterator[str]:
    """The dashboard over `lake` on a free port, for the duration of the block: its base URL."""
    port = _free_port()
    proc = serve("127.0.0.1", port, str(lake), timeout=60)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture()
def server(gold_lake: Path) -> Iterator[str]:
    with serving(gold_lake) as url:
        yield url


def kpi(page: Page, label: str) -> Locator:
    return page.get_by_test_id("stMetric").filter(has_text=label).get_by_test_id("stMetricValue")


def test_dashboard_in_chromium(server: str) -> None:
    executable = chromium()
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)  # a loaded CI machine renders slower than expect's 5 s default
    OUTPUT.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 2800})  # tall: Streamlit scrolls inside
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(server)
            kpi = partial(globals()["kpi"], page)

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

            # the URL holds the view (written at the end of each run), and nothing else: the Rows controls stayed
            # at their default through the quick date edit (no `rows_media=10`)
            expect(page).to_have_url(f"{server}?range=custom&start=2026-11-02&end=2026-11-02&media={M1}&curve={M1}")
            rows = page.get_by_test_id("stSelectbox").filter(has_text="Rows").locator("input")
            expect(rows.nth(0)).to_have_value("25")
            expect(rows.nth(1)).to_have_value("25")
            assert M3 not in page.url
            page.wait_for_timeout(500)  # let the charts finish drawing
            page.screenshot(path=str(OUTPUT / "dashboard.png"), full_page=True)
        finally:
            browser.close()
    assert (OUTPUT / "dashboard.png").stat().st_size > 10_000


# Every control set away from its default (the view of tests/dashboard/test_app.py's round trip).
SHARED_QUERY = (
    f"range=custom&start=2026-11-01&end=2026-11-02&project={P1}&media={M2}&media={M1}&gran=week"
    f"&metric=engagement&rank_media=plays&rows_media=10&rank_visitors=plays&rows_visitors=50&others=1"
    f"&identified_only=1&min_plays=2&curve={M2}"
)


def test_a_shared_url_opens_the_same_view(server: str) -> None:
    executable = chromium()
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)  # a loaded CI machine renders slower than expect's 5 s default
    OUTPUT.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 2800})
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(f"{server}?{SHARED_QUERY}")
            expect(page.get_by_text("Rendered in")).to_be_visible()  # the footer: the whole page is out

            for label, value in {
                "Total Plays": "6",
                "Total Loads": "19",
                "Play Rate": "31.6%",
                "Total Watch Time": "6.4 min",
                "Engagement Rate": "47.5%",
                "Unique Visitors": "3",
            }.items():
                expect(kpi(page, label)).to_have_text(value)
            sidebar = page.get_by_test_id("stSidebar")
            expect(sidebar.get_by_role("radio", name="Custom")).to_have_attribute("aria-checked", "true")
            days = sidebar.get_by_test_id("stDateInput").locator("input")
            expect(days.nth(0)).to_have_value("2026-11-01")
            expect(days.nth(1)).to_have_value("2026-11-02")
            expect(sidebar.get_by_test_id("stMultiSelect").filter(has_text="Projects")).to_contain_text("Marketing")
            medias = sidebar.get_by_test_id("stMultiSelect").filter(has_text="Medias")
            expect(medias).to_contain_text(f"Tour · {M2}")
            expect(medias).to_contain_text(f"Launch · {M1}")

            def group(label: str, nth: int = 0) -> Locator:
                return page.get_by_test_id("stButtonGroup").filter(has_text=label).nth(nth)

            for control, selected in ((group("Granularity"), "Week"), (group("Metric"), "Engagement")):
                expect(control.get_by_role("radio", name=selected)).to_have_attribute("aria-checked", "true")
            for nth in (0, 1):  # top media, then top visitors
                expect(group("Rank by", nth).get_by_role("radio", name="Plays")).to_have_attribute(
                    "aria-checked", "true"
                )
            rows = page.get_by_test_id("stSelectbox").filter(has_text="Rows").locator("input")
            expect(rows.nth(0)).to_have_value("10")
            expect(rows.nth(1)).to_have_value("50")
            expect(page.get_by_test_id("stSelectbox").filter(has_text="Media").locator("input")).to_have_value(
                f"Tour · {M2}"
            )
            expect(page.get_by_test_id("stNumberInput").locator("input")).to_have_value("2")
            for toggle in ("Show 'Other medias'", "Identified only"):
                expect(page.get_by_test_id("stCheckbox").filter(has_text=toggle).locator("input")).to_be_checked()
            expect(page).to_have_url(f"{server}?{SHARED_QUERY}")  # the page found nothing to rewrite
            page.wait_for_timeout(500)
            page.screenshot(path=str(OUTPUT / "dashboard-shared.png"), full_page=True)
        finally:
            browser.close()
    assert (OUTPUT / "dashboard-shared.png").stat().st_size > 10_000


STREAMLIT_ICONS = "https://fonts.gstatic.com/"  # Streamlit's own Material icons (the page icon), not API text


class _Pixel(http.server.BaseHTTPRequestHandler):
    """A 1x1 image; every request is counted (the test expects none)."""

    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()
        self.wfile.write(b"\x89PNG\r\n\x1a\n")

    def log_message(self, format: str, *args: object) -> None:
        return None


@pytest.fixture()
def pixel() -> Iterator[tuple[int, list[str]]]:
    _Pixel.hits = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Pixel)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(httpd.server_address[1]), _Pixel.hits
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_api_text_is_shown_literally_and_fetches_nothing(tmp_path: Path, pixel: tuple[int, list[str]]) -> None:
    """A media, project and visitor named with a link, a remote image, HTML and emphasis: the page shows the
    text as it is (no link, no image, no bold) and the browser asks nothing of the image's server."""
    port, hits = pixel
    name = f"[click](http://evil.example/x) ![img](http://127.0.0.1:{port}/pixel.png) <b>bold</b> *em*"
    lake = tmp_path / "lake"
    build_hostile_lake(lake, name)
    executable = chromium()
    from playwright.sync_api import Request, expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    outside: list[str] = []
    with serving(lake) as app_url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 2800})
            page.set_default_timeout(TIMEOUT_MS)

            def seen(request: Request) -> None:
                own = (app_url.rstrip("/"), "data:", "blob:", STREAMLIT_ICONS)
                if not request.url.startswith(own):
                    outside.append(request.url)

            page.on("request", seen)
            # the scope line names the selected media; the sidebar's chips and the retention selectbox show the
            # name as options; the top-media table, the visitors table and the chart legend hold it too
            page.goto(f"{app_url}?project={P1}&media={M1}&curve={M1}")
            expect(page.get_by_text("Rendered in")).to_be_visible()
            expect(page.get_by_test_id("stText").filter(has_text=f"medias: {name}")).to_be_visible()
            medias = page.get_by_test_id("stSidebar").get_by_test_id("stMultiSelect").filter(has_text="Medias")
            expect(medias).to_contain_text(f"{name} · {M1}")
            expect(page.get_by_test_id("stSelectbox").filter(has_text="Media").locator("input")).to_have_value(
                f"{name} · {M1}"
            )
            page.wait_for_timeout(1500)  # time for any image or link prefetch to go out
            assert page.locator("a[href*='evil.example']").count() == 0
            assert page.locator(f"img[src*='{port}']").count() == 0
            assert page.locator("b", has_text="bold").count() == 0
            assert page.locator("em").filter(has_text=re.compile(r"^em$")).count() == 0
            assert "\\[" not in page.get_by_test_id("stMain").inner_text()  # escaped, not shown escaped
            page.screenshot(path=str(OUTPUT / "dashboard-hostile.png"), full_page=True)
        finally:
            browser.close()
    assert hits == []
    assert outside == []
