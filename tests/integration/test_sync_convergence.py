"""Offline-first clients (infra/sync_client) against the real sync endpoints: edits shown at
once offline, lost answers retried without doubling, a reset after 410, conflicts exposed
and resolved, and, driven by Hypothesis, several users editing one trip offline and
reconnecting in any order: every replica ends equal to the server."""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

from api.main import create_app
from infra.settings import Settings
from infra.sync_client import Http, OfflineError, SyncClient, SyncError, SyncTimeoutError
from tests.integration.conftest import Signup

pytestmark = pytest.mark.integration

TRIP = {"title": "Lisbon", "start_date": "2027-05-01", "end_date": "2027-05-09"}


def destination(trip_id: str, name: str, **more: Any) -> dict[str, Any]:
    return {
        "trip_id": trip_id,
        "name": name,
        "location": {"lat": 38.71, "lng": -9.13},
        "arrival_date": "2027-05-01",
        "departure_date": "2027-05-04",
        **more,
    }


def activity(destination_id: str, title: str, **more: Any) -> dict[str, Any]:
    return {"destination_id": destination_id, "title": title, "activity_type": "other", **more}


def eventually(read: Callable[[], Any], done: Callable[[Any], bool], what: str) -> Any:
    """Projections follow the writes: poll until `done`, for at most 10 s."""
    deadline = time.monotonic() + 10
    while True:
        found = read()
        if done(found):
            return found
        assert time.monotonic() < deadline, f"{what}: not reached in 10 s; last seen {found}"
        time.sleep(0.05)


@pytest.fixture
def client(api_settings: Settings) -> Iterator[TestClient]:
    """The app, with room for the many users and writes of the Hypothesis examples."""
    roomy = api_settings.model_copy(
        update={"registrations_per_address": 10_000, "writes_per_user": 100_000}
    )
    with TestClient(create_app(roomy), raise_server_exceptions=False) as client:
        yield client


class Devices:
    """Each user's devices: a sync client on its own SQLite file."""

    def __init__(self, client: Http, folder: Path) -> None:
        self.client = client
        self.folder = folder
        self.opened: list[SyncClient] = []

    def new(self, user: dict[str, str], **options: Any) -> SyncClient:
        path = self.folder / f"{uuid.uuid4().hex}.sqlite"
        device = SyncClient(self.client, user, path, **options)
        self.opened.append(device)
        return device

    def fresh_rows(self, user: dict[str, str]) -> dict[tuple[str, str], Any]:
        """What a new device of the user gets from a full pull, by (type, id)."""
        device = SyncClient(self.client, user, self.folder / f"{uuid.uuid4().hex}.sqlite")
        try:
            device.pull()
            return rows_of(device)
        finally:
            device.close()

    def close(self) -> None:
        for device in self.opened:
            device.close()


@pytest.fixture
def devices(client: TestClient, tmp_path: Path) -> Iterator[Devices]:
    found = Devices(client, tmp_path)
    yield found
    found.close()


def rows_of(device: SyncClient, trip_id: str | None = None) -> dict[tuple[str, str], Any]:
    return {(r.entity_type, r.id): (r.version, r.data) for r in device.rows(trip_id)}


def auth(user: dict[str, str]) -> dict[str, str]:
    return {"Authorization": user["Authorization"]}


def add_member(
    client: TestClient, owner: dict[str, str], trip_id: str, user: dict[str, str], role: str
) -> None:
    added = client.post(
        f"/api/v1/trips/{trip_id}/members/",
        json={"user_id": user["X-User"], "role": role},
        headers=auth(owner),
    )
    assert added.status_code == 201, added.text


def shared_trip(
    client: TestClient,
    owner: SyncClient,
    owner_user: dict[str, str],
    members: list[tuple[SyncClient, dict[str, str], str]],
    destinations: int = 1,
) -> tuple[str, list[str]]:
    """A trip the owner's device creates and syncs, with destinations, shared with each
    member (device, user, role); every device synced until it holds the trip."""
    trip_id = owner.create("trip", TRIP)
    places = [
        owner.create("destination", destination(trip_id, f"Place {n}")) for n in range(destinations)
    ]
    owner.sync()
    for _, user, role in members:
        add_member(client, owner_user, trip_id, user, role)
    for device, _, _ in members:
        eventually(
            lambda d=device: (d.sync(), d.replica.row("trip", trip_id))[1],  # type: ignore[misc]
            lambda row: row is not None and len(row.data["members"]) == len(members) + 1,
            "each member's device holds the shared trip",
        )
    return trip_id, places


# Focused tests of the client.


def test_edits_show_at_once_offline_and_are_kept_after_sync(
    devices: Devices, signup: Signup
) -> None:
    user = signup()
    phone = devices.new(user)
    phone.go_offline()
    trip_id = phone.create("trip", TRIP)
    first = phone.create("destination", destination(trip_id, "Alfama"))
    second = phone.create("destination", destination(trip_id, "Belém"))
    museum = phone.create("activity", activity(first, "Museum"))
    tram = phone.create("activity", activity(first, "Tram 28"))
    phone.update("destination", first, {"name": "Alfama and Graça"})
    phone.update("destination", second, {"order": 0})
    phone.delete("activity", tram)
    message = phone.create("message", {"trip_id": trip_id, "content": "Who books the tram?"})
    with pytest.raises(OfflineError):
        phone.push()

    seen = phone.view()
    assert seen["trip"][trip_id]["title"] == "Lisbon"
    assert seen["destination"][first]["name"] == "Alfama and Graça"
    assert seen["destination"][second]["order"] == 0 and seen["destination"][first]["order"] == 1
    assert set(seen["activity"]) == {museum} and seen["activity"][museum]["trip_id"] == trip_id
    assert seen["message"][message]["content"] == "Who books the tram?"
    assert phone.rows() == [] and len(phone.pending()) == 9

    phone.go_online()
    phone.sync()
    assert phone.pending() == [] and phone.conflicts() == [] and phone.rejected() == []
    seen = phone.view()
    names = sorted(seen["destination"].values(), key=lambda d: d["order"])
    assert [d["name"] for d in names] == ["Belém", "Alfama and Graça"]
    assert set(seen["activity"]) == {museum}
    (posted,) = [m for m in seen["message"].values() if m["content"] == "Who books the tram?"]
    assert posted["id"] != message  # the server names messages
    assert rows_of(phone) == devices.fresh_rows(user)


def test_a_push_whose_answer_was_lost_is_retried_without_doubling(
    devices: Devices, signup: Signup
) -> None:
    user = signup()
    phone = devices.new(user)
    trip_id = phone.create("trip", TRIP)
    phone.sync()
    phone.create("message", {"trip_id": trip_id, "content": "Once only"})
    phone.create("destination", destination(trip_id, "Sintra"))
    phone.lose_next_response()
    with pytest.raises(OfflineError):
        phone.push()
    assert not phone.online and [m.status for m in phone.pending()] == ["pending", "pending"]
    eventually(
        lambda: devices.fresh_rows(user),
        lambda rows: any(d.get("content") == "Once only" for _, d in rows.values()),
        "the server applied the push whose answer was lost",
    )

    phone.go_online()
    results = phone.push()
    assert [(r["status"], r["replayed"]) for r in results] == [("applied", True)] * 2
    phone.sync()
    for rows in (rows_of(phone), devices.fresh_rows(user)):
        found = [data for _, data in rows.values()]
        assert [d["content"] for d in found if "content" in d] == ["Once only"]
        assert [d["name"] for d in found if "name" in d] == ["Sintra"]


def test_pushes_are_retried_with_growing_pauses_after_5xx_and_lost_connections(
    client: TestClient, tmp_path: Path, signup: Signup
) -> None:
    failures: list[httpx.Response | Exception] = [
        httpx.Response(503),
        httpx.ConnectError("down"),
        httpx.Response(502),
    ]

    def flaky(request: httpx.Request) -> httpx.Response:
        """A real httpx client whose first requests fail; then it reaches the app."""
        if failures:
            failure = failures.pop(0)
            if isinstance(failure, Exception):
                raise failure
            return failure
        answer = client.request(
            request.method, str(request.url), content=request.content, headers=request.headers
        )
        return httpx.Response(answer.status_code, content=answer.content, headers=answer.headers)

    pauses: list[float] = []
    http = httpx.Client(transport=httpx.MockTransport(flaky), base_url=str(client.base_url))
    phone = SyncClient(http, signup(), tmp_path / "flaky.sqlite", sleep=pauses.append)
    trip_id = phone.create("trip", TRIP)
    (result,) = phone.push()
    assert (result["status"], result["entity_id"], result["replayed"]) == (
        "applied",
        trip_id,
        False,
    )
    assert pauses == [0.05, 0.1, 0.2]
    phone.close()


def test_a_cursor_the_server_no_longer_honours_resets_the_replica(
    client: TestClient, devices: Devices, signup: Signup
) -> None:
    user = signup()
    phone = devices.new(user)
    trip_id = phone.create("trip", TRIP)
    phone.create("destination", destination(trip_id, "Cascais"))
    phone.sync()
    trips_only = client.get(
        "/api/v1/sync/pull/", params={"entity_types": "trip"}, headers=auth(user)
    )
    assert trips_only.status_code == 200, trips_only.text
    phantom = {"id": str(uuid.uuid4()), "trip_id": trip_id, "version": 1, "name": "Phantom"}
    empty: dict[str, list[Any]] = {"trips": [], "activities": [], "messages": []}
    phone.replica.apply_page(
        {
            **empty,
            "destinations": [phantom],
            "deleted": {**empty, "destinations": []},
            "cursor": trips_only.json()["data"]["cursor"],
        }
    )
    refused = client.post("/api/v1/sync/pull/", json={"cursor": phone.cursor}, headers=auth(user))
    assert refused.status_code == 410, refused.text
    assert refused.json()["error"]["code"] == "sync_reset_required"

    phone.pull()
    assert ("destination", phantom["id"]) not in rows_of(phone)
    assert rows_of(phone) == devices.fresh_rows(user)


def test_offline_edits_of_different_fields_of_one_destination_both_apply(
    client: TestClient, devices: Devices, signup: Signup
) -> None:
    ada, bob = signup(), signup()
    phone, tablet = devices.new(ada), devices.new(bob)
    trip_id, (place,) = shared_trip(client, phone, ada, [(tablet, bob, "editor")])
    for device in (phone, tablet):
        device.go_offline()
    phone.update("destination", place, {"name": "Chiado"})
    tablet.update("destination", place, {"description": "Cafés and bookshops"})
    for device in (phone, tablet):
        device.go_online()
    phone.sync()
    tablet.sync()
    phone.sync()
    assert phone.conflicts() == [] and tablet.conflicts() == []
    for device in (phone, tablet):
        row = device.replica.row("destination", place)
        assert row is not None
        assert (row.data["name"], row.data["description"]) == ("Chiado", "Cafés and bookshops")
    assert phone.checksum(trip_id) == tablet.checksum(trip_id) == checksum_of(tablet, trip_id)


def test_offline_edits_of_the_same_field_conflict_once_and_client_wins_settles_it(
    client: TestClient, devices: Devices, signup: Signup
) -> None:
    ada, bob = signup(), signup()
    phone, tablet = devices.new(ada), devices.new(bob)
    trip_id, (place,) = shared_trip(client, phone, ada, [(tablet, bob, "editor")])
    phone.update("destination", place, {"name": "Chiado"})
    tablet.update("destination", place, {"name": "Bairro Alto"})
    phone.sync()
    (result,) = tablet.push()
    assert (result["status"], result["fields"]) == ("conflict", ["name"])
    (conflict,) = tablet.conflicts()
    assert (conflict.conflict_id, conflict.resolution) == (result["conflict_id"], None)
    assert conflict.client_data == {"name": "Bairro Alto"}
    assert conflict.server_data["name"] == "Chiado"
    tablet.sync()
    assert tablet.view()["destination"][place]["name"] == "Chiado"  # not applied: kept aside
    listed = tablet.status()["conflicts"]
    assert [c["conflict_id"] for c in listed] == [conflict.conflict_id]

    settled = tablet.resolve(conflict.conflict_id, "client_wins")
    assert settled["resolution_strategy"] == "client_wins"
    assert [c.resolution for c in tablet.conflicts()] == ["client_wins"]
    for device in (tablet, phone):
        eventually(
            lambda d=device: (d.sync(), d.replica.row("destination", place))[1],  # type: ignore[misc]
            lambda row: row.data["name"] == "Bairro Alto",
            "the resolved name reaches every device",
        )
    assert tablet.status()["conflicts"] == []
    assert phone.checksum(trip_id) == tablet.checksum(trip_id) == checksum_of(tablet, trip_id)


def test_a_message_created_and_edited_offline_is_posted_once_and_edited(
    client: TestClient, devices: Devices, signup: Signup
) -> None:
    user = signup()
    phone = devices.new(user)
    trip_id = phone.create("trip", TRIP)
    phone.sync()
    phone.go_offline()
    message = phone.create("message", {"trip_id": trip_id, "content": "Lunch at 1"})
    phone.update("message", message, {"content": "Lunch at 2"})
    assert phone.view()["message"][message]["content"] == "Lunch at 2"
    phone.go_online()
    synced(phone, "a message edit")
    assert phone.rejected() == []
    posted = [r.data for r in phone.rows() if r.entity_type == "message"]
    assert [(m["content"], m["is_edited"]) for m in posted] == [("Lunch at 2", True)]
    assert rows_of(phone) == devices.fresh_rows(user)


@pytest.mark.parametrize(
    "change",
    [{"order": 0}, {"name": "Alfama"}],
    ids=["a move to where it is", "a rename to its name"],
)
def test_a_change_that_changes_nothing_is_confirmed_by_the_next_pull(
    devices: Devices, signup: Signup, change: dict[str, Any]
) -> None:
    user = signup()
    phone = devices.new(user)
    trip_id = phone.create("trip", TRIP)
    place = phone.create("destination", destination(trip_id, "Alfama"))
    phone.sync()
    phone.update("destination", place, change)
    (result,) = phone.push()
    assert result["status"] == "applied", result
    eventually(
        lambda: (phone.pull(), [(m.mutation_id, m.status) for m in phone.pending()])[1],
        lambda pending: pending == [],
        f"the write checkpoint passes {result['mutation_id']} (applied in v{result['version']})",
    )


def test_a_conflict_shows_nothing_to_who_may_no_longer_see_the_trip(
    client: TestClient, devices: Devices, signup: Signup
) -> None:
    ada, bob = signup(), signup()
    phone, tablet = devices.new(ada), devices.new(bob)
    trip_id, (place,) = shared_trip(client, phone, ada, [(tablet, bob, "editor")])
    tablet.go_offline()
    tablet.update("destination", place, {"description": "Bob was here"})
    phone.update("destination", place, {"description": "The door code is 4321"})
    phone.sync()
    removed = client.delete(f"/api/v1/trips/{trip_id}/members/{bob['X-User']}/", headers=auth(ada))
    assert removed.status_code == 200, removed.text

    tablet.go_online()
    (result,) = tablet.push()
    assert result["status"] == "error", f"a non-member is answered with the trip's data: {result}"
    assert "4321" not in str(tablet.status()), "GET /sync/status/ shows a non-member the trip"
    # The trip is purged from the removed member's replica once the sync feed has projected
    # the removal (a pull may come first: the projection is asynchronous).
    eventually(
        lambda: (tablet.sync(), tablet.rows())[1],
        lambda rows: rows == [],
        "the trip purged from the removed member's replica",
    )


def test_a_malformed_change_is_set_aside_and_the_others_are_sent(
    devices: Devices, signup: Signup
) -> None:
    user = signup()
    phone = devices.new(user)
    trip_id = phone.create("trip", TRIP)
    place = phone.create("destination", destination(trip_id, "Alfama"))
    rocket = phone.create("activity", activity(place, "Rocket", activity_type="spaceship"))
    tram = phone.create("activity", activity(place, "Tram"))
    results = phone.push()
    assert [(r["entity_id"], r["status"]) for r in results] == [
        (trip_id, "applied"),
        (place, "applied"),
        (tram, "applied"),
    ]
    ((entity_id, code),) = [(r.entity_id, r.code) for r in phone.rejected()]
    assert (entity_id, code) == (rocket, "validation_failed")
    phone.sync()
    assert set(phone.view()["activity"]) == {tram}


def test_a_push_too_large_for_the_server_goes_in_smaller_batches(
    client: TestClient, tmp_path: Path, signup: Signup
) -> None:
    sizes: list[int] = []

    def small_pushes_only(request: httpx.Request) -> httpx.Response:
        """The app, behind a proxy that takes at most 3 changes a push (413 beyond)."""
        if request.url.path.startswith("/api/v1/sync/push"):
            sizes.append(len(json.loads(request.content)["changes"]))
            if sizes[-1] > 3:
                too_many = {"code": "too_many_changes", "message": "send batches"}
                return httpx.Response(413, json={"data": None, "error": too_many, "meta": {}})
        answer = client.request(
            request.method, str(request.url), content=request.content, headers=request.headers
        )
        return httpx.Response(answer.status_code, content=answer.content, headers=answer.headers)

    http = httpx.Client(
        transport=httpx.MockTransport(small_pushes_only), base_url=str(client.base_url)
    )
    phone = SyncClient(http, signup(), tmp_path / "batches.sqlite")
    trip_id = phone.create("trip", TRIP)
    for n in range(7):
        phone.create("message", {"trip_id": trip_id, "content": f"Message {n}"})
    results = phone.push()
    assert [r["status"] for r in results] == ["applied"] * 8
    assert sizes == [8, 4, 2, 2, 2, 2]
    phone.close()


def synced(device: SyncClient, what: str) -> None:
    try:
        device.sync()
    except SyncTimeoutError as stuck:
        raise AssertionError(f"the write checkpoint never passes {what}: {stuck}") from None


def checksum_of(device: SyncClient, trip_id: str) -> str:
    (trip,) = [t for t in device.status()["trips"] if str(t["trip_id"]) == trip_id]
    return str(trip["checksum"])


# Many users, offline, reconnecting in any order.

FIELDS = {
    "trip": ("title", "description"),
    "destination": ("name", "description"),
    "activity": ("title", "description"),
}
Answer = tuple[int, dict[str, Any], dict[str, Any]]  # device, change or conflict, answer

operation = st.one_of(
    st.tuples(st.just("add_destination")),
    # Edits, thrice as likely as the rest, mostly of names and titles: often the same
    # field of the same entity on two devices (a conflict).
    *[st.tuples(st.just("edit"), st.sampled_from(["trip", "destination", "destination",
                "activity"]), st.integers(0, 5), st.sampled_from([0, 0, 1]),
                st.sampled_from("XY"))] * 3,
    st.tuples(st.just("move"), st.sampled_from(["destination", "activity"]),
              st.integers(0, 5), st.integers(0, 2)),
    st.tuples(st.just("remove"), st.sampled_from(["destination", "activity"]), st.integers(0, 5)),
    st.tuples(st.just("add_activity"), st.integers(0, 5)),
    st.tuples(st.just("post_message")),
    st.tuples(st.just("edit_message"), st.integers(0, 5)),
    st.tuples(st.just("lose_answer")),
)  # fmt: skip
membership = st.one_of(
    st.none(),
    st.tuples(
        st.sampled_from(["remove", "remove_and_add_again", "make_viewer"]), st.integers(0, 2)
    ),
)


class Ledger:
    """Every answer the server gave, by device: what the final state must account for."""

    def __init__(self) -> None:
        self.answers: list[Answer] = []  # each push result
        self.settled: list[Answer] = []  # each conflict settled, and the server's answer

    def listener(self, device: int) -> Callable[[Any, dict[str, Any]], None]:
        def heard(mutation: Any, result: dict[str, Any]) -> None:
            self.answers.append((device, mutation.change(), result))

        return heard

    def applied(self, action: str | None = None) -> list[Answer]:
        return [
            (d, c, r)
            for d, c, r in self.answers
            if r["status"] == "applied" and action in (None, c["action"])
        ]


def play(
    device: SyncClient,
    number: int,
    me: str,
    trip_id: str,
    op: tuple[Any, ...],
    counter: Counter[str],
) -> None:
    """One offline operation of device `number` on the trip, picking among what its view
    shows of it."""
    seen = {
        kind: {i: e for i, e in entities.items() if e.get("trip_id") == trip_id}
        for kind, entities in device.view().items()
    }
    counter[op[0]] += 1
    tag = f"{number}.{sum(counter.values())}"

    def pick(entity_type: str, index: int, mine_only: bool = False) -> str | None:
        found = sorted(
            (e.get("name") or e.get("title") or e.get("content") or "", i)
            for i, e in seen[entity_type].items()
            if not mine_only or (e.get("sender_id", me) == me and e.get("message_type") != "system")
        )
        return found[index % len(found)][1] if found else None

    kind = op[0]
    if kind == "add_destination":
        device.create("destination", destination(trip_id, f"Place {tag}"))
    elif kind == "add_activity":
        place = pick("destination", op[1])
        if place is not None:
            device.create("activity", activity(place, f"Visit {tag}"))
    elif kind == "edit":
        _, entity_type, index, field, value = op
        target = trip_id if entity_type == "trip" else pick(entity_type, index)
        if target is not None:
            name = FIELDS[entity_type][field]
            device.update(entity_type, target, {name: f"{name} {value} by {number} ({tag})"})
    elif kind == "move":
        target = pick(op[1], op[2])
        if target is not None:
            device.update(op[1], target, {"order": op[3]})
    elif kind == "remove":
        target = pick(op[1], op[2])
        if target is not None:
            device.delete(op[1], target)
    elif kind == "post_message":
        device.create("message", {"trip_id": trip_id, "content": f"[m{tag}] hello"})
    elif kind == "edit_message":
        target = pick("message", op[1], mine_only=True)
        if target is not None:
            token = seen["message"][target]["content"].split(" ")[0]
            device.update("message", target, {"content": f"{token} edited ({tag})"})
    elif kind == "lose_answer" and device.outbox.entries("pending", 1):
        device.go_online()
        device.lose_next_response()
        with pytest.raises(OfflineError):
            device.push()
        assert not device.online


class People(list[dict[str, str]]):
    def __repr__(self) -> str:
        return f"<{len(self)} users>"  # not their tokens, in a failing example's report


@pytest.fixture
def people(signup: Signup) -> People:
    """Four users for all the examples of a test (signing up takes a while: password
    hashing); each example plans a trip of its own."""
    return People(signup() for _ in range(4))


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    # An example takes seconds (it waits for the projections): no shrinking passes.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
@given(data=st.data())
def test_replicas_converge_whatever_is_done_offline_and_the_order_of_reconnection(
    client: TestClient, devices: Devices, people: People, data: st.DataObject
) -> None:
    editors = data.draw(st.integers(1, 3), label="editors")
    viewers = int(editors < 3 and data.draw(st.booleans(), label="a viewer"))
    roles = ["owner"] + ["editor"] * editors + ["viewer"] * viewers
    users = people[: len(roles)]  # each example shares a trip of its own
    ledger = Ledger()
    page = data.draw(st.sampled_from([None, 2, 5]), label="pull page size")
    phones = [
        devices.new(user, on_answer=ledger.listener(n), page_limit=page)
        for n, user in enumerate(users)
    ]
    members = [(phones[n], users[n], roles[n]) for n in range(1, len(users))]
    places = data.draw(st.integers(1, 2), label="destinations")
    trip_id, _ = shared_trip(client, phones[0], users[0], members, places)

    for phone in phones:
        phone.go_offline()
    counter: Counter[str] = Counter()
    for n, phone in enumerate(phones):
        for op in data.draw(st.lists(operation, min_size=1, max_size=6), label=f"device {n}"):
            play(phone, n, users[n]["X-User"], trip_id, op, counter)
    change = data.draw(membership, label="membership change")
    if change is not None:
        change_membership(client, trip_id, users, change)

    for n in data.draw(st.permutations(range(len(phones))), label="reconnection order"):
        phones[n].go_online()
        phones[n].push()
        phones[n].pull()
    choices = data.draw(
        st.lists(st.sampled_from(["client_wins", "server_wins", None]), min_size=1),
        label="settle conflicts",
    )
    conflicts = [(n, c) for n, phone in enumerate(phones) for c in phone.conflicts()]
    for index, (n, conflict) in enumerate(conflicts):
        choice = choices[index % len(choices)]
        if choice is not None:
            settle(ledger, n, phones[n], conflict, choice)

    settled_down(client, devices, phones, users, trip_id)
    accounted_for(ledger, phones, rows_of(phones[0], trip_id))
    for _, _, result in ledger.answers:
        event(f"{result['status']} {result.get('code') or ''} replayed={result['replayed']}")
    for _, settled, answer in ledger.settled:
        event(f"settled {settled['choice']}: {answer.get('refused', 'done')}")
    event(f"membership change: {change and change[0]}")


def change_membership(
    client: TestClient, trip_id: str, users: list[dict[str, str]], change: tuple[str, int]
) -> None:
    """The owner, online, removes a member (and adds it back) or makes it a viewer."""
    owner, member = users[0], users[1 + change[1] % (len(users) - 1)]
    path = f"/api/v1/trips/{trip_id}/members/{member['X-User']}/"
    if change[0] == "make_viewer":
        changed = client.patch(path, json={"role": "viewer"}, headers=auth(owner))
        assert changed.status_code == 200, changed.text
        return
    removed = client.delete(path, headers=auth(owner))
    assert removed.status_code == 200, removed.text
    if change[0] == "remove_and_add_again":
        add_member(client, owner, trip_id, member, "editor")


def settle(ledger: Ledger, n: int, phone: SyncClient, conflict: Any, choice: str) -> None:
    try:
        answer = phone.resolve(conflict.conflict_id, choice)
    except SyncError as refused:  # client_wins of a change that can no longer be made
        answer = {"refused": refused.code, "version": None}
    ledger.settled.append((n, conflict.__dict__ | {"choice": choice}, answer))


def settled_down(
    client: TestClient,
    devices: Devices,
    phones: list[SyncClient],
    users: list[dict[str, str]],
    trip_id: str,
) -> None:
    """Every device syncs, again and again, until each replica is what a new device of its
    user would pull, its checksums are the server's and the owner's trip is the server's
    view of it (for at most 15 s)."""
    deadline = time.monotonic() + 15
    while True:
        for n, phone in enumerate(phones):
            synced(phone, f"an applied change of device {n}")
        problems = [
            p for n, phone in enumerate(phones) for p in differences(devices, n, phone, users[n])
        ]
        problems += trip_view_differences(client, users[0], phones[0], trip_id)
        if not problems:
            return
        assert time.monotonic() < deadline, "\n".join(problems)
        time.sleep(0.05)


def differences(devices: Devices, n: int, phone: SyncClient, user: dict[str, str]) -> list[str]:
    problems = []
    mine, fresh = rows_of(phone), devices.fresh_rows(user)
    for key in sorted(mine.keys() | fresh.keys()):
        if mine.get(key) != fresh.get(key):
            problems.append(f"device {n} {key}: replica {mine.get(key)} != server {fresh.get(key)}")
    shown = {(t, i): e for t, entities in phone.view().items() for i, e in entities.items()}
    if shown != {key: data for key, (_, data) in mine.items()}:
        problems.append(f"device {n}: its view is not its rows: {phone.pending()}")
    status = phone.status()
    sums = {str(t["trip_id"]): t["checksum"] for t in status["trips"]}
    if set(sums) != {row.trip_id for row in phone.rows()}:
        problems.append(f"device {n}: trips {sums} on the server, {phone.rows()} here")
    problems += [
        f"device {n}: checksum of {trip} is {phone.checksum(trip)}, the server's {checksum}"
        for trip, checksum in sums.items()
        if phone.checksum(trip) != checksum
    ]
    open_here = {c.conflict_id for c in phone.conflicts() if c.resolution is None}
    open_there = {str(c["conflict_id"]) for c in status["conflicts"]}
    if open_here != open_there:
        problems.append(f"device {n}: open conflicts {open_here} here, {open_there} there")
    return problems


def trip_view_differences(
    client: TestClient, owner: dict[str, str], phone: SyncClient, trip_id: str
) -> list[str]:
    """The destinations and activities of `GET /trips/{id}/`, in order, as the replica."""
    found = client.get(f"/api/v1/trips/{trip_id}/", headers=auth(owner))
    assert found.status_code == 200, found.text
    served = [
        (d["id"], d["name"], [(a["id"], a["title"]) for a in d["activities"]])
        for d in found.json()["data"]["destinations"]
    ]
    rows = [r.data for r in phone.rows(trip_id)]

    def ordered(kind: str, parent: str, parent_id: str) -> list[dict[str, Any]]:
        children = [r for r in rows if kind in r and r.get(parent) == parent_id and "order" in r]
        return sorted(children, key=lambda r: r["order"])

    replica = [
        (
            d["id"],
            d["name"],
            [(a["id"], a["title"]) for a in ordered("title", "destination_id", d["id"])],
        )
        for d in ordered("name", "trip_id", trip_id)
    ]
    return [] if served == replica else [f"trip view {served} != owner's replica {replica}"]


def accounted_for(
    ledger: Ledger, phones: list[SyncClient], final: dict[tuple[str, str], Any]
) -> None:
    """Each answer the server gave shows in the end: an applied create once (unless a later
    delete took it), the last write of each field, every conflict and refusal kept."""
    alive = {key: data for key, (_, data) in final.items()}
    messages = [data["content"] for (kind, _), data in alive.items() if kind == "message"]
    posted: dict[str, str] = {}
    for _, change, result in ledger.applied("create"):
        if change["entity_type"] == "message":
            token = change["data"]["content"].split(" ")[0]
            assert (
                posted.setdefault(change["mutation_id"], result["server_id"]) == result["server_id"]
            )
            assert ("message", result["server_id"]) in alive, (change, result)
            assert sum(m.startswith(token + " ") for m in messages) == 1, (token, messages)
    assert len(set(posted.values())) == len(posted), f"two mutations, one message: {posted}"
    gone = {c["entity_id"] for _, c, _ in ledger.applied("delete")}
    gone |= {
        c["entity_id"]
        for _, c, answer in ledger.settled
        if c["choice"] == "client_wins" and c["action"] == "delete" and answer.get("version")
    }
    created = {c["entity_id"] for _, c, _ in ledger.applied("create")}
    for (kind, entity_id), data in alive.items():
        if kind in ("destination", "activity"):
            assert entity_id in created, f"{kind} {entity_id} was never created: {data}"
    for _, change, _ in ledger.applied("create"):
        key = (change["entity_type"], change["entity_id"])
        if key[0] in ("destination", "activity") and key not in alive:
            parent = change["data"].get("destination_id")
            assert key[1] in gone or parent in gone, f"created, never deleted, lost: {change}"
    last_writes(ledger, alive)
    for n, phone in enumerate(phones):
        kept = {c.conflict_id for c in phone.conflicts()}
        refused = {r.mutation_id for r in phone.rejected()}
        for device, change, result in ledger.answers:
            if device == n and result["status"] == "conflict":
                assert result["conflict_id"] in kept, f"device {n} dropped a conflict {result}"
            if device == n and result["status"] == "error":
                assert change["mutation_id"] in refused, f"device {n} dropped a refusal {result}"


def last_writes(ledger: Ledger, alive: dict[tuple[str, str], Any]) -> None:
    """Each field of each live entity holds the value of the write with the highest
    version among the applied creates and updates, and client_wins resolutions."""
    writes: dict[tuple[str, str, str], tuple[int, Any]] = {}

    def wrote(entity_type: str, entity_id: str, data: dict[str, Any], version: int) -> None:
        for name in FIELDS.get(entity_type, ()):
            key = (entity_type, entity_id, name)
            if name in data and version >= writes.get(key, (-1, None))[0]:
                writes[key] = (version, data[name])

    for _, change, result in ledger.applied():
        if change["action"] != "delete":
            wrote(change["entity_type"], change["entity_id"], change["data"], result["version"])
    for _, conflict, answer in ledger.settled:
        if conflict["choice"] == "client_wins" and answer.get("version") is not None:
            wrote(
                conflict["entity_type"],
                conflict["entity_id"],
                conflict["client_data"],
                answer["version"],
            )
    for (entity_type, entity_id, name), (version, value) in writes.items():
        if (entity_type, entity_id) in alive:
            found = alive[entity_type, entity_id][name]
            assert found == value, (
                f"{entity_type} {entity_id} {name}: {found!r}, last write {value!r} (v{version})"
            )
