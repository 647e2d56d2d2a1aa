"""What the user sees: the server's rows with the mutations not yet confirmed played on top,
in order (Replicache's optimistic view). Pure; no I/O.

Playing a mutation here is a guess at what the server will do; the next pull replaces the
guess with the server's rows, and the mutation leaves the outbox once a checkpoint covers it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from infra.sync_client.records import ENTITY_TYPES, Mutation, Row

# entity type → id → the entity's fields
View = dict[str, dict[str, dict[str, Any]]]

PARENT = {"destination": "trip_id", "activity": "destination_id"}


def optimistic(
    rows: Iterable[Row], mutations: Iterable[Mutation], server_ids: Mapping[str, str]
) -> View:
    """The rows, then each mutation the server has not refused, oldest first."""
    view: View = {entity_type: {} for entity_type in ENTITY_TYPES}
    for row in rows:
        view[row.entity_type][row.id] = dict(row.data)
    for mutation in mutations:
        if mutation.status in ("pending", "applied"):
            play(view, mutation, server_ids)
    return view


def play(view: View, m: Mutation, server_ids: Mapping[str, str]) -> None:
    entities = view[m.entity_type]
    entity_id = server_ids.get(m.entity_id, m.entity_id)
    fields = {k: v for k, v in m.data.items() if k != "order"}
    if m.action == "create":
        if m.entity_type == "message" and entity_id in entities:
            return  # the server's row of it is here already, under the server's id
        entities[entity_id] = {**entities.get(entity_id, {}), **fields, "id": entity_id}
        entities[entity_id]["trip_id"] = _trip_of(view, m.entity_type, entity_id)
    elif m.action == "update" and entity_id in entities:
        entities[entity_id].update(fields)
    elif m.action == "delete":
        _remove(view, m.entity_type, entity_id)
    if "order" in m.data and m.entity_type in PARENT and entity_id in entities:
        _move(view, m.entity_type, entity_id, int(m.data["order"]))


def _trip_of(view: View, entity_type: str, entity_id: str) -> str:
    entity = view[entity_type][entity_id]
    if entity_type == "trip":
        return entity_id
    if entity_type == "activity":
        parent = view["destination"].get(str(entity.get("destination_id")), {})
        return str(parent.get("trip_id", ""))
    return str(entity.get("trip_id", ""))


def _remove(view: View, entity_type: str, entity_id: str) -> None:
    """An entity and what belongs to it (a trip's everything, a destination's activities)."""
    view[entity_type].pop(entity_id, None)
    if entity_type == "trip":
        for kind in ENTITY_TYPES:
            for child in [i for i, e in view[kind].items() if e.get("trip_id") == entity_id]:
                del view[kind][child]
    elif entity_type == "destination":
        activities = view["activity"]
        for child in [i for i, e in activities.items() if e.get("destination_id") == entity_id]:
            del activities[child]


def _move(view: View, entity_type: str, entity_id: str, order: int) -> None:
    """Put an entity at `order` among its siblings (0: first) and number them again."""
    parent = PARENT[entity_type]
    entities = view[entity_type]
    moved = entities[entity_id]
    siblings = sorted(
        (e for i, e in entities.items() if i != entity_id and e.get(parent) == moved.get(parent)),
        key=lambda e: (int(e.get("order", 0)), str(e.get("rank", ""))),
    )
    siblings.insert(min(order, len(siblings)), moved)
    for position, sibling in enumerate(siblings):
        sibling["order"] = position
