"""Account tokens, the User aggregate's reset and verification steps, and the account mail
process manager over an in-memory event store (the mailer and its record are fakes)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID, uuid4

import pytest

from infra.identity.keys import KeyFolder, rotate_key
from infra.identity.memory_stores import InMemoryRevocationStore
from write_side.context import CommandContext, event_id_of
from write_side.errors import EmailTakenError, InvalidCredentialsError
from write_side.event_store import EventStore
from write_side.identity import account_tokens
from write_side.identity.account_mail import AccountMail, MailDue, MailPolicy
from write_side.identity.accounts import Accounts, Register, UpdateProfile
from write_side.identity.errors import TokenExpiredError, TokenInvalidError, TokenSpentError
from write_side.identity.tokens import TokenPolicy, TokenService
from write_side.identity.user import User
from write_side.mail.ports import MailMessage, MailNotSentError

PASSWORD = "correct horse battery"
NOW = datetime(2030, 1, 1, tzinfo=UTC)
TOKEN = re.compile(r"token=([0-9a-f]{32}\.[A-Za-z0-9_-]+)")


class Outbox:
    """A mailer that keeps what it was given, failing the first `failures` times."""

    def __init__(self, failures: int = 0) -> None:
        self.sent: list[MailMessage] = []
        self.failures = failures

    async def send(self, message: MailMessage) -> None:
        if self.failures:
            self.failures -= 1
            raise MailNotSentError("421 try later")
        self.sent.append(message)


class Record:
    def __init__(self) -> None:
        self.keys: dict[UUID, str] = {}

    async def was_sent(self, key: UUID) -> bool:
        return key in self.keys

    async def record(self, key: UUID, message_id: str) -> None:
        self.keys[key] = message_id


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> KeyFolder:
    folder: Path = tmp_path_factory.mktemp("keys")
    rotate_key(folder)
    return KeyFolder(folder)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def events() -> EventStore:
    return EventStore()


@pytest.fixture
def accounts(events: EventStore, keys: KeyFolder, clock: Clock) -> Accounts:
    tokens = TokenService(keys, InMemoryRevocationStore(), TokenPolicy())
    return Accounts(events, tokens, clock=clock)


def postman(events: EventStore, outbox: Outbox, record: Record, clock: Clock) -> AccountMail:
    policy = MailPolicy(
        sender="Itinera <no-reply@example.org>",
        base_url="https://app.example.org/",
        reset_ttl=timedelta(minutes=15),
        verification_ttl=timedelta(hours=48),
        attempts=3,
        backoff_seconds=0.01,
    )
    return AccountMail(events, outbox, record, policy, clock=clock)


def register(accounts: Accounts, name: str = "ada") -> UUID:
    return accounts.register(Register(f"{name}@example.org", name, PASSWORD), uuid4())


def newest(events: EventStore, user_id: UUID) -> MailDue:
    version = events.newest_version(user_id)
    assert version is not None
    return MailDue(user_id, version)


def token_in(message: MailMessage) -> str:
    found = TOKEN.search(message.text)
    assert found, message.text
    return found.group(1)


def test_a_token_names_its_account_and_only_its_digest_is_kept() -> None:
    user_id = uuid4()
    token = account_tokens.new_token(user_id)
    assert account_tokens.user_of(token) == user_id
    assert account_tokens.new_token(user_id) != token
    assert len(account_tokens.digest_of(token)) == 64 and token not in account_tokens.digest_of(
        token
    )
    for malformed in ("", "abc", f"{user_id.hex}.", "z" * 32 + ".x", f"{user_id.hex}x.y"):
        with pytest.raises(TokenInvalidError):
            account_tokens.user_of(malformed)


def test_check_tells_expired_spent_and_invalid_apart() -> None:
    token = account_tokens.new_token(uuid4())
    pending = account_tokens.PendingToken(account_tokens.digest_of(token), NOW)
    assert account_tokens.check(token, pending, None, NOW - timedelta(seconds=1))
    with pytest.raises(TokenExpiredError):
        account_tokens.check(token, pending, None, NOW)
    with pytest.raises(TokenSpentError):
        account_tokens.check(token, None, account_tokens.digest_of(token), NOW)
    with pytest.raises(TokenInvalidError):
        account_tokens.check(account_tokens.new_token(uuid4()), pending, None, NOW)


@pytest.mark.anyio
async def test_a_reset_mails_a_token_that_works_once_and_the_last_one_wins(
    events: EventStore, accounts: Accounts, clock: Clock
) -> None:
    user_id = register(accounts)
    outbox, record = Outbox(), Record()
    mail = postman(events, outbox, record, clock)

    accounts.request_password_reset("ADA@example.org", uuid4())
    first = newest(events, user_id)
    assert await mail.deliver(first)
    accounts.request_password_reset("ada@example.org", uuid4())
    assert await mail.deliver(newest(events, user_id))
    older, newer = (token_in(m) for m in outbox.sent[-2:])
    assert outbox.sent[-1].recipient == "ada@example.org"
    assert outbox.sent[-2].message_id == f"<{first.key}@example.org>"
    assert "https://app.example.org/reset-password#token=" in outbox.sent[-1].text

    with pytest.raises(TokenInvalidError):
        accounts.reset_password(older, "a new password 42", uuid4())  # replaced
    accounts.reset_password(newer, "a new password 42", uuid4())
    with pytest.raises(TokenSpentError):
        accounts.reset_password(newer, "another password 42", uuid4())
    with pytest.raises(InvalidCredentialsError):
        accounts.login("ada", PASSWORD)
    assert accounts.login("ada", "a new password 42").user_id == user_id

    stored = [type(e).__name__ for e in events.repository.event_store.get(user_id)]
    assert stored[-5:] == [
        "PasswordResetRequested",
        "PasswordResetIssued",
        "PasswordResetRequested",
        "PasswordResetIssued",
        "PasswordReset",
    ]
    for event in events.repository.event_store.get(user_id):
        assert newer not in repr(vars(event)) and older not in repr(vars(event))


@pytest.mark.anyio
async def test_an_expired_reset_token_is_refused(
    events: EventStore, accounts: Accounts, clock: Clock
) -> None:
    user_id = register(accounts)
    outbox = Outbox()
    accounts.request_password_reset("ada@example.org", uuid4())
    await postman(events, outbox, Record(), clock).deliver(newest(events, user_id))
    clock.now = NOW + timedelta(minutes=15)
    with pytest.raises(TokenExpiredError):
        accounts.reset_password(token_in(outbox.sent[-1]), "a new password 42", uuid4())


def test_no_account_no_event_and_an_inactive_account_gets_no_reset(
    events: EventStore, accounts: Accounts
) -> None:
    user_id = register(accounts)
    accounts.request_password_reset("nobody@example.org", uuid4())
    accounts.deactivate(CommandContext(user_id, uuid4()))
    version = events.newest_version(user_id)
    accounts.request_password_reset("ada@example.org", uuid4())
    assert events.newest_version(user_id) == version


@pytest.mark.anyio
async def test_the_process_manager_sends_once_per_event_and_retries_with_backoff(
    events: EventStore, accounts: Accounts, clock: Clock
) -> None:
    user_id = register(accounts)
    registered = MailDue(user_id, 1)
    outbox, record = Outbox(failures=2), Record()
    assert await postman(events, outbox, record, clock).deliver(registered)
    assert len(outbox.sent) == 1 and record.keys == {
        event_id_of(user_id, 1): outbox.sent[0].message_id
    }
    # Run again (a restart: a new process manager, the same record): nothing more is sent.
    assert not await postman(events, outbox, record, clock).deliver(registered)
    assert len(outbox.sent) == 1

    failing = Outbox(failures=5)
    accounts.request_password_reset("ada@example.org", uuid4())
    with pytest.raises(MailNotSentError):
        await postman(events, failing, record, clock).deliver(newest(events, user_id))
    assert len(record.keys) == 1  # not recorded: the driver will try again


@pytest.mark.anyio
async def test_registration_verifies_and_an_email_change_waits_for_its_verification(
    events: EventStore, accounts: Accounts, clock: Clock
) -> None:
    user_id = register(accounts)
    outbox, record = Outbox(), Record()
    mail = postman(events, outbox, record, clock)
    context = CommandContext(user_id, uuid4())
    assert accounts.find_by_email("ada@example.org") is None  # unverified: not found

    await mail.deliver(MailDue(user_id, 1))
    assert outbox.sent[-1].recipient == "ada@example.org"
    accounts.verify_email(token_in(outbox.sent[-1]), uuid4())
    assert accounts.get_user(user_id).email_verified
    assert accounts.find_by_email("ADA@example.org") == user_id

    register(accounts, "bob")
    with pytest.raises(EmailTakenError):
        accounts.update_me(UpdateProfile("", "", "", ""), "bob@example.org", context)
    user = accounts.update_me(UpdateProfile("Ada", "", "", ""), "ada@new.example", context)
    assert (user.email, user.pending_email) == ("ada@example.org", "ada@new.example")
    await mail.deliver(newest(events, user_id))
    assert outbox.sent[-1].recipient == "ada@new.example"
    assert accounts.login("ada@example.org", PASSWORD).user_id == user_id  # not yet changed

    changed = accounts.verify_email(token_in(outbox.sent[-1]), uuid4())
    assert (changed.email, changed.pending_email, changed.email_verified) == (
        "ada@new.example",
        None,
        True,
    )
    assert accounts.login("ada@new.example", PASSWORD).user_id == user_id
    with pytest.raises(InvalidCredentialsError):
        accounts.login("ada@example.org", PASSWORD)
    # The old address was released: someone else may have it now.
    carol = accounts.register(Register("ada@example.org", "carol", PASSWORD), uuid4())
    assert accounts.login("ada@example.org", PASSWORD).user_id == carol


@pytest.mark.anyio
async def test_a_new_address_taken_meanwhile_is_refused_at_verification(
    events: EventStore, accounts: Accounts, clock: Clock
) -> None:
    user_id = register(accounts)
    outbox = Outbox()
    accounts.update_me(
        UpdateProfile("", "", "", ""), "new@example.org", CommandContext(user_id, uuid4())
    )
    await postman(events, outbox, Record(), clock).deliver(newest(events, user_id))
    accounts.register(Register("new@example.org", "squatter", PASSWORD), uuid4())
    with pytest.raises(EmailTakenError):
        accounts.verify_email(token_in(outbox.sent[-1]), uuid4())
    assert accounts.get_user(user_id).email == "ada@example.org"


@pytest.mark.anyio
async def test_a_superseded_change_mails_nothing_and_its_link_stops_working(
    events: EventStore, accounts: Accounts, clock: Clock
) -> None:
    user_id = register(accounts)
    outbox = Outbox()
    mail = postman(events, outbox, Record(), clock)
    context = CommandContext(user_id, uuid4())
    accounts.update_me(UpdateProfile("", "", "", ""), "one@example.org", context)
    first = newest(events, user_id)
    await mail.deliver(first)
    accounts.update_me(UpdateProfile("", "", "", ""), "two@example.org", context)
    with pytest.raises(TokenInvalidError):
        accounts.verify_email(token_in(outbox.sent[-1]), uuid4())
    sent = len(outbox.sent)
    user = events.find(user_id, User)
    assert user is not None and user.pending_email == "two@example.org"
    assert not await postman(events, outbox, Record(), clock).deliver(first)  # stale: nothing
    assert len(outbox.sent) == sent
