"""Account mails in distributed mode: the API only records the request; the Faust worker, a
real process, issues the token and mails it through a real SMTP server; the link's token then
works through the API, once."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import httpx
import pytest

from tests.e2e.processes import PASSWORD
from tests.e2e.stack import Stack, distributed_stack
from tests.fake_smtp import Inbox, smtp_server

pytestmark = pytest.mark.e2e

TOKEN = re.compile(r"token=([0-9a-f]{32}\.[A-Za-z0-9_-]+)")
NEW_PASSWORD = "a brand new passphrase 9"


@pytest.fixture(scope="module")
def smtp() -> Iterator[tuple[Inbox, int]]:
    with smtp_server() as found:
        yield found


@pytest.fixture(scope="module")
def stack(
    postgres_admin_url: str,
    kafka_bootstrap: str,
    redis_url: str,
    tmp_path_factory: Any,
    smtp: tuple[Inbox, int],
) -> Iterator[Stack]:
    env = {
        "ITINERA_SMTP_HOST": "127.0.0.1",
        "ITINERA_SMTP_PORT": str(smtp[1]),
        "ITINERA_SMTP_TLS": "none",
        "ITINERA_MAIL_FROM": "Itinera <no-reply@itinera.test>",
        "ITINERA_PUBLIC_BASE_URL": "https://app.itinera.test",
    }
    with distributed_stack(
        postgres_admin_url, kafka_bootstrap, redis_url, tmp_path_factory, extra_env=env
    ) as running:
        yield running


def token_in(message: Any) -> str:
    body = message.get_payload(decode=True).decode()
    found = TOKEN.search(body)
    assert found, body
    return found.group(1)


def test_the_worker_mails_verification_and_reset_links_that_work_once(
    stack: Stack, smtp: tuple[Inbox, int]
) -> None:
    inbox = smtp[0]
    name = f"m{uuid4().hex[:10]}"
    address = f"{name}@example.org"
    with httpx.Client(base_url=stack.base_url, timeout=30) as client:
        registered = client.post(
            "/api/v1/auth/register/",
            json={"email": address, "username": name, "password": PASSWORD},
        )
        assert registered.status_code == 201, registered.text

        verification = token_in(inbox.wait_for(address, 1, timeout=60))
        verified = client.post("/api/v1/auth/verify-email/", json={"token": verification})
        assert verified.status_code == 200, verified.text
        session = client.post("/api/v1/auth/login/", json={"login": name, "password": PASSWORD})
        headers = {"Authorization": f"Bearer {session.json()['data']['access_token']}"}
        deadline = time.monotonic() + 30
        while not client.get("/api/v1/users/me/", headers=headers).json()["data"]["email_verified"]:
            assert time.monotonic() < deadline, "email_verified never shown"
            time.sleep(0.1)

        asked = client.post("/api/v1/auth/password-reset/", json={"email": address})
        assert asked.status_code == 202, asked.text
        reset = token_in(inbox.wait_for(address, 2, timeout=60))
        body = {"token": reset, "new_password": NEW_PASSWORD}
        done = client.post("/api/v1/auth/password-reset/confirm/", json=body)
        assert done.status_code == 200, done.text
        again = client.post("/api/v1/auth/password-reset/confirm/", json=body)
        assert again.status_code == 410 and again.json()["error"]["code"] == "token_spent"
        assert client.get("/api/v1/users/me/", headers=headers).status_code == 401
        relogin = client.post("/api/v1/auth/login/", json={"login": name, "password": NEW_PASSWORD})
        assert relogin.status_code == 200, relogin.text
    assert len(inbox.to(address)) == 2  # one mail per event, though the worker may redeliver
