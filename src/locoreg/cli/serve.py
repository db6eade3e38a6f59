"""`locoreg serve`: the web app, REST API and CDS Hooks service on uvicorn."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        host: str = typer.Option(
            "127.0.0.1", "--host", help="Interface to bind (loopback by default)."
        ),
        port: int = typer.Option(8000, "--port", min=0, max=65535, help="TCP port."),
        database: str | None = typer.Option(
            None,
            "--database",
            help="SQLAlchemy URL of the audit store (default: LOCOREG_DATABASE_URL, "
            "else a SQLite file in the user data directory).",
        ),
    ) -> None:
        """Start the web app, the REST API and the CDS Hooks service."""
        import logging

        import uvicorn
        from sqlalchemy.exc import ArgumentError, OperationalError

        from locoreg.cli._common import fail
        from locoreg.errors import InputError
        from locoreg.web.app import create_app
        from locoreg.web.settings import Settings

        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
        logging.getLogger("alembic").setLevel(logging.WARNING)
        try:
            settings = Settings.from_env(database_url=database)
        except InputError as exc:  # a malformed LOCOREG_* variable, named
            fail(exc)
        try:
            web_app = create_app(settings)
        except (ArgumentError, OperationalError, ImportError) as exc:
            fail(f"--database: cannot open the audit store ({type(exc).__name__})")
        backend = web_app.state.store.backend
        typer.echo(f"locoreg: audit store on {backend}")
        typer.echo(f"locoreg: serving on http://{host}:{port}/ (Ctrl+C to stop)", err=False)
        uvicorn.run(web_app, host=host, port=port, log_level="info", access_log=False)

    @app.command("audit-export")
    def audit_export(
        output: str = typer.Option(
            "-", "--output", "-o", help="File to write (JSON lines); '-' is standard output."
        ),
        database: str | None = typer.Option(
            None,
            "--database",
            help="SQLAlchemy URL of the audit store (default: LOCOREG_DATABASE_URL, "
            "else the SQLite file in the user data directory).",
        ),
    ) -> None:
        """Export every stored assessment and CDS Hooks feedback as JSON lines."""
        import os
        import sys
        from pathlib import Path

        from sqlalchemy.exc import ArgumentError, OperationalError

        from locoreg.cli._common import fail
        from locoreg.store import AuditStore, default_database_url

        url = database or os.environ.get("LOCOREG_DATABASE_URL") or default_database_url()
        try:
            store = AuditStore(url)
        except (ArgumentError, OperationalError, ImportError) as exc:
            fail(f"--database: cannot open the audit store ({type(exc).__name__})")
        try:
            if output == "-":
                count = store.export_jsonl(sys.stdout)
            else:
                try:
                    with Path(output).open("w", encoding="utf-8") as fp:
                        count = store.export_jsonl(fp)
                except OSError as exc:
                    fail(f"--output: cannot write {output} ({exc.strerror})")
        finally:
            store.close()
        typer.echo(f"locoreg: exported {count} records", err=True)
