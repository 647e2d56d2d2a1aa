"""The contract every TripReadStore adapter passes (subclassed once per adapter)."""

from __future__ import annotations

import asyncio
from uuid import uuid4

import pytest

from projections.handler import apply_trip_event
from read_side.errors import InvalidCursorError
from read_side.store import TripReadStore
from tests.builders import destination_added, details_updated, trip_created


class TripReadStoreContract:
    """Subclasses provide a `store` fixture yielding an empty adapter."""

    pytestmark = pytest.mark.anyio

    async def test_an_unknown_trip_has_no_view(self, store: TripReadStore) -> None:
        assert await store.get_trip(uuid4()) is None

    async def test_applied_events_are_read_back_as_the_view(self, store: TripReadStore) -> None:
        trip_id, owner = uuid4(), uuid4()
        assert await apply_trip_event(store, trip_created(trip_id, owner))
        assert await apply_trip_event(store, destination_added(trip_id, 2, owner, uuid4()))
        view = await store.get_trip(trip_id)
        assert view is not None
        assert view.version == 2
        assert [d.name for d in view.destinations] == ["Kyoto"]

    async def test_an_event_applied_twice_has_one_effect(self, store: TripReadStore) -> None:
        trip_id, owner = uuid4(), uuid4()
        created, added = trip_created(trip_id, owner), destination_added(trip_id, 2, owner, uuid4())
        assert await apply_trip_event(store, created)
        assert await apply_trip_event(store, added)
        assert not await apply_trip_event(store, created)
        assert not await apply_trip_event(store, added)
        view = await store.get_trip(trip_id)
        assert view is not None and len(view.destinations) == 1

    async def test_concurrent_deliveries_of_one_event_apply_once(
        self, store: TripReadStore
    ) -> None:
        trip_id, owner = uuid4(), uuid4()
        await apply_trip_event(store, trip_created(trip_id, owner))
        added = destination_added(trip_id, 2, owner, uuid4())
        results = await asyncio.gather(*(apply_trip_event(store, added) for _ in range(5)))
        assert sorted(results) == [False, False, False, False, True]

    async def test_each_user_lists_their_trips_by_start_date_in_pages(
        self, store: TripReadStore
    ) -> None:
        alice, bob = uuid4(), uuid4()
        trips = [uuid4() for _ in range(5)]
        for n, trip_id in enumerate(trips):
            await apply_trip_event(store, trip_created(trip_id, alice, title=f"Trip {n}"))
        await apply_trip_event(store, trip_created(uuid4(), bob))
        seen = []
        cursor = None
        while True:
            page = await store.list_trips(alice, 2, cursor)
            seen.extend(page.items)
            cursor = page.next_cursor
            if cursor is None:
                break
        assert sorted(s.trip_id for s in seen) == sorted(trips)
        assert len(seen) == 5
        assert all(s.user_id == alice and s.role == "owner" for s in seen)

    async def test_list_rows_follow_the_trip(self, store: TripReadStore) -> None:
        trip_id, owner = uuid4(), uuid4()
        await apply_trip_event(store, trip_created(trip_id, owner))
        await apply_trip_event(store, details_updated(trip_id, 2, owner, "Renamed"))
        (row,) = (await store.list_trips(owner, 10, None)).items
        assert (row.title, row.version) == ("Renamed", 2)

    async def test_a_malformed_cursor_is_refused(self, store: TripReadStore) -> None:
        with pytest.raises(InvalidCursorError):
            await store.list_trips(uuid4(), 10, "!!not-a-cursor!!")

    async def test_positions_start_at_zero_and_are_kept(self, store: TripReadStore) -> None:
        assert await store.load_position("p") == 0
        await store.save_position("p", 42)
        await store.save_position("p", 43)
        assert await store.load_position("p") == 43

    async def test_paging_is_stable_while_trips_are_added(self, store: TripReadStore) -> None:
        owner = uuid4()
        first_batch = [uuid4() for _ in range(4)]
        for trip_id in first_batch:
            await apply_trip_event(store, trip_created(trip_id, owner))
        page = await store.list_trips(owner, 2, None)
        seen = [s.trip_id for s in page.items]
        for _ in range(3):  # others insert while the client pages (same start date, any id)
            await apply_trip_event(store, trip_created(uuid4(), owner))
        cursor = page.next_cursor
        while cursor is not None:
            page = await store.list_trips(owner, 2, cursor)
            seen.extend(s.trip_id for s in page.items)
            cursor = page.next_cursor
        assert len(seen) == len(set(seen))  # nothing twice
        assert set(first_batch) <= set(seen)  # nothing that was there is skipped
