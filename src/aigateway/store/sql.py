"""The SQL store: SQLite by default (file in the data directory), PostgreSQL by URL.

Invariant: the schema is only ever changed by the Alembic migrations in `migrations/`;
`open_store` brings a database up to head before anything reads it, one process at a time on
PostgreSQL (an advisory lock), so replicas may start together.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

_MIGRATIONS = Path(__file__).with_name("migrations")
HEAD = "0008"  # the newest migration (a test checks it against Alembic's own head)


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    cur = dbapi_conn.cursor()
    # WAL lets the CLI read and write while the server holds the file.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.close()


def make_engine(url: str) -> AsyncEngine:
    for plain in ("postgresql://", "postgres://"):  # the usual spellings mean our async driver
        if url.startswith(plain):
            url = "postgresql+asyncpg://" + url.removeprefix(plain)
    engine = create_async_engine(url, pool_pre_ping=not url.startswith("sqlite"))
    if engine.dialect.name == "sqlite":
        path = engine.url.database
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def _upgrade(conn: Connection) -> None:
    """Brings the schema to head; Alembic (slow to import, heavy in memory) is loaded only when
    the database is not at head already, which is every start but the first after an upgrade."""
    at = text("SELECT version_num FROM alembic_version")
    if inspect(conn).has_table("alembic_version") and conn.execute(at).scalar_one_or_none() == HEAD:
        return
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, "head")


async def open_store(url: str) -> AsyncEngine:
    engine = make_engine(url)
    async with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            # Replicas starting together: one migrates, the others wait, then find the schema at head.
            await conn.execute(text("SELECT pg_advisory_xact_lock(7243501)"))
        await conn.run_sync(_upgrade)
    return engine
