"""The contract every TripReadStore adapter passes (subclassed once per adapter), its read
models fed through the projection engine."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from uuid import uuid4

import orjson
import pydantic_core
import pytest
from fastapi.encoders import jsonable_encoder

from projections.engine.applier import Applier
from projections.engine.ports import Delivery
from projections.trip_views import TRIP_VIEWS
from read_side import queries
from read_side.errors import InvalidCursorError
from read_side.store import ANY_TRIP, TripFilter
from streams.contracts import (
    MemberRemoved,
    MemberRemovedPayload,
    Moment,
    TripArchived,
    TripVisibilityChanged,
    TripVisibilityChangedPayload,
)
from tests.builders import (
    activity_added,
    another_activity,
    destination_added,
    details_updated,
    envelope,
    member_added,
    trip_created,
    user_registered,
)
from tests.faults import failing_on, titled_poison
from tests.projected import NO_WAIT, Projected


class TripReadStoreContract:
    """Subclasses provide a `models` fixture: empty read models fed through the engine."""

    pytestmark = pytest.mark.anyio

    async def test_an_unknown_trip_has_no_view(self, models: Projected) -> None:
        assert await models.trips.get_trip(uuid4()) is None

    async def test_applied_events_are_read_back_as_the_view(self, models: Projected) -> None:
        trip_id, owner, kyoto = uuid4(), uuid4(), uuid4()
        await models.apply(
            trip_created(trip_id, owner), destination_added(trip_id, 2, owner, kyoto)
        )
        stored = await models.trips.get_trip(trip_id)
        assert stored is not None and not stored.parked
        assert stored.view.version == 2
        assert [d.name for d in stored.view.destinations] == ["Kyoto"]

    async def test_an_event_applied_twice_has_one_effect(self, models: Projected) -> None:
        trip_id, owner = uuid4(), uuid4()
        created, added = trip_created(trip_id, owner), destination_added(trip_id, 2, owner, uuid4())
        assert (await models.apply(created, added)).applied == 2
        assert (await models.apply(created, added)).applied == 0
        stored = await models.trips.get_trip(trip_id)
        assert stored is not None and len(stored.view.destinations) == 1

    async def test_concurrent_deliveries_of_one_event_apply_once(self, models: Projected) -> None:
        trip_id, owner = uuid4(), uuid4()
        await models.apply(trip_created(trip_id, owner))
        added = destination_added(trip_id, 2, owner, uuid4())
        applier = Applier(TRIP_VIEWS, models.trip_store, None, NO_WAIT)
        delivery = Delivery(trip_id, 2, added)
        outcomes = await asyncio.gather(*(applier.apply([delivery]) for _ in range(5)))
        assert sorted(o.applied for o in outcomes) == [0, 0, 0, 0, 1]

    async def test_the_trip_holding_a_destination_or_activity_is_found(
        self, models: Projected
    ) -> None:
        trip_id, owner, kyoto, temple = uuid4(), uuid4(), uuid4(), uuid4()
        await models.apply(
            trip_created(trip_id, owner),
            destination_added(trip_id, 2, owner, kyoto),
            activity_added(trip_id, 3, owner, kyoto, temple),
        )
        for item in (kyoto, temple):
            holding = await models.trips.trip_holding(item)
            assert holding is not None and holding.view.id == trip_id
        assert await models.trips.trip_holding(uuid4()) is None

    async def test_each_user_lists_their_trips_by_start_date_in_pages(
        self, models: Projected
    ) -> None:
        alice, bob = uuid4(), uuid4()
        trips = [uuid4() for _ in range(5)]
        for n, trip_id in enumerate(trips):
            await models.apply(trip_created(trip_id, alice, title=f"Trip {n}"))
        await models.apply(trip_created(uuid4(), bob))
        seen = []
        cursor = None
        while True:
            page = await models.trips.list_trips(alice, 2, cursor)
            seen.extend(page.items)
            cursor = page.next_cursor
            if cursor is None:
                break
        assert sorted(s.trip_id for s in seen) == sorted(trips)
        assert len(seen) == 5
        assert all(s.user_id == alice and s.role == "owner" for s in seen)

    async def test_list_rows_follow_the_trip_and_its_members(self, models: Projected) -> None:
        trip_id, owner, friend = uuid4(), uuid4(), uuid4()
        await models.apply(
            trip_created(trip_id, owner),
            details_updated(trip_id, 2, owner, "Renamed"),
            member_added(trip_id, 3, owner, friend, "viewer"),
        )
        (row,) = (await models.trips.list_trips(owner, 10, None)).items
        assert (row.title, row.version) == ("Renamed", 3)
        (theirs,) = (await models.trips.list_trips(friend, 10, None)).items
        assert (theirs.role, theirs.title) == ("viewer", "Renamed")
        removed = MemberRemoved(
            **envelope(trip_id, 4, owner), payload=MemberRemovedPayload(user_id=friend)
        )
        await models.apply(removed)
        assert (await models.trips.list_trips(friend, 10, None)).items == ()

    async def test_a_views_version_is_read_alone(self, models: Projected) -> None:
        trip_id, owner = uuid4(), uuid4()
        assert await models.trips.view_version(trip_id) is None
        await models.apply(trip_created(trip_id, owner), details_updated(trip_id, 2, owner, "B"))
        assert await models.trips.view_version(trip_id) == (2, False)

    async def test_a_malformed_cursor_is_refused(self, models: Projected) -> None:
        with pytest.raises(InvalidCursorError):
            await models.trips.list_trips(uuid4(), 10, "!!not-a-cursor!!")

    async def test_paging_is_stable_while_trips_are_added(self, models: Projected) -> None:
        owner = uuid4()
        first_batch = [uuid4() for _ in range(4)]
        for trip_id in first_batch:
            await models.apply(trip_created(trip_id, owner))
        page = await models.trips.list_trips(owner, 2, None)
        seen = [s.trip_id for s in page.items]
        for _ in range(3):  # others insert while the client pages (same start date, any id)
            await models.apply(trip_created(uuid4(), owner))
        cursor = page.next_cursor
        while cursor is not None:
            page = await models.trips.list_trips(owner, 2, cursor)
            seen.extend(s.trip_id for s in page.items)
            cursor = page.next_cursor
        assert len(seen) == len(set(seen))  # nothing twice
        assert set(first_batch) <= set(seen)  # nothing that was there is skipped

    async def test_a_page_of_trips_is_served_as_the_listed_page_encodes(
        self, models: Projected
    ) -> None:
        """Every page, as served, is `list_trips`' page encoded as the API encodes it, byte
        for byte, with the same cursor: times with and without microseconds and from other
        zones, unicode, quotes and control characters in titles, filters."""
        owner, other = uuid4(), uuid4()
        times = [
            datetime(2026, 11, 25, 12, 0, tzinfo=UTC),
            datetime(2026, 11, 25, 12, 0, 0, 123450, tzinfo=UTC),
            datetime(2026, 11, 25, 17, 30, 5, 7, tzinfo=timezone(timedelta(hours=5, minutes=30))),
            datetime(2026, 1, 2, 3, 4, 5, 600000, tzinfo=timezone(timedelta(hours=-8))),
        ]
        titles = ["Plain", 'Quote " and \\ back /', "Kyōto 京都 🗻", "Line\nbreak\ttab\x01\x7f"]
        for at, title in zip(times, titles, strict=True):
            trip_id = uuid4()
            created = trip_created(trip_id, owner, title=title).model_copy(
                update={"occurred_at": at}
            )
            await models.apply(created)
        shared = uuid4()
        await models.apply(
            trip_created(shared, other), member_added(shared, 2, other, owner, "viewer")
        )
        for where in (ANY_TRIP, TripFilter(role="viewer"), TripFilter(role="owner")):
            cursor, pages = None, 0
            while True:
                listed = await models.trips.list_trips(owner, 2, cursor, where)
                served = await models.trips.served_trip_list(owner, 2, cursor, where)
                assert served.data == pydantic_core.to_json(list(listed.items)).decode()
                assert (served.next_cursor, served.parked) == (listed.next_cursor, False)
                pages += 1
                cursor = listed.next_cursor
                if cursor is None:
                    break
            assert pages == {ANY_TRIP: 3, TripFilter(role="viewer"): 1}.get(where, 2)
        nobody = await models.trips.served_trip_list(uuid4(), 10, None)
        assert (nobody.data, nobody.next_cursor, nobody.parked) == ("[]", None, False)

    async def test_a_served_page_holding_a_parked_trip_says_so(self, models: Projected) -> None:
        owner, sick = uuid4(), uuid4()
        await models.apply(trip_created(uuid4(), owner), trip_created(sick, owner))
        poisoned = Applier(failing_on(TRIP_VIEWS, titled_poison), models.trip_store, None, NO_WAIT)
        update = details_updated(sick, 2, owner, "POISON")
        assert (await poisoned.apply([Delivery(sick, 2, update)])).parked == 1
        served = await models.trips.served_trip_list(owner, 10, None)
        assert served.parked
        assert (await models.trips.list_trips(owner, 10, None)).parked == {sick}

    async def test_a_trip_is_served_as_its_view_encodes(self, models: Projected) -> None:
        """The trip as stored to serve is what the view encoded to before (every field, each
        value): times in several zones, money, unicode, nulls, members with and without a
        profile."""
        trip_id, owner, guest, kyoto = uuid4(), uuid4(), uuid4(), uuid4()
        temple = activity_added(trip_id, 3, owner, kyoto, uuid4())
        kolkata = another_activity(
            temple,
            4,
            title="Chai ☕ à Kolkata «вечер»",
            start=Moment(
                local=datetime(2027, 4, 3, 14, 30, 0, 123),
                time_zone="Asia/Kolkata",
                utc=datetime(2027, 4, 3, 9, 0, 0, 123, tzinfo=UTC),
            ),
            end=Moment(
                local=datetime(2027, 1, 3, 9),
                time_zone="Europe/London",
                utc=datetime(2027, 1, 3, 9, tzinfo=UTC),
            ),
            cost=None,
            currency=None,
        )
        bare = another_activity(temple, 5, start=None, cost=Decimal("0.10"))
        await models.apply(
            user_registered(owner, "ada"),
            trip_created(trip_id, owner, title="Japon 日本 — été"),
            destination_added(trip_id, 2, owner, kyoto, name="Kyōto"),
            temple,
            kolkata,
            bare,
            member_added(trip_id, 6, owner, guest, "viewer"),
        )
        stored = await models.trips.get_trip(trip_id)
        served = await models.trips.served_trip(trip_id, guest)
        assert stored is not None and served is not None
        before = jsonable_encoder(await queries.with_usernames(models.users, stored.view))
        assert orjson.loads(served.data) == before
        assert (
            before["members"][0]["username"] == "ada" and before["members"][1]["username"] is None
        )
        activities = before["destinations"][0]["activities"]
        assert {a["start_time"] for a in activities} == {
            "2027-04-03T09:00:00+09:00",
            "2027-04-03T14:30:00.000123+05:30",
            None,
        }
        assert (served.version, served.parked, served.readable) == (6, False, True)

    async def test_who_may_read_a_served_trip_comes_from_its_columns(
        self, models: Projected
    ) -> None:
        trip_id, owner, stranger = uuid4(), uuid4(), uuid4()
        await models.apply(trip_created(trip_id, owner))
        assert await models.trips.served_trip(uuid4(), owner) is None
        mine = await models.trips.served_trip(trip_id, owner)
        theirs = await models.trips.served_trip(trip_id, stranger)
        assert mine is not None and mine.readable
        assert theirs is not None and not theirs.readable
        public = TripVisibilityChanged(
            **envelope(trip_id, 2, owner),  # type: ignore[arg-type]
            payload=TripVisibilityChangedPayload(visibility="public"),
        )
        await models.apply(public)
        theirs = await models.trips.served_trip(trip_id, stranger)
        assert theirs is not None and theirs.readable
        await models.apply(TripArchived(**envelope(trip_id, 3, owner)))  # type: ignore[arg-type]
        for viewer in (owner, stranger):
            archived = await models.trips.served_trip(trip_id, viewer)
            assert archived is not None and not archived.readable
