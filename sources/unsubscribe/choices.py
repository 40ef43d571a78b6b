"""A person's current choices, read from PostgreSQL for the preference centre.

Why PostgreSQL and not the `consent-state` topic: the page needs one contact's row, and Kafka
has no lookup by key. Reading `consent-state` would mean READ on every contact's full state
(event ids, sources, rules) for an internet-facing process, and a consumer that holds the
whole compacted table in memory to answer for one person. The PostgreSQL sink already keeps
`consent_current` (status per contact and purpose), indexed by contact key.

Why a function and not SELECT: the endpoint's role `consent_unsubscribe` may only EXECUTE
`preference_choices(key)` (migration 005, `sinks/grants.sql`), a SECURITY DEFINER function
that answers for the one key it is given. The role has no right on any table: it cannot list
contacts, nor read the ledger, profiles, addresses or mail decisions. Its Kafka principal
stays as it was (WRITE on `preferences` only).

The row lags the consent agent by the sink's batch (about a second). That is why the
preference centre publishes only what the person changed against what the page showed them,
never a difference against a fresh read: a stale page then changes nothing the person did not
touch.
"""

import logging
from collections.abc import Awaitable, Callable, Iterable

import psycopg
from psycopg import sql
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from schemas.exceptions import ConsentError
from schemas.purposes import MARKETING_PURPOSES, Purpose
from sources.settings import SourceSettings

log = logging.getLogger("consent.sources.unsubscribe.choices")

ReadChoices = Callable[[str], Awaitable[dict[Purpose, bool]]]
"""read(contact_key): whether each marketing purpose may be mailed now; raises `ChoicesUnavailable`."""

FUNCTION = "preference_choices"
"""The database function (per schema) the endpoint's role may execute, and nothing else."""


class ChoicesUnavailable(ConsentError):
    """The current choices cannot be read now (database down, slow, or no row yet)."""


def choices_of(rows: Iterable[tuple[str, str]]) -> dict[Purpose, bool]:
    """Rows (purpose, status) → the page's ticks: ticked only where mail is `allowed` now.

    Every other status (withdrawn, opted out, unconfirmed, not opted in, erased) is unticked,
    so ticking it is an explicit grant. A contact without a row for every marketing purpose is
    not known yet (the sink has not caught up): that is unavailable, not "all unticked",
    which would tell a subscribed person they receive nothing.
    """
    status = dict(rows)
    if any(p.value not in status for p in MARKETING_PURPOSES):
        raise ChoicesUnavailable("no current choices for this contact yet")
    return {p: status[p.value] == "allowed" for p in MARKETING_PURPOSES}


class PostgresChoices:
    """`ReadChoices` over a small connection pool, opened without waiting for the database.

    The pool opens in the background, so the one-click routes (which never need PostgreSQL)
    serve even when the database is down; only the preference centre answers 503 then.
    """

    def __init__(self, settings: SourceSettings) -> None:
        if settings.database_url is None:
            raise ConsentError("the preference centre needs CONSENT_DATABASE_URL")
        timeout = settings.unsubscribe_db_timeout_s
        self._query = sql.SQL("SELECT purpose, status FROM {}.{}(%s)").format(
            sql.Identifier(settings.db_schema), sql.Identifier(FUNCTION))
        self._pool = AsyncConnectionPool(
            settings.database_url.get_secret_value(), min_size=1, max_size=4, open=False,
            timeout=timeout, name="preference-choices",
            # a connection broken by a database restart is replaced, not handed to a request
            check=AsyncConnectionPool.check_connection,
            kwargs={"autocommit": True, "connect_timeout": max(2, int(timeout))})

    async def open(self) -> None:
        await self._pool.open(wait=False)

    async def close(self) -> None:
        await self._pool.close()

    async def __call__(self, contact_key: str) -> dict[Purpose, bool]:
        try:
            async with self._pool.connection() as conn:
                cur = await conn.execute(self._query, (contact_key,))
                rows = await cur.fetchall()
        except (psycopg.Error, PoolTimeout) as exc:
            # the type and SQLSTATE only: a message may quote the query's argument
            state = getattr(exc, "sqlstate", None) or "-"
            log.warning("reading current choices failed: %s (%s)", type(exc).__name__, state)
            raise ChoicesUnavailable("the current choices cannot be read now") from exc
        return choices_of((str(p), str(s)) for p, s in rows)
