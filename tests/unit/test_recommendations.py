"""Recommendations without I/O: distances and boxes, the words of a text, ranking and its
reasons, the hashed embedder, and the catalogue projection's fold."""

from __future__ import annotations

import math
from uuid import UUID, uuid4

from hypothesis import given
from hypothesis import strategies as st

from infra.embeddings.hashed import DIMENSIONS, HashedEmbedder, hashed_vector
from infra.embeddings.vectors import from_bytes, to_bytes
from projections.recommendation_catalogue import (
    RECOMMENDATION_CATALOGUE,
    catalogue_entries,
    profile_text,
)
from read_side.recommendation_scoring import (
    Candidate,
    Place,
    TripContext,
    bounding_boxes,
    cosine,
    haversine_km,
    interest_matches,
    normalised_title,
    rank,
    words,
)
from streams import contracts as c
from tests.builders import activity_added, destination_added, envelope, trip_created

LISBON = Place(UUID(int=1), "Lisbon", 38.7223, -9.1393)
PORTO = (41.1579, -8.6291)
SINTRA = (38.8029, -9.3817)


def test_haversine_gives_known_distances() -> None:
    assert haversine_km(LISBON.lat, LISBON.lng, LISBON.lat, LISBON.lng) == 0
    assert 270 < haversine_km(LISBON.lat, LISBON.lng, *PORTO) < 280
    assert math.isclose(haversine_km(0, 0, 0, 180), math.pi * 6371.0088, rel_tol=1e-9)


@given(
    lat=st.floats(-89.9, 89.9),
    lng=st.floats(-180, 180),
    km=st.floats(0.5, 500),
    bearing=st.floats(0, 2 * math.pi),
    share=st.floats(0, 0.999),
)
def test_every_point_within_the_radius_is_in_a_box(
    lat: float, lng: float, km: float, bearing: float, share: float
) -> None:
    # The point `share` of the radius away in direction `bearing` (great-circle destination).
    d = km * share / 6371.0088
    p1, l1 = math.radians(lat), math.radians(lng)
    p2 = math.asin(math.sin(p1) * math.cos(d) + math.cos(p1) * math.sin(d) * math.cos(bearing))
    l2 = l1 + math.atan2(
        math.sin(bearing) * math.sin(d) * math.cos(p1), math.cos(d) - math.sin(p1) * math.sin(p2)
    )
    plat, plng = math.degrees(p2), (math.degrees(l2) + 540) % 360 - 180
    boxes = bounding_boxes(lat, lng, km)
    assert any(b.south <= plat <= b.north and b.west <= plng <= b.east for b in boxes)


def test_a_box_across_the_antimeridian_is_split_in_two() -> None:
    boxes = bounding_boxes(-17.7, 179.9, 50)  # Fiji
    assert len(boxes) == 2
    assert {(b.west, b.east)[i] for b in boxes for i in (0, 1)} >= {-180.0, 180.0}


def test_words_fold_case_and_plurals() -> None:
    assert words("Museums & Art-Galleries, 2 tours") == ["museum", "art", "gallerie", "2", "tour"]
    assert normalised_title("  The  Museums ") == normalised_title("the museum")
    assert words("Glass bus") == ["glass", "bus"]


def test_interests_match_when_all_their_words_are_in_the_text() -> None:
    text = "Time Out Market. food. Street food stalls and local wine"
    assert interest_matches(["food", "wine tasting", "local wines", "museums"], text) == [
        "food",
        "local wines",
    ]


def test_cosine_of_zero_or_mismatched_vectors_is_zero() -> None:
    assert cosine((1.0, 0.0), (1.0, 0.0)) == 1
    assert cosine((0.0, 0.0), (1.0, 0.0)) == 0
    assert cosine((1.0,), (1.0, 0.0)) == 0


def test_hashed_vectors_are_deterministic_normalised_and_closer_for_similar_texts() -> None:
    a = hashed_vector("Guided walking tour of the old town")
    assert a == HashedEmbedder().embed(["Guided walking tour of the old town"])[0]
    assert len(a) == DIMENSIONS
    assert math.isclose(sum(x * x for x in a), 1.0, rel_tol=1e-9)
    similar = hashed_vector("Walking tour through the old town at night")
    unrelated = hashed_vector("Quarterly tax filing deadline")
    assert cosine(a, similar) > cosine(a, unrelated) + 0.3
    assert hashed_vector("!!!") == (0.0,) * DIMENSIONS
    assert HashedEmbedder().embed([]) == []


def test_vectors_survive_storage_as_float32() -> None:
    vector = hashed_vector("Fado night in Alfama")
    stored = from_bytes(to_bytes(vector))
    assert len(to_bytes(vector)) == 4 * DIMENSIONS
    assert all(math.isclose(x, y, abs_tol=1e-7) for x, y in zip(vector, stored, strict=True))


def _candidate(
    title: str,
    *,
    trip: UUID | None = None,
    at: tuple[float, float] = (38.7100, -9.1400),
    kind: str = "activity",
    text: str = "",
    activity_type: str | None = "food",
) -> Candidate:
    return Candidate(
        kind=kind,  # type: ignore[arg-type]
        trip_id=trip or uuid4(),
        item_id=uuid4(),
        title=title,
        description=text,
        activity_type=activity_type if kind == "activity" else None,
        lat=at[0],
        lng=at[1],
        vector=hashed_vector(f"{title}. {text}"),
    )


def _trip(profile: str | None = "food market lunch", own: tuple[str, ...] = ()) -> TripContext:
    return TripContext(
        places=(LISBON,),
        own_titles=frozenset(normalised_title(t) for t in own),
        own_names=frozenset({"lisbon"}),
        profile=None if profile is None else hashed_vector(profile),
    )


def test_ranking_excludes_own_and_far_items_and_merges_the_same_title() -> None:
    first, second = uuid4(), uuid4()
    found = rank(
        _trip(own=("Belém Tower",)),
        [
            _candidate("Time Out Market", trip=first, text="food market"),
            _candidate("time out  market", trip=second, text="food market lunch"),
            _candidate("Belem tower", activity_type="sightseeing"),
            _candidate("Belém Tower", activity_type="sightseeing"),
            _candidate("Ribeira", at=PORTO),
            _candidate("Tram 28", activity_type="transport", text="ride"),
        ],
        interests=[],
        radius_km=50,
        limit=10,
    )
    assert [s.title for s in found] == ["time out  market", "Belem tower", "Tram 28"]
    market = found[0]
    assert market.key.split(":")[0] == str(second)  # the group's best: the most similar
    assert market.near_destination_id == LISBON.id
    assert market.reason.startswith("Popular near Lisbon (2 public trips, 1.4 km away)")
    assert "resembles your trip's plans" in market.reason
    assert found[2].reason == "Planned by a public trip near Lisbon (1.4 km away)"


def test_interests_raise_a_candidate_and_say_so() -> None:
    candidates = [
        _candidate("Fado night", text="music in Alfama", activity_type="entertainment"),
        _candidate("Tile museum", text="azulejo museums", activity_type="museum"),
    ]
    plain = rank(_trip(profile=None), candidates, interests=[], radius_km=50, limit=5)
    asked = rank(_trip(profile=None), candidates, interests=["museums"], radius_km=50, limit=5)
    assert plain[0].similarity == 0 and plain[0].score == plain[1].score
    assert asked[0].title == "Tile museum"
    assert asked[0].reason.endswith("matches your interest in museums")
    assert asked[0].score > asked[1].score


def test_destinations_exclude_the_trips_own_places_and_reach_further() -> None:
    found = rank(
        _trip(),
        [
            _candidate("Lisboa", kind="destination", at=(38.7139, -9.1394)),  # the same place
            _candidate("Lisbon", kind="destination", at=(38.80, -9.20)),  # the same name
            _candidate("Sintra", kind="destination", at=SINTRA),
            _candidate("Évora", kind="destination", at=(38.5714, -7.9135)),  # 108 km
            _candidate("Porto", kind="destination", at=PORTO),
        ],
        interests=[],
        radius_km=50,
        limit=5,
    )
    assert [s.title for s in found] == ["Sintra", "Évora"]
    assert found[0].reason.startswith("Visited by a public trip, 22.")
    assert found[0].reason.split(";")[0].endswith("km from Lisbon")


def test_the_limit_applies_to_each_kind() -> None:
    candidates = [_candidate(f"Stall {n}") for n in range(5)]
    candidates += [_candidate(f"Town {n}", kind="destination", at=SINTRA) for n in range(5)]
    found = rank(_trip(), candidates, interests=[], radius_km=50, limit=2)
    assert [s.kind for s in found] == ["activity", "activity", "destination", "destination"]


def _public_trip() -> tuple[UUID, list[c.EventEnvelope]]:
    trip, owner, lisbon, market = uuid4(), uuid4(), uuid4(), uuid4()
    return trip, [
        trip_created(trip, owner, "Lisbon food week"),
        destination_added(trip, 2, owner, lisbon, "Lisbon"),
        activity_added(trip, 3, owner, lisbon, market),
        c.TripVisibilityChanged(
            **envelope(trip, 4, owner),  # type: ignore[arg-type]
            payload=c.TripVisibilityChangedPayload(visibility="public"),
        ),
    ]


def test_a_public_trip_offers_its_destinations_and_activities() -> None:
    trip, events = _public_trip()
    state = RECOMMENDATION_CATALOGUE.fold(events, None)
    assert state is not None
    entries = catalogue_entries(trip, state)
    assert sorted((e.kind, e.title) for e in entries) == [
        ("activity", "Temple"),
        ("destination", "Lisbon"),
    ]
    activity = next(e for e in entries if e.kind == "activity")
    assert (activity.lat, activity.lng, str(activity.cost)) == (35.0, 135.7, "12.50")
    assert activity.text == "Temple. sightseeing"
    assert profile_text(state) == "Lisbon food week. Lisbon. Temple. sightseeing"


def test_private_archived_or_removed_items_are_offered_to_nobody() -> None:
    trip, events = _public_trip()
    owner = events[0].actor_id
    state = RECOMMENDATION_CATALOGUE.fold(events, None)
    archived = RECOMMENDATION_CATALOGUE.fold(
        [c.TripArchived(**envelope(trip, 5, owner))],  # type: ignore[arg-type]
        state,
    )
    assert catalogue_entries(trip, archived) == []
    private = RECOMMENDATION_CATALOGUE.fold(
        [
            c.TripVisibilityChanged(
                **envelope(trip, 5, owner),  # type: ignore[arg-type]
                payload=c.TripVisibilityChangedPayload(visibility="private"),
            )
        ],
        state,
    )
    assert catalogue_entries(trip, private) == []
    assert private is not None and profile_text(private)  # its own profile stays
    activity_id = next(iter(state["activities"])) if state else ""
    removed = RECOMMENDATION_CATALOGUE.fold(
        [
            c.ActivityRemoved(
                **envelope(trip, 5, owner),  # type: ignore[arg-type]
                payload=c.ActivityRefPayload(activity_id=UUID(activity_id)),
            )
        ],
        state,
    )
    assert [e.kind for e in catalogue_entries(trip, removed)] == ["destination"]
    assert state is not None and len(state["activities"]) == 1  # the fold changed a copy
