"""End to end in headless Chromium (Debian ``/usr/bin/chromium``, driven by playwright).

Opens the form of a real ``locoreg serve`` process, loads an example patient,
submits, reads the recommendation on the result page, checks keyboard focus on an
invalid form, and saves screenshots in the test's temporary directory.
Skipped when Chromium or playwright is absent.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from locoreg.decision.model import RECOMMENDATION_LABELS, Recommendation
from web.support import EXAMPLE_FILES, Server, load_example

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium not at /usr/bin/chromium"),
    pytest.mark.xdist_group("browser"),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    db = tmp_path_factory.mktemp("browser") / "audit.sqlite"
    s = Server(f"sqlite:///{db}").start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    # Loopback only: any request elsewhere (a CDN) fails the test.
    outside: list[str] = []

    def guard(route: Any) -> None:
        url = route.request.url
        if url.startswith("http://127.0.0.1:"):
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    context.route("**/*", guard)
    pg = context.new_page()
    yield pg
    context.close()
    assert not outside, f"the page asked for external resources: {outside}"


def test_assess_an_example_in_the_browser(server: Server, page: Any, tmp_path: Path) -> None:
    page.goto(f"{server.url}/")
    assert page.get_by_role("heading", name="New assessment").is_visible()
    page.screenshot(path=str(tmp_path / "form.png"), full_page=True)

    page.get_by_text("Load an example patient").click()
    page.get_by_role("link", name="discuss bone oligometastatic").click()
    assert page.locator("#age").input_value() == "52"
    assert page.locator("#systemic_therapy-response").input_value() == "partial_response"

    page.get_by_role("button", name="Assess").click()
    page.wait_for_url("**/assessments/*")
    label = RECOMMENDATION_LABELS[Recommendation.discuss_local_therapy]
    heading = page.get_by_role("heading", level=1)
    assert heading.inner_text().strip() == label
    assert page.locator("svg.icon-array").count() == 2
    assert page.get_by_role("heading", name="Prognosis").is_visible()
    shot = tmp_path / "result.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000

    # Printed, the navigation and buttons disappear and the recommendation stays.
    page.emulate_media(media="print")
    assert not page.locator("header.site nav").is_visible()
    assert heading.is_visible()


def test_invalid_form_shows_inline_errors(server: Server, page: Any, tmp_path: Path) -> None:
    page.goto(f"{server.url}/")
    page.locator("#age").fill("12")
    page.get_by_role("button", name="Assess").click()
    page.wait_for_load_state()
    alert = page.get_by_role("alert")
    assert "Please correct" in alert.inner_text()
    # The first invalid field is focused, and its message is its accessible description.
    focused = page.evaluate("document.activeElement && document.activeElement.id")
    assert focused == "age"
    described_by = page.locator("#age").get_attribute("aria-describedby")
    assert described_by and described_by.split()[0] == "age-error"
    assert "greater than or equal to 18" in page.locator("#age-error").inner_text()
    page.screenshot(path=str(tmp_path / "form-errors.png"), full_page=True)


def test_add_site_button_adds_a_labelled_row(server: Server, page: Any) -> None:
    page.goto(f"{server.url}/")
    rows = page.locator(".met-row")
    before = rows.count()
    page.get_by_role("button", name="Add another site").click()
    assert rows.count() == before + 1
    new_select = page.get_by_label(f"Site {before + 1}", exact=True)
    assert new_select.is_visible()
    assert page.evaluate("document.activeElement.id") == f"metastases-{before}-site"


def test_therapy_details_follow_the_started_choice(server: Server, page: Any) -> None:
    page.goto(f"{server.url}/")
    months = page.locator("#systemic_therapy-months")
    assert months.is_disabled()
    page.locator("#systemic_therapy-started").select_option("yes")
    assert months.is_enabled() and page.locator("#systemic_therapy-response").is_enabled()


def local_only_context(browser: Any, **options: Any) -> Any:
    """A browser context whose requests beyond the loopback server are aborted."""
    context = browser.new_context(**options)
    context.route(
        "**/*",
        lambda route: (
            route.continue_()
            if route.request.url.startswith("http://127.0.0.1:")
            else route.abort()
        ),
    )
    return context


def test_add_site_button_needs_javascript_and_room(server: Server, browser: Any) -> None:
    without = local_only_context(browser, java_script_enabled=False)
    try:
        pg = without.new_page()
        pg.goto(f"{server.url}/")
        assert pg.locator(".met-row").count() == 3  # the server's rows suffice without it
        assert not pg.locator("#add-site").is_visible()
    finally:
        without.close()
    with_js = local_only_context(browser)
    try:
        pg = with_js.new_page()
        pg.goto(f"{server.url}/")
        button = pg.get_by_role("button", name="Add another site")
        while pg.locator(".met-row").count() < 8:
            button.click()
        assert not button.is_visible()  # at the row limit (one row per organ site)
    finally:
        with_js.close()


def test_nothing_overflows_a_390_px_screen_nor_breaks_the_csp(
    server: Server, browser: Any, tmp_path: Path
) -> None:
    """A phone held upright: wide tables scroll inside themselves, the page does not."""
    import httpx

    patient = {**load_example(EXAMPLE_FILES[0]), "label": "AB tumour board 2026-12-01"}
    record = httpx.post(f"{server.url}/api/assessments", json=patient, timeout=60).json()["id"]
    context = local_only_context(browser, viewport={"width": 390, "height": 844})
    console: list[str] = []
    try:
        pg = context.new_page()
        pg.on("console", lambda message: console.append(message.text))
        for name, path in [
            ("form", "/"),
            ("history", "/history"),
            ("board", "/board"),
            ("result", f"/assessments/{record}"),
            ("evidence", "/evidence"),
            ("study", "/evidence/badwe2015"),
            ("meta", "/meta"),
        ]:
            pg.goto(f"{server.url}{path}")
            widths = pg.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
            pg.screenshot(path=str(tmp_path / f"{name}-390.png"), full_page=True)
            assert widths[0] <= widths[1] == 390, (path, widths)
        pg.goto(f"{server.url}/history")
        assert pg.get_by_text("AB tumour board 2026-12-01").first.is_visible()
        # The Content-Security-Policy blocks nothing the pages use (figures, script, CSS).
        assert not [m for m in console if "Content Security Policy" in m], console
    finally:
        context.close()
