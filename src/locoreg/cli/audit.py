"""`locoreg audit-verify`: check the audit store's hash chain, name the first broken record.

Exit codes: 0 the chains are intact, 1 a record is broken (named on standard error),
2 bad input (no such store, unusable URL).
"""

from __future__ import annotations

import typer

EXIT_BROKEN = 1


def register(app: typer.Typer) -> None:
    @app.command("audit-verify")
    def audit_verify(
        database: str | None = typer.Option(
            None,
            "--database",
            help="SQLAlchemy URL of the audit store (default: LOCOREG_DATABASE_URL, "
            "else the SQLite file in the user data directory).",
        ),
    ) -> None:
        """Verify the audit trail's hash chain (assessments, then CDS Hooks feedback)."""
        import os
        from pathlib import Path

        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError, OperationalError

        from locoreg.cli._common import fail
        from locoreg.store import AuditStore, default_database_url

        url = database or os.environ.get("LOCOREG_DATABASE_URL") or default_database_url()
        try:
            parsed = make_url(url)
        except ArgumentError:
            fail("--database: not a SQLAlchemy database URL")
        if parsed.get_backend_name() == "sqlite":
            path = parsed.database
            if not path or path == ":memory:" or not Path(path).expanduser().is_file():
                fail(f"--database: no audit store at {path or ':memory:'}")
        try:
            store = AuditStore(url)  # brings an older store to the chained revision first
        except (ArgumentError, OperationalError, ImportError) as exc:
            fail(f"--database: cannot open the audit store ({type(exc).__name__})")
        try:
            report = store.verify_chain()
        finally:
            store.close()
        if report.broken is not None:
            typer.echo(f"audit chain BROKEN at {report.broken}", err=True)
            raise typer.Exit(EXIT_BROKEN)
        counts = ", ".join(f"{n} {table}" for table, n in report.counts.items())
        typer.echo(f"audit chain intact: {counts}")
        for table, head in report.heads.items():
            # Keep the heads elsewhere: they anchor the chain against a complete rewrite.
            typer.echo(f"head {table} {head}")
