"""Request dependencies shared by the API and the pages (FastAPI ``Depends``).

``create_app`` puts one :class:`~locoreg.store.AuditStore` and the
:class:`~locoreg.web.settings.Settings` in ``app.state``; a route asks for them by
type, ``store: StoreDep``, instead of reaching into the request.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from locoreg.store import AuditStore
from locoreg.web.settings import Settings


def get_store(request: Request) -> AuditStore:
    store: AuditStore = request.app.state.store
    return store


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


StoreDep = Annotated[AuditStore, Depends(get_store)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
