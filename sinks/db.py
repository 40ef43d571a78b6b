"""PostgreSQL connections and migrations.

Migrations are plain SQL files applied in name order inside one transaction each, recorded in
`schema_migrations`, under an advisory lock so two processes starting together cannot race.
After them, every run applies `grants.sql` (the component roles' rights in this schema; a no-op
where those roles do not exist): tables a migration just made get their grants at once.

Both refuse a database host that no declared processor uses (`schemas.processors`), before
connecting: every PostgreSQL connection of every component is made here.
"""

from importlib import resources

import psycopg
from psycopg import sql

from schemas.processors import DestinationKind
from sinks.exceptions import DatabaseError
from sinks.settings import SinkSettings

_LOCK_ID = 0x636F6E73  # "cons"


def connect(settings: SinkSettings, *, autocommit: bool = False) -> psycopg.Connection:
    settings.check_destinations(DestinationKind.DATABASE)
    try:
        conn = psycopg.connect(settings.database_url.get_secret_value(), autocommit=autocommit,
                               connect_timeout=10)
    except psycopg.OperationalError as exc:
        raise DatabaseError(f"cannot connect to PostgreSQL: {exc.sqlstate or 'connection failed'}"
                            ) from exc
    conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(settings.db_schema)))
    if not autocommit:
        conn.commit()
    return conn


def _migration_files() -> list[tuple[str, str]]:
    root = resources.files("sinks") / "migrations"
    files = sorted((p for p in root.iterdir() if p.name.endswith(".sql")), key=lambda p: p.name)
    return [(p.name, p.read_text(encoding="utf-8")) for p in files]


def migrate(settings: SinkSettings) -> list[str]:
    """Apply pending migrations; return the names applied."""
    settings.check_destinations(DestinationKind.DATABASE)
    try:
        conn = psycopg.connect(settings.database_url.get_secret_value(), connect_timeout=10)
    except psycopg.OperationalError as exc:
        raise DatabaseError(f"cannot connect to PostgreSQL: {exc.sqlstate or 'connection failed'}"
                            ) from exc
    applied: list[str] = []
    schema = sql.Identifier(settings.db_schema)
    with conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_ID,))
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(schema))
        conn.execute(sql.SQL("SET search_path TO {}").format(schema))
        conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations ("
                     "name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())")
        conn.commit()
        done = {r[0] for r in conn.execute("SELECT name FROM schema_migrations")}
        for name, text in _migration_files():
            if name in done:
                continue
            try:
                with conn.transaction():
                    conn.execute(text)
                    conn.execute("INSERT INTO schema_migrations (name) VALUES (%s)", (name,))
            except psycopg.Error as exc:
                raise DatabaseError(f"migration {name} failed: {exc.sqlstate}") from exc
            applied.append(name)
        grants = (resources.files("sinks") / "grants.sql").read_text(encoding="utf-8")
        try:
            with conn.transaction():
                conn.execute(grants)
        except psycopg.Error as exc:
            raise DatabaseError(f"grants failed: {exc.sqlstate} {exc.diag.message_primary}"
                                ) from exc
        conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_ID,))
    return applied
