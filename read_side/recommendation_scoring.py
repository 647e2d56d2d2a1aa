"""Ranking recommendations, pure: distances on the sphere, the box a radius fits in, cosine,
the words of a text, and the score and reason of each suggestion.

score = 0.55 · similarity (cosine of the trip's profile and the candidate, below 0 as 0)
      + 0.25 · proximity (1 at the trip's destination, 0 at the edge of the reach)
      + 0.20 · popularity (how many public trips planned the same title nearby: 1 → 0, 5+ → 1)
      + 0.25 · interest (the share of the asked interests the candidate's words match)
Candidates with the same normalised title are one suggestion (the best-scoring of them).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from operator import mul
from uuid import UUID

from read_side.recommendations import Suggestion, SuggestionKind, Vector

EARTH_RADIUS_KM = 6371.0088
KM_PER_DEGREE = math.pi * EARTH_RADIUS_KM / 180
W_SIMILARITY, W_PROXIMITY, W_POPULARITY, W_INTEREST = 0.55, 0.25, 0.20, 0.25
POPULAR_TRIPS = 5  # this many trips (or more) nearby: full popularity
SIMILAR = 0.35  # a cosine from which a candidate is said to resemble the trip
SAME_PLACE_KM = 2.0  # a destination this close to one of the trip's is that destination
DESTINATION_REACH = 3.0  # destinations are suggested up to this many radii away

_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class Box:
    south: float
    north: float
    west: float
    east: float


@dataclass(frozen=True)
class Place:
    """One of the trip's destinations."""

    id: UUID
    name: str
    lat: float
    lng: float


@dataclass(frozen=True)
class TripContext:
    places: tuple[Place, ...]
    own_titles: frozenset[str]  # normalised titles of the trip's activities
    own_names: frozenset[str]  # normalised names of the trip's destinations
    profile: Vector | None  # None: the trip has no embedding of the model compared


@dataclass(frozen=True)
class Candidate:
    """An activity or destination of another, public trip."""

    kind: SuggestionKind
    trip_id: UUID
    item_id: UUID
    title: str
    description: str
    activity_type: str | None
    lat: float
    lng: float
    vector: Vector
    cost: Decimal | None = None
    currency: str | None = None


def haversine_km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def bounding_boxes(lat: float, lng: float, km: float) -> list[Box]:
    """Boxes of latitude and longitude holding every point within `km` of (lat, lng): two
    when the circle crosses the antimeridian; the whole band of longitudes near a pole."""
    dlat = km / KM_PER_DEGREE
    south, north = max(-90.0, lat - dlat), min(90.0, lat + dlat)
    cos_lat = math.cos(math.radians(max(abs(south), abs(north))))
    if north >= 90 or south <= -90 or cos_lat < 1e-6:
        return [Box(south, north, -180.0, 180.0)]
    dlng = dlat / cos_lat
    if dlng >= 180:
        return [Box(south, north, -180.0, 180.0)]
    west, east = lng - dlng, lng + dlng
    if west < -180:
        return [Box(south, north, -180.0, east), Box(south, north, west + 360, 180.0)]
    if east > 180:
        return [Box(south, north, west, 180.0), Box(south, north, -180.0, east - 360)]
    return [Box(south, north, west, east)]


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    """The cosine of two vectors (0 when either is all zeros or their sizes differ)."""
    if len(a) != len(b):
        return 0.0
    norms = math.sqrt(sum(map(mul, a, a))) * math.sqrt(sum(map(mul, b, b)))
    return 0.0 if norms == 0 else sum(map(mul, a, b)) / norms


def words(text: str) -> list[str]:
    """Case-folded words, a plural's `s` dropped (`Museums` → `museum`)."""
    return [_singular(w) for w in _WORD.findall(text.casefold())]


def _singular(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def normalised_title(title: str) -> str:
    return " ".join(words(title))


def interest_matches(interests: Iterable[str], text: str) -> list[str]:
    """The interests each of whose words is a word of `text`."""
    found = set(words(text))
    return [i for i in interests if (wanted := words(i)) and set(wanted) <= found]


def rank(
    trip: TripContext,
    candidates: Iterable[Candidate],
    *,
    interests: Sequence[str],
    radius_km: float,
    limit: int,
) -> list[Suggestion]:
    """Up to `limit` activities within `radius_km` of a destination of the trip, then up to
    `limit` destinations within DESTINATION_REACH radii, each kind by score."""
    asked = [i.strip() for i in interests if i.strip()]
    by_kind: dict[SuggestionKind, list[Candidate]] = {"activity": [], "destination": []}
    for candidate in candidates:
        by_kind[candidate.kind].append(candidate)
    activities = _ranked(trip, by_kind["activity"], asked, radius_km)
    destinations = _ranked(trip, by_kind["destination"], asked, radius_km * DESTINATION_REACH)
    return activities[:limit] + destinations[:limit]


@dataclass(frozen=True)
class _Near:
    candidate: Candidate
    place: Place
    km: float


def _ranked(
    trip: TripContext, candidates: list[Candidate], interests: list[str], reach_km: float
) -> list[Suggestion]:
    groups: dict[str, list[_Near]] = {}
    for candidate in candidates:
        title = normalised_title(candidate.title)
        own = trip.own_titles if candidate.kind == "activity" else trip.own_names
        near = _nearest(trip.places, candidate)
        if not title or title in own or near is None or near.km > reach_km:
            continue
        if candidate.kind == "destination" and near.km <= SAME_PLACE_KM:
            continue
        groups.setdefault(title, []).append(near)
    found = [_best(trip, group, interests, reach_km) for group in groups.values()]
    return sorted(found, key=lambda s: (-s.score, s.title.casefold(), s.key))


def _nearest(places: Sequence[Place], candidate: Candidate) -> _Near | None:
    nearest: _Near | None = None
    for place in places:
        km = haversine_km(place.lat, place.lng, candidate.lat, candidate.lng)
        if nearest is None or km < nearest.km:
            nearest = _Near(candidate, place, km)
    return nearest


def _best(
    trip: TripContext, group: list[_Near], interests: list[str], reach_km: float
) -> Suggestion:
    trips = len({near.candidate.trip_id for near in group})
    popularity = min(1.0, (trips - 1) / (POPULAR_TRIPS - 1))
    scored = [_scored(trip, near, interests, reach_km, trips, popularity) for near in group]
    return max(scored, key=lambda s: (s.score, s.key))


def _scored(
    trip: TripContext,
    near: _Near,
    interests: list[str],
    reach_km: float,
    trips: int,
    popularity: float,
) -> Suggestion:
    c = near.candidate
    similarity = 0.0 if trip.profile is None else max(0.0, cosine(trip.profile, c.vector))
    proximity = max(0.0, 1.0 - near.km / reach_km) if reach_km > 0 else 0.0
    text = " ".join((c.title, c.description, c.activity_type or ""))
    matched = interest_matches(interests, text)
    interest = len(matched) / len(interests) if interests else 0.0
    score = (
        W_SIMILARITY * similarity
        + W_PROXIMITY * proximity
        + W_POPULARITY * popularity
        + W_INTEREST * interest
    )
    return Suggestion(
        kind=c.kind,
        key=f"{c.trip_id}:{c.item_id}",
        title=c.title,
        description=c.description,
        activity_type=c.activity_type,
        lat=c.lat,
        lng=c.lng,
        near_destination_id=near.place.id,
        distance_km=round(near.km, 2),
        similarity=round(similarity, 4),
        score=round(score, 4),
        reason=reason(c.kind, near.place.name, near.km, trips, similarity, matched),
        cost=c.cost,
        currency=c.currency,
    )


def reason(
    kind: SuggestionKind,
    place: str,
    km: float,
    trips: int,
    similarity: float,
    matched: Sequence[str],
) -> str:
    """Why it is suggested: "Popular near Lisbon (3 public trips, 1.2 km away); resembles
    your trip's plans; matches your interest in food"."""
    planned = "a public trip" if trips == 1 else f"{trips} public trips"
    if kind == "destination":
        parts = [f"Visited by {planned}, {km:.1f} km from {place}"]
    elif trips == 1:
        parts = [f"Planned by a public trip near {place} ({km:.1f} km away)"]
    else:
        parts = [f"Popular near {place} ({planned}, {km:.1f} km away)"]
    if similarity >= SIMILAR:
        parts.append("resembles your trip's plans")
    if matched:
        parts.append(f"matches your interest in {', '.join(matched)}")
    return "; ".join(parts)
