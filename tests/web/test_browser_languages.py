"""The Spanish result page (and the Spanish form) in headless Chromium: fit a 390 px phone
without horizontal scrolling, and axe-core finds no serious or critical WCAG 2.x A/AA
violation.

Reuses the module-scoped Chromium of test_browser and the vendored axe-core of the
patient-aid check (tests/web/vendor/, MPL-2.0, unmodified).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from web.support import EXAMPLE_FILES, Server, load_example
from web.test_browser import CHROMIUM, browser, local_only_context
from web.test_browser_patient_aid import AXE

__all__ = ["browser"]  # the module-scoped Chromium fixture, shared with test_browser

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium not at /usr/bin/chromium"),
    pytest.mark.xdist_group("browser"),
]


@pytest.fixture(scope="module")
def result_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    db = tmp_path_factory.mktemp("result-es") / "audit.sqlite"
    server = Server(f"sqlite:///{db}").start()
    stem = next(p for p in EXAMPLE_FILES if p.stem == "discuss_bone_oligometastatic")
    patient = {**load_example(stem), "label": "MDT-A 1 JS"}
    record = httpx.post(f"{server.url}/api/assessments", json=patient, timeout=60)
    yield f"{server.url}/assessments/{record.json()['id']}"
    server.stop()


def test_the_spanish_result_page_fits_a_phone_and_passes_axe(
    result_url: str, browser: Any, tmp_path: Path
) -> None:
    context = local_only_context(browser, viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        page.goto(f"{result_url}?lang=es")
        assert page.locator("html").get_attribute("lang") == "es"
        assert page.locator("p.eyebrow").text_content().strip() == "Recomendación"
        assert page.get_by_role("heading", name="Pronóstico").is_visible()
        widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        shot = tmp_path / "result-es-390.png"
        page.screenshot(path=str(shot), full_page=True)
        assert widths[0] <= widths[1] == 390, widths
        assert shot.stat().st_size > 10_000
        # The language switch leads to the same record in English.
        page.get_by_role("link", name="English", exact=True).click()
        page.wait_for_load_state()
        assert page.locator("html").get_attribute("lang") == "en"
        assert page.url == f"{result_url}?lang=en"
    finally:
        context.close()

    context = local_only_context(browser, viewport={"width": 390, "height": 844}, bypass_csp=True)
    try:
        page = context.new_page()
        form_url = result_url.split("/assessments/")[0] + "/?lang=es"
        for url in (f"{result_url}?lang=es", form_url):
            page.goto(url)
            widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
            assert widths[0] <= widths[1] == 390, (url, widths)
            page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
            result = page.evaluate(
                """() => axe.run(document, {runOnly: {type: 'tag',
                     values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})"""
            )
            serious = [
                (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
                for v in result["violations"]
                if v["impact"] in ("serious", "critical")
            ]
            assert not serious, (url, serious)
            assert len(result["passes"]) > 15  # axe really ran its rules
    finally:
        context.close()
