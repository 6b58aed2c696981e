"""The `INSERT ... ON CONFLICT` of the store's dialect, importing only that dialect's module
(SQLAlchemy's PostgreSQL dialect is 2 MiB a SQLite gateway does not need, and the reverse)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlalchemy import Table

if TYPE_CHECKING:
    from sqlalchemy.dialects import postgresql, sqlite

    Insert = postgresql.Insert | sqlite.Insert


def insert_for(dialect: str) -> Callable[[Table], Insert]:
    """`insert(table)` with `on_conflict_do_*` for a "postgresql" or "sqlite" engine."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert
