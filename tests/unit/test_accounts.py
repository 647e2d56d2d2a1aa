from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest

from infra.identity.keys import KeyFolder, rotate_key
from infra.identity.memory_stores import InMemoryRevocationStore
from streams.outbox import OutboxReader
from streams.position import START
from tests import forgery
from write_side.context import CommandContext, acting_as
from write_side.errors import (
    AuthenticationError,
    ConcurrencyConflictError,
    EmailTakenError,
    InvalidCredentialsError,
    UsernameTakenError,
)
from write_side.event_store import EventStore
from write_side.identity.accounts import Accounts, Register, UpdateProfile
from write_side.identity.tokens import TokenPolicy, TokenService
from write_side.identity.user import User

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> KeyFolder:
    folder: Path = tmp_path_factory.mktemp("keys")
    rotate_key(folder)
    return KeyFolder(folder)


@pytest.fixture
def accounts(keys: KeyFolder) -> Accounts:
    return Accounts(EventStore(), TokenService(keys, InMemoryRevocationStore(), TokenPolicy()))


def register(accounts: Accounts, name: str = "ada") -> UUID:
    return accounts.register(Register(f"{name}@example.org", name, PASSWORD, "Ada", "L"), uuid4())


def test_a_registered_user_logs_in_by_email_or_username(accounts: Accounts) -> None:
    user_id = register(accounts)
    by_email = accounts.login("ADA@example.org", PASSWORD)
    by_name = accounts.login("Ada", PASSWORD)
    assert by_email.user_id == by_name.user_id == user_id
    assert accounts.authenticate(by_email.tokens.access_token).user_id == user_id


def test_emails_and_usernames_are_unique_whatever_their_case(accounts: Accounts) -> None:
    register(accounts, "ada")
    with pytest.raises(EmailTakenError):
        accounts.register(Register("ADA@example.org", "other", PASSWORD), uuid4())
    with pytest.raises(UsernameTakenError):
        accounts.register(Register("other@example.org", "ADA", PASSWORD), uuid4())


@pytest.mark.parametrize("login", ["ada@example.org", "nobody@example.org", "nobody"])
def test_a_wrong_login_or_password_is_one_error(accounts: Accounts, login: str) -> None:
    register(accounts)
    with pytest.raises(InvalidCredentialsError):
        accounts.login(login, "not the password")


def test_no_password_or_hash_leaves_the_event_store(accounts: Accounts) -> None:
    user_id = register(accounts)
    context = CommandContext(actor_id=user_id, correlation_id=uuid4())
    accounts.update_profile(UpdateProfile("Ada", "Lovelace", "Maths", ""), context)
    accounts.change_password(PASSWORD, "another good password", context)
    published = OutboxReader(accounts._events).read_after(START, 100).messages
    assert [m.event.event_type for m in published] == [
        "UserRegistered",
        "UserProfileUpdated",
        "UserPasswordChanged",
    ]
    wire = b" ".join(m.event.model_dump_json().encode() for m in published)
    assert b"argon2" not in wire and PASSWORD.encode() not in wire
    assert b"ada@example.org" not in wire


def test_refresh_rotates_and_a_reused_refresh_token_revokes_the_family(keys: KeyFolder) -> None:
    now = [time.time()]
    tokens = TokenService(keys, InMemoryRevocationStore(), TokenPolicy(), clock=lambda: now[0])
    accounts = Accounts(EventStore(), tokens)
    register(accounts)
    first = accounts.login("ada", PASSWORD).tokens
    now[0] += 1
    second = accounts.refresh(first.refresh_token).tokens
    now[0] += TokenPolicy().refresh_grace_seconds + 1
    with pytest.raises(AuthenticationError):
        accounts.refresh(first.refresh_token)  # stolen copy replayed after the grace
    with pytest.raises(AuthenticationError):
        accounts.refresh(second.refresh_token)  # so the legitimate holder is logged out too


def test_a_refresh_retried_within_the_grace_gets_the_same_pair(keys: KeyFolder) -> None:
    now = [time.time()]
    tokens = TokenService(keys, InMemoryRevocationStore(), TokenPolicy(), clock=lambda: now[0])
    accounts = Accounts(EventStore(), tokens)
    register(accounts)
    first = accounts.login("ada", PASSWORD).tokens
    second = accounts.refresh(first.refresh_token).tokens
    now[0] += TokenPolicy().refresh_grace_seconds - 1
    assert accounts.refresh(first.refresh_token).tokens == second  # the reply was lost
    assert accounts.refresh(second.refresh_token).tokens != second  # and the family lives on


def test_logout_revokes_the_access_token_and_the_refresh_family(accounts: Accounts) -> None:
    register(accounts)
    tokens = accounts.login("ada", PASSWORD).tokens
    claims = accounts.authenticate(tokens.access_token)
    accounts.logout(claims, tokens.refresh_token)
    with pytest.raises(AuthenticationError):
        accounts.authenticate(tokens.access_token)
    with pytest.raises(AuthenticationError):
        accounts.refresh(tokens.refresh_token)


def test_a_password_change_ends_every_other_session(accounts: Accounts) -> None:
    user_id = register(accounts)
    old = accounts.login("ada", PASSWORD).tokens
    context = CommandContext(actor_id=user_id, correlation_id=uuid4())
    new = accounts.change_password(PASSWORD, "another good password", context)
    with pytest.raises(AuthenticationError):
        accounts.authenticate(old.access_token)
    assert accounts.authenticate(new.access_token).user_id == user_id
    with pytest.raises(InvalidCredentialsError):
        accounts.login("ada", PASSWORD)
    assert accounts.login("ada", "another good password").user_id == user_id


def test_a_deactivated_user_can_neither_use_tokens_nor_log_in(accounts: Accounts) -> None:
    user_id = register(accounts)
    tokens = accounts.login("ada", PASSWORD).tokens
    accounts.deactivate(CommandContext(actor_id=user_id, correlation_id=uuid4()))
    with pytest.raises(AuthenticationError):
        accounts.authenticate(tokens.access_token)
    with pytest.raises(AuthenticationError):
        accounts.refresh(tokens.refresh_token)
    with pytest.raises(InvalidCredentialsError):
        accounts.login("ada", PASSWORD)


@pytest.mark.parametrize(
    "forge",
    [
        forgery.alg_none,
        forgery.hs256_with_public_key,
        forgery.expired,
        forgery.unknown_kid,
        forgery.signed_by_a_stranger_with_our_kid,
    ],
)
def test_forged_tokens_are_refused(accounts: Accounts, keys: KeyFolder, forge: object) -> None:
    user_id = register(accounts)
    with pytest.raises(AuthenticationError):
        accounts.authenticate(forge(keys(), user_id))  # type: ignore[operator]


def test_tampered_tokens_and_a_refresh_token_used_as_access_are_refused(
    accounts: Accounts,
) -> None:
    register(accounts)
    tokens = accounts.login("ada", PASSWORD).tokens
    for token in (
        forgery.tampered_signature(tokens.access_token),
        forgery.tampered_claims(tokens.access_token, uuid4()),
        tokens.refresh_token,
        "not.a.token",
        "",
    ):
        with pytest.raises(AuthenticationError):
            accounts.authenticate(token)


class RacingStore(EventStore):
    """An event store in which another writer of the account (the account mail process
    manager recording a mailed token) saves it just before the next `races` saves."""

    def __init__(self) -> None:
        super().__init__()
        self.races = 0
        self.racer: Callable[[EventStore], None] = lambda store: None

    def save(self, *objs: Any, **kwargs: Any) -> Any:
        if self.races > 0:
            self.races -= 1
            self.racer(self)
        return super().save(*objs, **kwargs)


def resend_meanwhile(user_id: UUID, context: CommandContext) -> Callable[[EventStore], None]:
    """The other writer: it asks for a new verification link, as a resend would."""

    def race(store: EventStore) -> None:
        user = store.find(user_id, User)
        assert user is not None
        with acting_as(context):
            user.request_email_verification()
        EventStore.save(store, user)

    return race


@pytest.mark.parametrize("racing_saves", [1, 4])
def test_an_account_change_racing_another_writer_runs_again_on_the_fresh_account(
    keys: KeyFolder, racing_saves: int
) -> None:
    store = RacingStore()
    accounts = Accounts(store, TokenService(keys, InMemoryRevocationStore(), TokenPolicy()))
    user_id = register(accounts)
    context = CommandContext(actor_id=user_id, correlation_id=uuid4())

    store.racer, store.races = resend_meanwhile(user_id, context), racing_saves
    version = accounts.get_user(user_id).version
    accounts.update_profile(UpdateProfile("Augusta", "King", "", ""), context)
    accounts.change_password(PASSWORD, "another good password", context)
    user = accounts.get_user(user_id)
    assert (user.first_name, user.version) == ("Augusta", version + racing_saves + 2)
    assert accounts.login("ada", "another good password").user_id == user_id


def test_an_account_change_that_keeps_racing_is_a_conflict_not_an_error(keys: KeyFolder) -> None:
    store = RacingStore()
    accounts = Accounts(store, TokenService(keys, InMemoryRevocationStore(), TokenPolicy()))
    user_id = register(accounts)
    context = CommandContext(actor_id=user_id, correlation_id=uuid4())

    store.racer, store.races = resend_meanwhile(user_id, context), 100
    with pytest.raises(ConcurrencyConflictError):
        accounts.deactivate(context)
    assert accounts.get_user(user_id).is_active
