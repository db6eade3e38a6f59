"""`locoreg serve`: the web app, REST API and CDS Hooks service on uvicorn.

One process by default. ``--workers N`` (N > 1) starts N uvicorn worker processes and
needs a PostgreSQL audit store: the hash chain, the idempotency keys and the CDS Hooks
replay guard are shared through the database, and PostgreSQL lets several processes
write. A SQLite store is served by one process (its writes queue on one in-process
lock), and the server says so at start.
"""

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
        workers: int = typer.Option(
            1,
            "--workers",
            min=1,
            max=64,
            help="Worker processes (more than 1 needs a PostgreSQL --database).",
        ),
    ) -> None:
        """Start the web app, the REST API and the CDS Hooks service."""
        import logging
        import os

        import uvicorn
        from sqlalchemy.exc import ArgumentError, OperationalError

        from locoreg.cli._common import fail
        from locoreg.errors import InputError
        from locoreg.web.app import create_app
        from locoreg.web.settings import Settings, bound_url

        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
        logging.getLogger("alembic").setLevel(logging.WARNING)
        # The address given here is the service's own URL (the CDS Hooks JWT aud) unless
        # LOCOREG_PUBLIC_URL says otherwise; never the request's Host header. Exported for
        # worker processes that read their settings from the environment.
        listen = bound_url(host, port)
        os.environ.pop("LOCOREG_LISTEN_URL", None)
        if listen is not None:
            os.environ["LOCOREG_LISTEN_URL"] = listen
        try:
            settings = Settings.from_env(database_url=database)
        except InputError as exc:  # a malformed LOCOREG_* variable, named
            fail(exc)
        except ValueError as exc:
            fail(str(exc))
        if workers > 1 and settings.database_url.startswith("sqlite"):
            fail(
                "--workers: a SQLite audit store is served by one process; "
                "use a PostgreSQL --database for more workers"
            )
        try:
            # Opening the store here also migrates it, once, before any worker starts.
            web_app = create_app(settings)
        except (ArgumentError, OperationalError, ImportError) as exc:
            fail(f"--database: cannot open the audit store ({type(exc).__name__})")
        backend = web_app.state.store.backend
        if settings.cds_jwt_enabled and settings.cds.public_url is None:
            typer.echo(
                "locoreg: CDS Hooks tokens will be refused: bound to every interface and "
                "LOCOREG_PUBLIC_URL is unset (set it to the URL the EHR calls)",
                err=True,
            )
        if backend == "sqlite":
            typer.echo("locoreg: audit store on sqlite (single process; PostgreSQL for --workers)")
        else:
            typer.echo(f"locoreg: audit store on {backend}, {workers} worker process(es)")
        typer.echo(f"locoreg: serving on http://{host}:{port}/ (Ctrl+C to stop)", err=False)
        if workers == 1:
            uvicorn.run(web_app, host=host, port=port, log_level="info", access_log=False)
            return
        web_app.state.store.close()
        # Each worker builds its app from the environment: hand the URL over that way.
        os.environ["LOCOREG_DATABASE_URL"] = settings.database_url
        uvicorn.run(
            "locoreg.web.app:create_app",
            factory=True,
            workers=workers,
            host=host,
            port=port,
            log_level="info",
            access_log=False,
        )
