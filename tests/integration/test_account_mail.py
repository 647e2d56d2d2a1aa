"""Password reset and email verification end to end, through the API, over real PostgreSQL
and Redis, with the mails received by a real SMTP server (aiosmtpd) started here, or
written to the mailbox folder when no server is set."""

from __future__ import annotations

import email
import re
import statistics
import time
from collections.abc import Iterator
from email.message import Message
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from infra.database import open_read_pool
from infra.mail.delivery import mail_policy
from infra.mail.smtp import SmtpMailer
from infra.postgres.sent_mails import PostgresSentMails
from infra.settings import Settings
from tests.fake_smtp import Inbox, smtp_server
from tests.integration.conftest import PASSWORD, prepared_settings
from tests.services import free_port
from write_side.identity.account_mail import AccountMail, MailDue
from write_side.identity.accounts import Accounts, Register
from write_side.mail.ports import MailNotSentError

TOKEN = re.compile(r"token=([0-9a-f]{32}\.[A-Za-z0-9_-]+)")
NEW_PASSWORD = "a brand new passphrase 7"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    with smtp_server() as found:
        yield found


def mail_settings(settings: Settings, port: int, **overrides: Any) -> Settings:
    return settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": port,
            "smtp_tls": "none",
            "mail_from": "Itinera <no-reply@itinera.test>",
            "public_base_url": "https://app.itinera.test",
            "mail_retry_backoff_seconds": 0.05,
            "password_reset_answer_seconds": 0.2,
            **overrides,
        }
    )


@pytest.fixture
def settings(
    database_url: str, redis_url: str, tmp_path: Path, smtp: tuple[Inbox, int]
) -> Settings:
    base = prepared_settings(database_url, redis_url, tmp_path)
    return mail_settings(base, smtp[1], password_resets_per_account=50)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


def body_of(message: Message) -> str:
    body = message.get_payload(decode=True)
    assert isinstance(body, bytes)
    return body.decode()


def token_of(message: Message) -> str:
    found = TOKEN.search(body_of(message))
    assert found, body_of(message)
    return found.group(1)


def log_in(client: TestClient, login: str, password: str = PASSWORD) -> int:
    return client.post(
        "/api/v1/auth/login/", json={"login": login, "password": password}
    ).status_code


def signup(client: TestClient, name: str) -> dict[str, Any]:
    body = {"email": f"{name}@example.org", "username": name, "password": PASSWORD}
    registered = client.post("/api/v1/auth/register/", json=body)
    assert registered.status_code == 201, registered.text
    tokens = client.post("/api/v1/auth/login/", json={"login": name, "password": PASSWORD})
    assert tokens.status_code == 200, tokens.text
    return {"id": registered.json()["data"]["id"], **tokens.json()["data"]}


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def error_code(response: Any, status: int) -> str:
    assert response.status_code == status, response.text
    return str(response.json()["error"]["code"])


def test_a_password_reset_end_to_end(client: TestClient, smtp: tuple[Inbox, int]) -> None:
    inbox, _ = smtp
    name = f"r{uuid4().hex[:8]}"
    session = signup(client, name)
    address = f"{name}@example.org"

    asked = client.post("/api/v1/auth/password-reset/", json={"email": address.upper()})
    assert asked.status_code == 202, asked.text
    mail = next(m for m in _wait_all(inbox, address, 2) if "password" in m["Subject"])
    token = token_of(mail)
    assert mail["From"] == "Itinera <no-reply@itinera.test>"
    assert re.fullmatch(r"<[0-9a-f-]{36}@itinera\.test>", mail["Message-ID"])
    assert f"https://app.itinera.test/reset-password#token={token}" in body_of(mail)

    weak = client.post(
        "/api/v1/auth/password-reset/confirm/",
        json={"token": token, "new_password": f"{name}-password-1"},
    )
    assert error_code(weak, 422) == "validation_failed"  # contains the username
    done = client.post(
        "/api/v1/auth/password-reset/confirm/", json={"token": token, "new_password": NEW_PASSWORD}
    )
    assert done.status_code == 200, done.text

    assert error_code(client.get("/api/v1/users/me", headers=bearer(session)), 401)
    refreshed = client.post(
        "/api/v1/auth/refresh/", json={"refresh_token": session["refresh_token"]}
    )
    assert error_code(refreshed, 401) == "unauthenticated"
    old = client.post("/api/v1/auth/login/", json={"login": name, "password": PASSWORD})
    assert error_code(old, 401) == "invalid_credentials"
    new = client.post("/api/v1/auth/login/", json={"login": name, "password": NEW_PASSWORD})
    assert new.status_code == 200, new.text

    again = client.post(
        "/api/v1/auth/password-reset/confirm/", json={"token": token, "new_password": NEW_PASSWORD}
    )
    assert error_code(again, 410) == "token_spent"
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    wrong = client.post(
        "/api/v1/auth/password-reset/confirm/", json={"token": forged, "new_password": NEW_PASSWORD}
    )
    assert error_code(wrong, 400) == "token_invalid"


def _wait_all(inbox: Inbox, address: str, count: int) -> list[Message]:
    inbox.wait_for(address, count)
    return inbox.to(address)


def test_known_and_unknown_addresses_get_the_same_answer_in_the_same_time(
    client: TestClient, smtp: tuple[Inbox, int]
) -> None:
    name = f"e{uuid4().hex[:8]}"
    signup(client, name)
    known, unknown = f"{name}@example.org", f"nobody-{name}@example.org"
    answers: dict[str, list[Any]] = {known: [], unknown: []}
    took: dict[str, list[float]] = {known: [], unknown: []}
    for _ in range(5):
        for address in (known, unknown):
            started = time.perf_counter()
            response = client.post("/api/v1/auth/password-reset/", json={"email": address})
            took[address].append(time.perf_counter() - started)
            answers[address].append((response.status_code, response.json()["data"]))
    assert answers[known] == answers[unknown]
    assert {status for status, _ in answers[known]} == {202}
    medians = [statistics.median(took[known]), statistics.median(took[unknown])]
    assert max(medians) / min(medians) < 1.5, took
    smtp[0].wait_for(known, 1 + 5)  # the verification, then five resets; nothing to the other
    assert smtp[0].to(unknown) == []


def test_reset_requests_are_throttled_alike_for_known_and_unknown_addresses(
    settings: Settings,
) -> None:
    throttled = settings.model_copy(update={"password_resets_per_account": 2})
    with TestClient(create_app(throttled), raise_server_exceptions=False) as client:
        name = f"t{uuid4().hex[:8]}"
        signup(client, name)
        for address in (f"{name}@example.org", f"ghost-{name}@example.org"):
            codes = [
                client.post("/api/v1/auth/password-reset/", json={"email": address}).status_code
                for _ in range(3)
            ]
            assert codes == [202, 202, 429], address


def test_an_expired_reset_token_is_refused(settings: Settings, smtp: tuple[Inbox, int]) -> None:
    short = settings.model_copy(update={"password_reset_ttl_seconds": 1})
    with TestClient(create_app(short), raise_server_exceptions=False) as client:
        name = f"x{uuid4().hex[:8]}"
        signup(client, name)
        client.post("/api/v1/auth/password-reset/", json={"email": f"{name}@example.org"})
        mails = _wait_all(smtp[0], f"{name}@example.org", 2)
        token = token_of(next(m for m in mails if "password" in m["Subject"]))
        time.sleep(1.1)  # the token's lifetime passing, not a wait for something to happen
        late = client.post(
            "/api/v1/auth/password-reset/confirm/",
            json={"token": token, "new_password": NEW_PASSWORD},
        )
        assert error_code(late, 410) == "token_expired"


def test_verification_at_registration_and_an_email_change(
    client: TestClient, smtp: tuple[Inbox, int]
) -> None:
    inbox, _ = smtp
    name, other = f"v{uuid4().hex[:8]}", f"w{uuid4().hex[:8]}"
    session, seeker = signup(client, name), signup(client, other)
    address = f"{name}@example.org"

    me = client.get("/api/v1/users/me", headers=bearer(session)).json()["data"]
    assert (me["email_verified"], me["pending_email"]) == (False, None)
    search = client.get("/api/v1/users/search", params={"q": address}, headers=bearer(seeker))
    assert search.json()["data"] == []  # unverified: not found by address

    verified = client.post(
        "/api/v1/auth/verify-email/", json={"token": token_of(inbox.wait_for(address))}
    )
    assert verified.status_code == 200, verified.text
    me = client.get("/api/v1/users/me", headers=bearer(session)).json()["data"]
    assert me["email_verified"] is True
    search = client.get("/api/v1/users/search", params={"q": address}, headers=bearer(seeker))
    assert [p["id"] for p in search.json()["data"]] == [session["id"]]

    taken = client.put(
        "/api/v1/users/me", json={"email": f"{other}@example.org"}, headers=bearer(session)
    )
    assert error_code(taken, 409) == "email_taken"
    moved = f"{name}@elsewhere.example"
    changed = client.put(
        "/api/v1/users/me", json={"first_name": "Vera", "email": moved}, headers=bearer(session)
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["data"]["email"], changed.json()["data"]["pending_email"]) == (
        address,
        moved,
    )
    token = token_of(inbox.wait_for(moved))
    assert (
        client.post(
            "/api/v1/auth/login/", json={"login": address, "password": PASSWORD}
        ).status_code
        == 200
    )

    confirmed = client.post("/api/v1/auth/verify-email/", json={"token": token})
    assert confirmed.json()["data"] == {"email": moved, "email_verified": True}
    assert (
        client.post("/api/v1/auth/login/", json={"login": moved, "password": PASSWORD}).status_code
        == 200
    )
    old = client.post("/api/v1/auth/login/", json={"login": address, "password": PASSWORD})
    assert error_code(old, 401) == "invalid_credentials"
    again = client.post("/api/v1/auth/verify-email/", json={"token": token})
    assert error_code(again, 410) == "token_spent"
    reuse = client.post(
        "/api/v1/auth/register/",
        json={"email": address, "username": f"n{uuid4().hex[:8]}", "password": PASSWORD},
    )
    assert reuse.status_code == 201, reuse.text  # the old address was released


def test_without_smtp_mails_land_in_the_mailbox_folder(
    database_url: str, redis_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = prepared_settings(database_url, redis_url, tmp_path).model_copy(
        update={"data_dir": tmp_path / "data"}
    )
    folder = tmp_path / "data" / "mailbox"
    caplog.set_level("INFO", logger="infra.mail")
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        name = f"m{uuid4().hex[:8]}"
        signup(client, name)
        deadline = time.monotonic() + 15
        while not list(folder.glob("*.eml")) and time.monotonic() < deadline:
            time.sleep(0.05)
    [written] = list(folder.glob("email-verification-*.eml"))
    mail = email.message_from_bytes(written.read_bytes())
    assert mail["To"] == f"{name}@example.org" and token_of(mail)
    assert str(written.resolve()) in caplog.text
    assert token_of(mail) not in caplog.text and f"{name}@example.org" not in caplog.text


@pytest.mark.anyio
async def test_the_process_manager_sends_once_per_event_across_restarts_and_retries(
    database_url: str, redis_url: str, tmp_path: Path, smtp: tuple[Inbox, int]
) -> None:
    from infra.identity.keys import KeyFolder
    from infra.identity.memory_stores import InMemoryRevocationStore
    from write_side.event_store import EventStore
    from write_side.identity.tokens import TokenService

    inbox, port = smtp
    settings = mail_settings(prepared_settings(database_url, redis_url, tmp_path), port)
    events = EventStore()
    accounts = Accounts(
        events, TokenService(KeyFolder(tmp_path / "keys"), InMemoryRevocationStore())
    )
    user_id = accounts.register(Register("pm@example.org", "pm-user", PASSWORD), uuid4())
    pool = await open_read_pool(settings)
    try:

        def process(mail_settings_: Settings) -> AccountMail:
            return AccountMail(
                events,
                SmtpMailer(mail_settings_),
                PostgresSentMails(pool),
                mail_policy(mail_settings_),
            )

        down = settings.model_copy(update={"smtp_port": free_port(), "mail_attempts": 2})
        with pytest.raises(MailNotSentError):
            await process(down).deliver(MailDue(user_id, 1))
        assert await process(settings).deliver(MailDue(user_id, 1))
        assert not await process(settings).deliver(MailDue(user_id, 1))  # a restart
        assert len(inbox.to("pm@example.org")) == 1
    finally:
        await pool.close()
