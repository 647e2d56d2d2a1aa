from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import pytest

from infra.database import build_event_store, prepare_database
from infra.identity.keys import KeyFolder, rotate_key
from infra.identity.memory_stores import InMemoryRevocationStore
from infra.settings import Settings
from tests.integration.test_postgres_event_store import run_together
from write_side.errors import EmailTakenError, UsernameTakenError
from write_side.identity.accounts import Accounts, Register
from write_side.identity.tokens import TokenService


@pytest.fixture
def accounts(database_url: str, tmp_path: Path) -> Iterator[Accounts]:
    settings = Settings(database_url=database_url)
    prepare_database(settings)
    rotate_key(tmp_path)
    events = build_event_store(settings)
    yield Accounts(events, TokenService(KeyFolder(tmp_path), InMemoryRevocationStore()))
    events.close()


def test_simultaneous_registrations_of_one_email_let_exactly_one_win(accounts: Accounts) -> None:
    results = run_together(
        *(
            lambda n=n: accounts.register(
                Register("same@example.org", f"user{n}", "correct horse battery"), uuid4()
            )
            for n in range(6)
        )
    )
    winners = [r for r in results if not isinstance(r, Exception)]
    assert len(winners) == 1
    assert all(isinstance(r, EmailTakenError) for r in results if isinstance(r, Exception))
    assert accounts.login("same@example.org", "correct horse battery").user_id == winners[0]


def test_simultaneous_registrations_of_one_username_let_exactly_one_win(
    accounts: Accounts,
) -> None:
    results = run_together(
        *(
            lambda n=n: accounts.register(
                Register(
                    f"u{n}@example.org", "Popular" if n % 2 else "popular", "correct horse battery"
                ),
                uuid4(),
            )
            for n in range(6)
        )
    )
    assert sum(not isinstance(r, Exception) for r in results) == 1
    assert all(isinstance(r, UsernameTakenError) for r in results if isinstance(r, Exception))
