"""Fixtures for every test directory."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _testclient_host(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let apps built in tests answer Starlette's TestClient, which sends ``Host: testserver``.

    Production trusts only the loopback names, the public URL's host and
    ``LOCOREG_ALLOWED_HOSTS`` (locoreg.web.hardening); tests that check the refusal use
    another name.
    """
    from locoreg.web import settings

    monkeypatch.setattr(settings, "LOOPBACK_HOSTS", (*settings.LOOPBACK_HOSTS, "testserver"))
