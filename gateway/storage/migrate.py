"""Bring a database to the newest schema with Alembic (``gateway db upgrade``)."""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

from gateway.storage.db import write_transaction

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Run the migrations on ``engine`` (idempotent: an up-to-date database is left as is)."""
    cfg = alembic_config()
    with write_transaction(engine) as connection:   # the write lock from BEGIN, as before
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)
