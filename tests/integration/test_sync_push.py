"""Sync push and resolve, embedded, over real PostgreSQL: each change through the domain's
commands, exactly once per mutation id, answered on its own; conflicts only where another
user changed the same field; refusals kept; bad input refused whole."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from infra.settings import Settings
from tests.integration.conftest import Signup
from tests.integration.sync_calls import (
    LISBON,
    add_member,
    change,
    destination,
    eventually,
    new_id,
    planned_offline,
    pull_all,
    push,
    push_raw,
)
from tests.integration.test_chat import auth
from write_side.sync import service as sync_service


def test_a_retried_push_applies_nothing_twice_and_tells_the_first_outcomes(
    client: TestClient, signup: Signup
) -> None:
    ada = signup()
    trip_id, destination_id = planned_offline(client, ada)
    batch = [
        change(
            "message", new_id(), "create", {"trip_id": trip_id, "content": "hi"}, mutation_id="m1"
        ),
        change("destination", destination_id, "update", {"name": "Belém"}, mutation_id="m2"),
        change(
            "trip", trip_id, "update", {"start_date": "2027-05-01"}, mutation_id="m3"
        ),  # refused
    ]
    first = push(client, ada, batch)
    assert [r["status"] for r in first] == ["applied", "applied", "error"]
    assert first[2]["code"] == "end_before_start" or first[2]["code"] == "dates_outside_trip"
    again = push(
        client,
        ada,
        [
            *batch[1:],
            change(
                "message",
                new_id(),
                "create",
                {"trip_id": trip_id, "content": "second"},
                mutation_id="m4",
            ),
        ],
    )
    assert [(r["status"], r["replayed"]) for r in again] == [
        ("applied", True),
        ("error", True),
        ("applied", False),
    ]
    assert again[0]["version"] == first[1]["version"]  # the first outcome, told again
    assert push(client, ada, batch[:1])[0] == {**first[0], "replayed": True}
    feed = eventually(lambda: pull_all(client, ada)[0], lambda f: len(f["messages"]) == 2)
    assert sorted(m["content"] for m in feed["messages"].values()) == ["hi", "second"]
    assert feed["destinations"][destination_id]["name"] == "Belém"


def test_a_change_applied_but_not_logged_is_not_applied_again(
    client: TestClient, signup: Signup, api_settings: Settings
) -> None:
    """The mutation id is recorded in the same write as the change's events: a crash after
    that write and before the log loses nothing and doubles nothing on the retry."""
    ada = signup()
    trip_id, _ = planned_offline(client, ada)
    posted = change(
        "message",
        new_id(),
        "create",
        {"trip_id": trip_id, "content": "once"},
        mutation_id="crash-1",
    )
    (first,) = push(client, ada, [posted], client_id="tablet")
    with psycopg.connect(str(api_settings.database_url), autocommit=True) as conn:
        conn.execute("DELETE FROM sync_log WHERE mutation_id = 'crash-1'")
    (retried,) = push(client, ada, [posted], client_id="tablet")
    assert retried["status"] == "applied" and retried["server_id"] == first["server_id"]
    room = client.get(f"/api/v1/chat/rooms/{trip_id}/messages/", headers=auth(ada)).json()
    assert [m["content"] for m in room["data"]] == ["once"]
    # An edit applied, its outcome lost, then the same field changed by another: the retry
    # still answers "applied" (it was), not a conflict with what came after it.
    bob = signup()
    add_member(client, ada, trip_id, bob, "editor")
    edit = change(
        "trip", trip_id, "update", {"title": "Mine"}, base_version=1, mutation_id="crash-2"
    )
    assert push(client, ada, [edit], client_id="tablet")[0]["status"] == "applied"
    with psycopg.connect(str(api_settings.database_url), autocommit=True) as conn:
        conn.execute("DELETE FROM sync_log WHERE mutation_id = 'crash-2'")
    (theirs,) = push(client, bob, [change("trip", trip_id, "update", {"title": "Theirs"})])
    assert theirs["status"] == "applied"
    (told,) = push(client, ada, [edit], client_id="tablet")
    assert (told["status"], told["replayed"]) == ("applied", False)


def test_replayed_creates_with_the_clients_ids_are_no_ops(
    client: TestClient, signup: Signup
) -> None:
    ada, bob = signup(), signup()
    trip_id, destination_id = planned_offline(client, ada)
    activity_id = new_id()
    create = change(
        "activity",
        activity_id,
        "create",
        {"destination_id": destination_id, "title": "Tram 28", "activity_type": "sightseeing"},
    )
    first, again = push(client, ada, [create, create])  # no mutation id: the id decides
    assert first["status"] == again["status"] == "applied"
    assert again["version"] == first["version"]
    view = client.get(f"/api/v1/trips/{trip_id}/", headers=auth(ada)).json()["data"]
    assert [a["id"] for d in view["destinations"] for a in d["activities"]] == [activity_id]
    # Someone else's id is taken, not theirs to create again.
    (taken,) = push(client, bob, [change("trip", trip_id, "create", LISBON)])
    assert (taken["status"], taken["code"]) == ("error", "entity_exists")


def test_refused_changes_have_stable_codes_and_are_kept_for_status(
    client: TestClient, signup: Signup
) -> None:
    ada, vic = signup(), signup()
    trip_id, destination_id = planned_offline(client, ada)
    add_member(client, ada, trip_id, vic, "viewer")
    results = push(
        client,
        vic,
        [
            change("destination", destination_id, "update", {"name": "Mine"}, mutation_id="v1"),
            change("destination", new_id(), "update", {"name": "Nowhere"}, mutation_id="v2"),
            change("message", new_id(), "delete", mutation_id="v3"),
        ],
        client_id="vic-phone",
    )
    assert [(r["status"], r["code"]) for r in results] == [
        ("error", "forbidden"),
        ("error", "destination_not_found"),
        ("error", "unsupported_change"),
    ]
    status = client.get("/api/v1/sync/status/", headers=auth(vic)).json()["data"]
    assert [(r["mutation_id"], r["code"]) for r in status["rejected"]] == [
        ("v3", "unsupported_change"),
        ("v2", "destination_not_found"),
        ("v1", "forbidden"),
    ]
    (client_status,) = status["clients"]
    assert (client_status["client_id"], client_status["rejected"]) == ("vic-phone", 3)
    assert client_status["last_push_at"] is not None
    # One mutation id names one change: another change under it is refused, not applied.
    (reused,) = push(
        client,
        vic,
        [
            change(
                "message",
                new_id(),
                "create",
                {"trip_id": trip_id, "content": "x"},
                mutation_id="v1",
            )
        ],
        client_id="vic-phone",
    )
    assert (reused["status"], reused["code"]) == ("error", "mutation_id_reused")


def test_other_users_changes_of_other_fields_merge_and_of_the_same_field_conflict(
    client: TestClient, signup: Signup, api_settings: Settings
) -> None:
    ada, bob = signup(), signup()
    trip_id, destination_id = planned_offline(client, ada)
    add_member(client, ada, trip_id, bob, "editor")
    base = eventually(
        lambda: pull_all(client, bob)[0]["destinations"], lambda found: destination_id in found
    )[destination_id]["version"]
    (ada_edit,) = push(
        client,
        ada,
        [change("destination", destination_id, "update", {"name": "Belém"}, base_version=base)],
    )
    assert ada_edit["status"] == "applied"
    # Bob edited offline from the same version: another field merges...
    (other_field,) = push(
        client,
        bob,
        [
            change(
                "destination",
                destination_id,
                "update",
                {"description": "pastéis"},
                base_version=base,
                mutation_id="b1",
            )
        ],
    )
    assert other_field["status"] == "applied"
    # ... the same field is a conflict, stored and not applied.
    (same_field,) = push(
        client,
        bob,
        [
            change(
                "destination",
                destination_id,
                "update",
                {"name": "Baixa"},
                base_version=base,
                mutation_id="b2",
            )
        ],
    )
    assert same_field["status"] == "conflict" and same_field["fields"] == ["name"]
    assert same_field["client_data"] == {"name": "Baixa"}
    assert same_field["server_data"]["name"] == "Belém"
    assert same_field["server_data"]["description"] == "pastéis"
    view = client.get(f"/api/v1/destinations/{destination_id}/", headers=auth(bob))
    assert view.json()["data"]["name"] == "Belém"
    # One's own earlier edit never conflicts with one's next one.
    (own,) = push(
        client,
        ada,
        [change("destination", destination_id, "update", {"name": "Belém!"}, base_version=base)],
    )
    assert own["status"] == "applied"
    status = client.get("/api/v1/sync/status/", headers=auth(bob)).json()["data"]
    assert [c["conflict_id"] for c in status["conflicts"]] == [same_field["conflict_id"]]
    assert status["conflict_count"] == 1

    # The conflict is an event, once however often the device pushes the change again, and
    # analytics count it.
    (again,) = push(
        client,
        bob,
        [
            change(
                "destination",
                destination_id,
                "update",
                {"name": "Baixa"},
                base_version=base,
                mutation_id="b2",
            )
        ],
    )
    assert again["conflict_id"] == same_field["conflict_id"]
    with psycopg.connect(api_settings.database_url) as conn:
        recorded = conn.execute(
            "SELECT count(*) FROM itinera_events WHERE topic LIKE %s", ("%SyncConflict.Recorded",)
        ).fetchone()
    assert recorded == (1,)

    def facts() -> list[Any]:
        with psycopg.connect(api_settings.database_url) as conn:
            query = "SELECT fact FROM analytics_facts WHERE event_type = 'SyncConflictFact'"
            return [row[0] for row in conn.execute(query)]

    (fact,) = eventually(facts, lambda found: len(found) > 0)
    assert (fact["trip_id"], fact["actor_id"]) == (trip_id, bob["X-User"])
    assert fact["payload"] == {"entity_type": "destination", "action": "update", "fields": ["name"]}


def test_a_conflict_is_resolved_once_with_the_chosen_strategy(
    client: TestClient, signup: Signup
) -> None:
    ada, bob, eve = signup(), signup(), signup()
    trip_id, destination_id = planned_offline(client, ada)
    add_member(client, ada, trip_id, bob, "editor")
    base = eventually(
        lambda: pull_all(client, bob)[0]["destinations"], lambda found: destination_id in found
    )[destination_id]["version"]

    def conflict(name: str, mutation: str) -> str:
        push(client, ada, [change("destination", destination_id, "update", {"name": f"A{name}"})])
        (clash,) = push(
            client,
            bob,
            [
                change(
                    "destination",
                    destination_id,
                    "update",
                    {"name": f"B{name}"},
                    base_version=base,
                    mutation_id=mutation,
                )
            ],
        )
        assert clash["status"] == "conflict", clash
        return str(clash["conflict_id"])

    def resolve(user: dict[str, str], conflict_id: str, strategy: str, **more: object) -> object:
        return client.post(
            "/api/v1/sync/resolve/",
            json={"conflict_id": conflict_id, "resolution_strategy": strategy, **more},
            headers=auth(user),
        )

    def name() -> str:
        found = client.get(f"/api/v1/destinations/{destination_id}/", headers=auth(ada))
        return str(found.json()["data"]["name"])

    first = conflict("1", "c1")
    assert resolve(eve, first, "client_wins").status_code == 404  # not hers
    settled = resolve(bob, first, "client_wins")
    assert settled.status_code == 200, settled.text
    assert settled.json()["data"]["resolution_strategy"] == "client_wins"
    assert settled.json()["data"]["resolved_by"] == bob["X-User"]
    assert name() == "B1"
    again = resolve(bob, first, "server_wins").json()["data"]
    assert (again["resolution_strategy"], again["replayed"]) == ("client_wins", True)

    second = conflict("2", "c2")
    assert resolve(bob, second, "merge").status_code == 422  # merge names its result
    assert resolve(bob, second, "merge", resolved_data={"name": "A2+B2"}).status_code == 200
    assert name() == "A2+B2"

    third = conflict("3", "c3")
    assert resolve(bob, third, "server_wins").status_code == 200
    assert name() == "A3"
    status = client.get("/api/v1/sync/status/", headers=auth(bob)).json()["data"]
    assert status["conflicts"] == [] and status["conflict_count"] == 0
    assert resolve(bob, str(uuid.uuid4()), "server_wins").json()["error"]["code"] == (
        "conflict_not_found"
    )


def test_deleting_what_another_edited_conflicts_and_editing_what_is_gone_is_refused(
    client: TestClient, signup: Signup
) -> None:
    ada, bob = signup(), signup()
    trip_id, destination_id = planned_offline(client, ada)
    add_member(client, ada, trip_id, bob, "editor")
    base = eventually(
        lambda: pull_all(client, bob)[0]["destinations"], lambda found: destination_id in found
    )[destination_id]["version"]
    push(client, ada, [change("destination", destination_id, "update", {"name": "Belém"})])
    (delete,) = push(
        client,
        bob,
        [change("destination", destination_id, "delete", base_version=base, mutation_id="del")],
    )
    assert (delete["status"], delete["fields"]) == ("conflict", ["name"])
    (blind,) = push(client, bob, [change("destination", destination_id, "delete")])
    assert blind["status"] == "applied"  # without a base: the delete wins
    (late,) = push(
        client,
        ada,
        [change("destination", destination_id, "update", {"name": "Too late"}, base_version=base)],
    )
    assert (late["status"], late["code"]) == ("error", "entity_deleted")


def test_without_a_base_version_the_seeds_client_timestamp_rule_applies(
    client: TestClient, signup: Signup
) -> None:
    ada, bob = signup(), signup()
    trip_id, destination_id = planned_offline(client, ada)
    add_member(client, ada, trip_id, bob, "editor")
    edited_offline = datetime.now(UTC)  # Bob's edit, made offline before Ada's
    push(client, ada, [change("destination", destination_id, "update", {"name": "Belém"})])
    (stale,) = push(
        client,
        bob,
        [
            change(
                "destination",
                destination_id,
                "update",
                {"name": "Baixa"},
                client_timestamp=edited_offline.isoformat(),
            )
        ],
    )
    assert (stale["status"], stale.get("fields")) == ("conflict", ["name"]), stale
    (fresh,) = push(
        client,
        bob,
        [
            change(
                "destination",
                destination_id,
                "update",
                {"name": "Baixa"},
                client_timestamp=datetime.now(UTC).isoformat(),
            )
        ],
    )
    assert fresh["status"] == "applied"


def test_bad_pushes_are_refused_whole_with_nothing_applied(
    client: TestClient, signup: Signup
) -> None:
    ada = signup()
    trip_id, destination_id = planned_offline(client, ada)
    good = change("destination", destination_id, "update", {"name": "Applied?"})
    bad = change("destination", new_id(), "create", destination(trip_id, name=""))
    refused = push_raw(client, ada, [good, bad])
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "validation_failed"
    assert refused.json()["error"]["details"][0]["field"].startswith("changes.1.data")
    unknown = push_raw(client, ada, [{**good, "entity_type": "hotel"}])
    assert unknown.status_code == 422
    empty = push_raw(client, ada, [change("destination", destination_id, "update", {})])
    assert empty.status_code == 422
    foreign_field = push_raw(client, ada, [change("trip", trip_id, "update", {"budget": 3})])
    assert foreign_field.status_code == 422
    too_many = push_raw(client, ada, [good] * 10_000)
    assert too_many.status_code == 413
    assert too_many.json()["error"]["code"] == "too_many_changes"
    view = client.get(f"/api/v1/destinations/{destination_id}/", headers=auth(ada))
    assert view.json()["data"]["name"] == "Alfama"
    no_auth = client.post("/api/v1/sync/push/", json={"client_id": "x", "changes": []})
    assert no_auth.status_code == 401


def test_a_base_too_far_behind_is_refused_not_replayed_at_any_cost(
    client: TestClient, signup: Signup, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Comparing field by field replays every event since the base: past a bound the client
    is told to pull and edit again, instead of the server replaying a long history."""
    monkeypatch.setattr(sync_service, "MAX_EVENTS_SINCE_BASE", 2)
    ada, bob = signup(), signup()
    trip_id, destination_id = planned_offline(client, ada)
    add_member(client, ada, trip_id, bob, "editor")
    for name in ("A", "B", "C"):
        push(client, ada, [change("destination", destination_id, "update", {"name": name})])
    (late,) = push(
        client,
        bob,
        [change("destination", destination_id, "update", {"name": "Z"}, base_version=1)],
    )
    assert (late["status"], late["code"]) == ("error", "base_version_too_old")
