"""The patient decision aid in headless Chromium, in English and Spanish: fits a 390 px
phone, prints on at most 2 A4 pages, reads without JavaScript, and passes axe-core's
WCAG 2.x A/AA rules.

axe-core (MPL-2.0, Deque Systems) is vendored unmodified with its licence in
tests/web/vendor/ (the MPL allows redistribution of the unmodified file with its notice),
so CI needs no network.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from web.support import EXAMPLE_FILES, Server, load_example
from web.test_browser import CHROMIUM, browser, local_only_context

__all__ = ["browser"]  # the module-scoped Chromium fixture, shared with test_browser

AXE = Path(__file__).parent / "vendor" / "axe.min.js"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium not at /usr/bin/chromium"),
    pytest.mark.xdist_group("browser"),
]


@pytest.fixture(scope="module")
def aid_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    db = tmp_path_factory.mktemp("aid") / "audit.sqlite"
    server = Server(f"sqlite:///{db}").start()
    stem = next(p for p in EXAMPLE_FILES if p.stem == "discuss_bone_oligometastatic")
    record = httpx.post(f"{server.url}/api/assessments", json=load_example(stem), timeout=60)
    yield f"{server.url}/assessments/{record.json()['id']}/patient"
    server.stop()


def _pdf_pages(pdf: bytes) -> int:
    """Pages of a PDF Chromium wrote: the ``/Count`` of its (uncompressed) page tree root."""
    counts = re.findall(rb"/Type\s*/Pages\s*/Count\s+(\d+)", pdf)
    assert len(counts) == 1, counts
    return int(counts[0])


@pytest.mark.parametrize("lang", ["en", "es"])
def test_aid_fits_a_phone_prints_on_two_pages_and_passes_axe(
    aid_url: str, browser: Any, lang: str, tmp_path: Path
) -> None:
    context = local_only_context(
        browser, viewport={"width": 390, "height": 844}, java_script_enabled=False
    )
    try:
        page = context.new_page()
        page.goto(f"{aid_url}?lang={lang}")
        assert page.locator("html").get_attribute("lang") == lang
        # Readable without JavaScript: the page has none and shows everything.
        assert page.locator("svg.icon-array").count() == 4
        assert page.get_by_role("main").is_visible()
        widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        shot = tmp_path / f"aid-{lang}-390.png"
        page.screenshot(path=str(shot), full_page=True)
        assert widths[0] <= widths[1] == 390, widths
        assert shot.stat().st_size > 10_000

        pdf = page.pdf(format="A4", print_background=True, prefer_css_page_size=True)
        (tmp_path / f"aid-{lang}.pdf").write_bytes(pdf)
        assert 1 <= _pdf_pages(pdf) <= 2
    finally:
        context.close()

    # axe-core needs script: a separate context (the page's CSP set aside for the
    # injected checker only), the same page.
    context = local_only_context(browser, viewport={"width": 1280, "height": 900}, bypass_csp=True)
    try:
        page = context.new_page()
        page.goto(f"{aid_url}?lang={lang}")
        page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
        result = page.evaluate(
            """() => axe.run(document, {runOnly: {type: 'tag',
                 values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}})"""
        )
        violations = [(v["id"], [n["target"] for n in v["nodes"]]) for v in result["violations"]]
        assert not violations, violations
        assert len(result["passes"]) > 15  # axe really ran its rules
    finally:
        context.close()
