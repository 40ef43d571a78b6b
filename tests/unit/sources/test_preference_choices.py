"""Reading current choices for the preference centre, without a database.

The real function and role are proved on PostgreSQL in
tests/integration/test_preference_centre.py; here the mapping from rows to ticks, and that an
unreachable database becomes `ChoicesUnavailable` within the timeout (a 503 page), not a hang.
"""

import asyncio
import socket
import time

import pytest
from pydantic import SecretStr

from schemas.exceptions import ConsentError
from schemas.purposes import MARKETING_PURPOSES, Purpose
from sources.settings import SourceSettings
from sources.unsubscribe.choices import ChoicesUnavailable, PostgresChoices, choices_of

ALL_ALLOWED = [(p.value, "allowed") for p in Purpose]


def test_only_allowed_is_ticked() -> None:
    rows = dict(ALL_ALLOWED) | {"special_offers": "purpose_withdrawn", "newsletter": "unconfirmed",
                                "new_products": "opted_out"}
    assert choices_of(rows.items()) == {
        Purpose.PRODUCT_UPDATES: True, Purpose.SPECIAL_OFFERS: False,
        Purpose.SUPPORT_NOTICES: True, Purpose.NEW_PRODUCTS: False, Purpose.NEWSLETTER: False}


def test_transactional_is_no_choice() -> None:
    assert Purpose.TRANSACTIONAL not in choices_of(ALL_ALLOWED)
    assert set(choices_of(ALL_ALLOWED)) == set(MARKETING_PURPOSES)


@pytest.mark.parametrize("rows", [[], [("product_updates", "allowed")],
                                  [r for r in ALL_ALLOWED if r[0] != "newsletter"]])
def test_an_unknown_contact_is_unavailable_not_unsubscribed(rows: list[tuple[str, str]]) -> None:
    with pytest.raises(ChoicesUnavailable):
        choices_of(rows)


def test_a_reader_needs_a_database() -> None:
    with pytest.raises(ConsentError):
        PostgresChoices(SourceSettings(key_secret=SecretStr("s")))


def test_empty_database_url_means_none() -> None:
    assert SourceSettings(key_secret=SecretStr("s"), database_url="").database_url is None


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_unreachable_database_is_unavailable_within_the_timeout() -> None:
    settings = SourceSettings(
        key_secret=SecretStr("s"), unsubscribe_db_timeout_s=0.5,
        database_url=SecretStr(f"postgresql://u:p@127.0.0.1:{_closed_port()}/consent"))

    async def main() -> float:
        reader = PostgresChoices(settings)
        await reader.open()
        started = time.monotonic()
        try:
            with pytest.raises(ChoicesUnavailable):
                await reader("0" * 64)
        finally:
            await reader.close()
        return time.monotonic() - started

    assert asyncio.run(main()) < 5
