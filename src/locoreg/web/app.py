"""The FastAPI application: REST API, server-rendered pages, CDS Hooks, static assets.

``create_app()`` wires one :class:`~locoreg.store.AuditStore` (migrated on start)
and the :class:`~locoreg.web.settings.Settings` into ``app.state``, where the API,
the pages and the CDS Hooks router find them.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from locoreg import __version__
from locoreg.errors import InputError
from locoreg.report.pdf import PdfUnavailable
from locoreg.store import AuditStore
from locoreg.web import api, board, hardening, pages, patient
from locoreg.web.problems import (
    on_http_error,
    on_input_error,
    on_pdf_unavailable,
    on_request_validation,
)
from locoreg.web.settings import Settings

log = logging.getLogger("locoreg.web")
STATIC_DIR = Path(__file__).parent / "static"


def create_app(settings: Settings | None = None, store: AuditStore | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    app = FastAPI(
        title="locoreg",
        version=__version__,
        # Swagger UI and ReDoc load their scripts from a CDN; the app serves no CDN assets.
        docs_url=None,
        redoc_url=None,
        description=(
            "Decision support for the intact primary tumour in de novo stage IV breast cancer. "
            "Not a substitute for clinical judgement."
        ),
    )
    app.state.settings = settings
    app.state.store = store or AuditStore(settings.database_url)
    if not settings.cds_jwt_enabled:
        log.warning("LOCOREG_CDS_JWT=off: CDS Hooks JWT check is OFF (local testing only)")
    app.add_exception_handler(RequestValidationError, on_request_validation)
    app.add_exception_handler(InputError, on_input_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(PdfUnavailable, on_pdf_unavailable)
    app.include_router(api.router)
    _include_cds(app)
    app.include_router(pages.router)
    app.include_router(patient.router)
    app.include_router(board.router)
    app.mount("/static", _Assets(directory=STATIC_DIR), name="static")
    hardening.install(app, settings)
    return app


class _Assets(StaticFiles):
    """The vendored assets; a path the file system cannot even look up is not found."""

    def lookup_path(self, path: str) -> tuple[str, os.stat_result | None]:
        if "\x00" in path:  # os.stat raises ValueError on a NUL byte
            return "", None
        try:
            return super().lookup_path(path)
        except OSError:  # e.g. a name too long for the file system
            return "", None


def _include_cds(app: FastAPI) -> None:
    from locoreg.web import cds

    app.include_router(cds.router)
