"""The bodies the handlers build themselves (the document's models are never applied to them)
match what the OpenAPI document declares: real calls over real PostgreSQL and Redis, each
body validated against the schema of its path, method and status."""

from __future__ import annotations

import copy
import email
import time
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
from fastapi.testclient import TestClient
from jsonschema import Draft202012Validator

from infra.settings import Settings
from tests.e2e.proxy import CuttableProxy
from tests.integration.conftest import PASSWORD
from tests.integration.test_account_mail import NEW_PASSWORD, token_of
from tests.integration.test_avatars import picture


def closed(node: Any) -> Any:
    """The schemas with every object that lists its properties closed to others: a field a
    handler adds and the document lacks fails here (the published document stays open)."""
    if isinstance(node, list):
        return [closed(item) for item in node]
    if not isinstance(node, dict):
        return node
    found = {key: closed(value) for key, value in node.items()}
    if "properties" in found and "additionalProperties" not in found:
        found["additionalProperties"] = False
    return found


class Document:
    def __init__(self, client: TestClient) -> None:
        self.spec = client.app.openapi()  # type: ignore[attr-defined]
        self.components = closed(copy.deepcopy(self.spec["components"]))

    def data(self, response: httpx.Response, status: int) -> Any:
        """`response`'s data, once its whole body is valid against the declared schema."""
        assert response.status_code == status, response.text
        operation = self.spec["paths"][response.request.url.path][response.request.method.lower()]
        declared = operation["responses"][str(status)]["content"]["application/json"]["schema"]
        assert declared, f"{response.request.method} {response.request.url.path}: no schema"
        validator = Draft202012Validator(
            {**declared, "components": self.components},
            format_checker=Draft202012Validator.FORMAT_CHECKER,
        )
        body = response.json()
        validator.validate(body)
        return body["data"]


def mailed_tokens(folder: Path, kind: str, to: str, count: int = 1) -> list[str]:
    """The tokens of the `count` mails of `kind` to `to`, once all are written (the process
    manager writes each a moment after its event, having saved the account's new token)."""
    deadline = time.monotonic() + 15
    while True:
        mails = [email.message_from_bytes(p.read_bytes()) for p in folder.glob(f"{kind}-*.eml")]
        tokens = [token_of(mail) for mail in mails if mail["To"] == to]
        if len(tokens) >= count:
            return tokens
        assert time.monotonic() < deadline, f"{len(tokens)} {kind} mails to {to}, not {count}"
        time.sleep(0.05)


def test_every_identity_answer_matches_the_document(
    client: TestClient, api_settings: Settings
) -> None:
    doc, mailbox = Document(client), api_settings.mailbox_folder
    name = f"o{uuid4().hex[:10]}"
    address, moved = f"{name}@example.org", f"{name}@elsewhere.example"
    auth = "/api/v1/auth"

    registered = client.post(
        f"{auth}/register", json={"email": address, "username": name, "password": PASSWORD}
    )
    assert doc.data(registered, 201)["username"] == name
    session = doc.data(
        client.post(f"{auth}/login", json={"login": name, "password": PASSWORD}), 200
    )
    bearer = {"Authorization": f"Bearer {session['access_token']}"}
    assert doc.data(client.get(f"{auth}/keys/public"), 200)["keys"]

    me = doc.data(client.get("/api/v1/users/me", headers=bearer), 200)
    assert (me["email_verified"], me["pending_email"]) == (False, None)
    [token] = mailed_tokens(mailbox, "email-verification", address)
    verified = doc.data(client.post(f"{auth}/verify-email", json={"token": token}), 200)
    assert verified == {"email": address, "email_verified": True}
    changed = client.put(
        "/api/v1/users/me", json={"first_name": "Ada", "email": moved}, headers=bearer
    )
    assert doc.data(changed, 200)["pending_email"] == moved
    resent = client.post(f"{auth}/verify-email/resend", headers=bearer)
    assert doc.data(resent, 202) == {"sent": True}
    # Both mails to the new address written: the account is no longer being saved by the
    # mail process manager (a concurrent save of the same account answers 500 today).
    mailed_tokens(mailbox, "email-verification", moved, count=2)

    refreshed = client.post(f"{auth}/refresh", json={"refresh_token": session["refresh_token"]})
    bearer = {"Authorization": f"Bearer {doc.data(refreshed, 200)['access_token']}"}
    changed_password = client.post(
        "/api/v1/users/me/password",
        json={"current_password": PASSWORD, "new_password": "another good passphrase 3"},
        headers=bearer,
    )
    assert doc.data(changed_password, 200)["token_type"] == "Bearer"

    asked = client.post(f"{auth}/password-reset", json={"email": address})
    assert doc.data(asked, 202)["accepted"] is True
    [token] = mailed_tokens(mailbox, "password-reset", address)
    reset = client.post(
        f"{auth}/password-reset/confirm", json={"token": token, "new_password": NEW_PASSWORD}
    )
    assert doc.data(reset, 200) == {"password_reset": True}

    session = doc.data(
        client.post(f"{auth}/login", json={"login": name, "password": NEW_PASSWORD}), 200
    )
    bearer = {"Authorization": f"Bearer {session['access_token']}"}
    files = {"file": ("me.png", picture("PNG"), "image/png")}
    uploaded = client.put("/api/v1/users/me/avatar", files=files, headers=bearer)
    assert set(doc.data(uploaded, 200)["avatar_urls"]) == {"64", "256", "512"}
    removed = client.delete("/api/v1/users/me/avatar", headers=bearer)
    assert doc.data(removed, 200)["avatar_url"] == ""

    out = client.post(
        f"{auth}/logout", json={"refresh_token": session["refresh_token"]}, headers=bearer
    )
    assert doc.data(out, 200) == {"logged_out": True}
    session = doc.data(
        client.post(f"{auth}/login", json={"login": name, "password": NEW_PASSWORD}), 200
    )
    bearer = {"Authorization": f"Bearer {session['access_token']}"}
    assert doc.data(client.delete("/api/v1/users/me", headers=bearer), 200) == {"deactivated": True}


def test_every_health_answer_matches_the_document(client: TestClient) -> None:
    doc = Document(client)
    assert doc.data(client.get("/health"), 200) == {"status": "ok"}
    for path in ("/health/ready", "/health/db", "/health/redis"):
        assert doc.data(client.get(path), 200)["status"] == "ok"
    assert doc.data(client.get("/health/projections"), 200)["projections"]
    assert doc.data(client.get("/health/kafka"), 404) is None  # not configured: an error


def test_a_dependency_down_answers_the_documented_503(
    through_proxy: TestClient, redis_proxy: CuttableProxy
) -> None:
    doc = Document(through_proxy)
    redis_proxy.cut()
    for path in ("/health/ready", "/health/redis"):
        down = doc.data(through_proxy.get(path), 503)
        assert (down["status"], down["checks"]["redis"]["status"]) == ("unavailable", "down")
