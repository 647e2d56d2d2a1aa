"""Accounts, tokens and the attacks they must survive, through the API, over real PostgreSQL
and real Redis."""

from __future__ import annotations

import time
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from infra.identity.keys import load_key_ring
from infra.settings import Settings
from tests import forgery
from tests.integration.conftest import PASSWORD, Signup

AUTH_FAILURE = {"code": "unauthenticated", "message": "Authentication required", "details": None}


def data(response: Any, status: int) -> Any:
    assert response.status_code == status, response.text
    return response.json()["data"]


def refused(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["data"] is None and body["error"]["code"] == code
    return dict(body["error"])


def unauthenticated(response: Any) -> None:
    """Every authentication failure reads exactly the same: no oracle."""
    assert response.status_code == 401, response.text
    assert response.json()["error"] == AUTH_FAILURE
    assert response.headers["www-authenticate"] == "Bearer"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def register(client: TestClient, name: str, **overrides: Any) -> Any:
    body = {"email": f"{name}@example.org", "username": name, "password": PASSWORD}
    return client.post("/api/v1/auth/register", json={**body, **overrides})


def login(client: TestClient, login: str, password: str = PASSWORD) -> Any:
    return client.post("/api/v1/auth/login", json={"login": login, "password": password})


def test_the_whole_session_lifecycle(client: TestClient) -> None:
    user_id = data(register(client, "ada", first_name="Ada"), 201)["id"]
    tokens = data(login(client, "ada@example.org"), 200)
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 900

    trip = data(
        client.post(
            "/api/v1/trips/",
            headers=bearer(tokens["access_token"]),
            json={"title": "Rome", "start_date": "2027-06-01", "end_date": "2027-06-05"},
        ),
        201,
    )
    shown = client.get(
        f"/api/v1/trips/{trip['id']}?min_version=1", headers=bearer(tokens["access_token"])
    )
    assert data(shown, 200)["creator_id"] == user_id

    renewed = data(
        client.post("/api/v1/auth/refresh/", json={"refresh_token": tokens["refresh_token"]}), 200
    )
    assert renewed["refresh_token"] != tokens["refresh_token"]
    assert (
        data(client.get("/api/v1/users/me", headers=bearer(renewed["access_token"])), 200)["id"]
        == user_id
    )

    data(
        client.post(
            "/api/v1/auth/logout/",
            headers=bearer(renewed["access_token"]),
            json={"refresh_token": renewed["refresh_token"]},
        ),
        200,
    )
    unauthenticated(client.get("/api/v1/users/me", headers=bearer(renewed["access_token"])))
    unauthenticated(
        client.post("/api/v1/auth/refresh", json={"refresh_token": renewed["refresh_token"]})
    )


def test_profiles_me_public_and_search(client: TestClient, signup: Signup) -> None:
    me = signup("grace")
    headers = {"Authorization": me["Authorization"]}
    updated = data(
        client.put(
            "/api/v1/users/me/",
            headers=headers,
            json={
                "first_name": "Grace",
                "last_name": "Hopper",
                "bio": "COBOL",
                "avatar_url": "https://example.org/g.png",
            },
        ),
        200,
    )
    assert updated["email"] == "grace@example.org"
    assert updated["last_name"] == "Hopper"

    deadline = time.monotonic() + 5
    while True:  # the directory is a read model: it follows the event store
        public = client.get(f"/api/v1/users/{me['X-User']}", headers=headers)
        if public.status_code == 200 and public.json()["data"]["last_name"] == "Hopper":
            break
        assert time.monotonic() < deadline, public.text
        time.sleep(0.02)
    profile = public.json()["data"]
    assert "email" not in profile and "password" not in str(profile)
    assert profile["bio"] == "COBOL"

    for n in range(3):
        signup(f"hopper_{n}")
    found, cursor = [], None
    while True:
        page = client.get(
            "/api/v1/users/search/",
            headers=headers,
            params={"q": "HOP", "limit": 2, **({"cursor": cursor} if cursor else {})},
        )
        found += [u["username"] for u in data(page, 200)]
        if (cursor := page.json()["meta"]["next_cursor"]) is None:
            break
    assert found == ["grace", "hopper_0", "hopper_1", "hopper_2"]
    refused(client.get(f"/api/v1/users/{uuid4()}", headers=headers), 404, "user_not_found")


def test_taken_emails_and_usernames_are_conflicts(client: TestClient) -> None:
    data(register(client, "ada"), 201)
    refused(register(client, "ada2", email="ADA@example.org"), 409, "email_taken")
    refused(register(client, "ADA", email="other@example.org"), 409, "username_taken")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not-an-email"}, "body.email"),
        ({"password": "short"}, "body.password"),
        ({"password": "x" * 129}, "body.password"),
        ({"password": "aaaaaaaaaaaa"}, "body"),
        ({"password": "my name is bobby!"}, "body"),
        ({"username": "no spaces allowed"}, "body.username"),
        ({"is_admin": True}, "body.is_admin"),
        ({"first_name": "x" * 101}, "body.first_name"),
    ],
)
def test_bad_registrations_are_refused_with_field_details(
    client: TestClient, body: dict[str, Any], field: str
) -> None:
    details = refused(register(client, "bobby", **body), 422, "validation_failed")["details"]
    assert field in {d["field"] for d in details}


def test_missing_fields_and_malformed_json_are_refused(client: TestClient) -> None:
    details = refused(
        client.post("/api/v1/auth/register", json={"username": "x"}), 422, "validation_failed"
    )["details"]
    assert {"body.email", "body.password"} <= {d["field"] for d in details}
    refused(
        client.post(
            "/api/v1/auth/login",
            content=b'{"login": ',
            headers={"Content-Type": "application/json"},
        ),
        422,
        "validation_failed",
    )


def test_wrong_passwords_and_unknown_accounts_read_the_same(client: TestClient) -> None:
    data(register(client, "ada"), 201)
    wrong = refused(login(client, "ada", "not the password!"), 401, "invalid_credentials")
    unknown = refused(login(client, "nobody@example.org"), 401, "invalid_credentials")
    assert wrong == unknown


def test_brute_force_logins_are_throttled_per_account(client: TestClient) -> None:
    data(register(client, "ada"), 201)
    for _ in range(5):
        refused(login(client, "ada", "guess the password"), 401, "invalid_credentials")
    throttled = login(client, "ada")  # even the right password waits now
    refused(throttled, 429, "rate_limited")
    assert 1 <= int(throttled.headers["retry-after"]) <= 300


def test_logins_are_throttled_per_client_address(client: TestClient) -> None:
    for n in range(20):
        refused(login(client, f"nobody{n}"), 401, "invalid_credentials")
    refused(login(client, "nobody-else"), 429, "rate_limited")


def test_writes_are_rate_limited_per_user(
    api_settings: Settings, client: TestClient, signup: Signup
) -> None:
    api_settings.writes_per_user = 3  # read per request, so the change applies at once
    headers = {"Authorization": signup()["Authorization"]}
    trip = {"title": "x", "start_date": "2027-01-01", "end_date": "2027-01-02"}
    for _ in range(3):
        data(client.post("/api/v1/trips", json=trip, headers=headers), 201)
    limited = client.post("/api/v1/trips", json=trip, headers=headers)
    refused(limited, 429, "rate_limited")
    assert int(limited.headers["retry-after"]) >= 1
    other = {"Authorization": signup()["Authorization"]}
    data(client.post("/api/v1/trips", json=trip, headers=other), 201)


FORGERIES = [
    forgery.alg_none,
    forgery.hs256_with_public_key,
    forgery.expired,
    forgery.unknown_kid,
    forgery.signed_by_a_stranger_with_our_kid,
]


@pytest.mark.parametrize("forge", FORGERIES, ids=lambda f: f.__name__)
def test_forged_tokens_get_the_same_401(
    api_settings: Settings, client: TestClient, signup: Signup, forge: Any
) -> None:
    victim = UUID(signup()["X-User"])
    token = forge(load_key_ring(api_settings.keys_folder), victim)
    unauthenticated(client.get("/api/v1/users/me", headers=bearer(token)))


def test_tampered_and_misused_tokens_get_the_same_401(client: TestClient, signup: Signup) -> None:
    me = signup()
    access = me["Authorization"].removeprefix("Bearer ")
    for headers in (
        bearer(forgery.tampered_signature(access)),
        bearer(forgery.tampered_claims(access, uuid4())),
        bearer(me["X-Refresh-Token"]),  # a refresh token is not an access token
        {"Authorization": f"Basic {access}"},
        {"Authorization": "Bearer"},
        {},
    ):
        unauthenticated(client.get("/api/v1/trips", headers=headers))


def test_a_reused_refresh_token_revokes_its_family(api_settings: Settings) -> None:
    settings = api_settings.model_copy(update={"refresh_grace_seconds": 0.0})
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        data(register(client, "eve"), 201)
        first = data(login(client, "eve"), 200)["refresh_token"]
        second = data(client.post("/api/v1/auth/refresh", json={"refresh_token": first}), 200)
        unauthenticated(client.post("/api/v1/auth/refresh", json={"refresh_token": first}))
        unauthenticated(
            client.post("/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]})
        )


def test_a_refresh_retried_within_the_grace_gets_the_same_pair(
    client: TestClient, signup: Signup
) -> None:
    """The client whose reply was lost retries with the token it still holds: it gets the pair
    it missed, not a logout."""
    first = signup()["X-Refresh-Token"]
    second = data(client.post("/api/v1/auth/refresh", json={"refresh_token": first}), 200)
    again = data(client.post("/api/v1/auth/refresh", json={"refresh_token": first}), 200)
    assert again == second
    data(client.post("/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]}), 200)


def test_a_deactivated_users_tokens_are_refused(client: TestClient, signup: Signup) -> None:
    me = signup("leaving")
    headers = {"Authorization": me["Authorization"]}
    data(client.delete("/api/v1/users/me", headers=headers), 200)
    unauthenticated(client.get("/api/v1/users/me", headers=headers))
    unauthenticated(
        client.post("/api/v1/auth/refresh", json={"refresh_token": me["X-Refresh-Token"]})
    )
    refused(login(client, "leaving"), 401, "invalid_credentials")


def test_the_public_keys_are_published_as_jwks(client: TestClient, signup: Signup) -> None:
    bare = client.get("/.well-known/jwks.json")
    assert bare.status_code == 200
    (key,) = bare.json()["keys"]
    assert key["kty"] == "RSA" and key["alg"] == "RS256" and key["use"] == "sig"
    assert {"d", "p", "q", "dp", "dq", "qi"}.isdisjoint(key)  # no private parts
    assert data(client.get("/api/v1/auth/keys/public/"), 200) == bare.json()


def test_an_oversized_body_is_refused_before_it_is_parsed(client: TestClient) -> None:
    huge = b'{"login": "' + b"x" * (2 * 1024 * 1024) + b'", "password": "y"}'
    declared = client.post(
        "/api/v1/auth/login", content=huge, headers={"Content-Type": "application/json"}
    )
    assert declared.status_code == 413
    assert declared.json()["error"]["code"] == "payload_too_large"

    def chunks():  # no Content-Length: the limit counts what arrives
        for _ in range(40):
            yield b"x" * 65536

    streamed = client.post(
        "/api/v1/auth/login", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert streamed.status_code == 413
    assert streamed.json()["error"]["code"] == "payload_too_large"
