"""The audit store's commands: `locoreg audit-verify` and `locoreg audit-export`.

`audit-verify` checks the hash chain and names the first broken record. Exit codes: 0 the
chains are intact, 1 a record is broken (named on standard error), 2 bad input (no such
store, unusable URL). `audit-export` writes every stored record as strict JSON lines.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from locoreg.store import AuditStore

EXIT_BROKEN = 1
DATABASE_HELP = (
    "SQLAlchemy URL of the audit store (default: LOCOREG_DATABASE_URL, "
    "else the SQLite file in the user data directory)."
)


def _open_store(database: str | None, *, must_exist: bool = False) -> AuditStore:
    """The audit store named by ``--database`` (else the environment, else the default);
    exit 2 with a message when it cannot be opened (or, ``must_exist``, is not there)."""
    import os
    from pathlib import Path

    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, OperationalError

    from locoreg.cli._common import fail
    from locoreg.store import AuditStore, default_database_url

    url = database or os.environ.get("LOCOREG_DATABASE_URL") or default_database_url()
    if must_exist:
        try:
            parsed = make_url(url)
        except ArgumentError:
            fail("--database: not a SQLAlchemy database URL")
        if parsed.get_backend_name() == "sqlite":
            path = parsed.database
            if not path or path == ":memory:" or not Path(path).expanduser().is_file():
                fail(f"--database: no audit store at {path or ':memory:'}")
    try:
        return AuditStore(url)  # brings an older store to the current revision first
    except (ArgumentError, OperationalError, ImportError) as exc:
        fail(f"--database: cannot open the audit store ({type(exc).__name__})")


def register(app: typer.Typer) -> None:
    @app.command("audit-verify")
    def audit_verify(
        database: str | None = typer.Option(None, "--database", help=DATABASE_HELP),
    ) -> None:
        """Verify the audit trail's hash chain (assessments, then CDS Hooks feedback)."""
        store = _open_store(database, must_exist=True)
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

    @app.command("audit-export")
    def audit_export(
        output: str = typer.Option(
            "-", "--output", "-o", help="File to write (JSON lines); '-' is standard output."
        ),
        database: str | None = typer.Option(None, "--database", help=DATABASE_HELP),
    ) -> None:
        """Export every stored assessment and CDS Hooks feedback as JSON lines."""
        import sys
        from pathlib import Path

        from locoreg.cli._common import fail

        store = _open_store(database)
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
