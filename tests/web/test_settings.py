"""Where the audit store lives and how the CDS Hooks JWT switch is read."""

from __future__ import annotations

from pathlib import Path

import pytest
from platformdirs import user_data_path

from locoreg.store import default_database_path, default_database_url
from locoreg.web.settings import Settings


def test_default_database_is_sqlite_in_the_user_data_directory() -> None:
    settings = Settings.from_env({})
    expected = user_data_path("locoreg", appauthor=False) / "audit.sqlite"
    assert default_database_path() == expected
    assert settings.database_url == default_database_url() == f"sqlite:///{expected}"


def test_environment_then_option_choose_the_database() -> None:
    pg = "postgresql+psycopg://locoreg@db.internal/locoreg"
    assert Settings.from_env({"LOCOREG_DATABASE_URL": pg}).database_url == pg
    chosen = Settings.from_env({"LOCOREG_DATABASE_URL": pg}, database_url="sqlite:///x.db")
    assert chosen.database_url == "sqlite:///x.db"  # --database wins over the variable


@pytest.mark.parametrize(
    ("value", "enabled"),
    [(None, True), ("on", True), ("OFF", False), ("0", False), ("false", False), ("no", False)],
)
def test_cds_jwt_is_on_unless_turned_off_explicitly(value: str | None, enabled: bool) -> None:
    env = {} if value is None else {"LOCOREG_CDS_JWT": value}
    assert Settings.from_env(env).cds_jwt_enabled is enabled


def test_examples_directory(tmp_path: Path) -> None:
    assert Settings.from_env({"LOCOREG_EXAMPLES_DIR": str(tmp_path)}).examples_dir == tmp_path
    default = Settings.from_env({}).examples_dir
    assert default is not None and (default / "palliative_bleeding.json").exists()


def test_jwt_off_is_logged_at_start(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from locoreg.web.app import create_app

    url = f"sqlite:///{tmp_path / 'a.sqlite'}"
    with caplog.at_level("WARNING", logger="locoreg.web"):
        app = create_app(Settings.from_env({"LOCOREG_CDS_JWT": "off"}, database_url=url))
    assert "JWT check is OFF" in caplog.text
    app.state.store.close()
    caplog.clear()
    with caplog.at_level("WARNING", logger="locoreg.web"):
        app = create_app(Settings.from_env({}, database_url=url))
    assert "JWT" not in caplog.text
    app.state.store.close()
