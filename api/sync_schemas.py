"""What sync clients send: the seed's push, pull and resolve bodies, and each change's
`data` validated as the matching HTTP body is (the same limits, zones, currencies)."""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Annotated, Any, Literal
from uuid import UUID

import orjson
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from api.chat_schemas import ClientMessageType, Content
from api.schemas import (
    Body,
    CreateActivityBody,
    CreateDestinationBody,
    CreateTripBody,
    LocationBody,
    TimeZone,
    UpdateActivityBody,
    UpdateTripBody,
    _known_zone,
)
from api.text import Text, Title
from write_side.sync.changes import SyncChange

ClientId = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[!-~]+$")]
MutationId = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[!-~]+$")]
EntityType = Literal["trip", "destination", "activity", "message"]
Strategy = Literal["server_wins", "client_wins", "merge", "manual"]

# What a client may send back as it pulled it, and the server keeps as it is (an entity's id
# is `entity_id`; its trip, destination, version and stamps are not the client's to set).
READ_ONLY = frozenset(
    {
        "id", "version", "created_at", "updated_at", "creator_id", "members", "rank",
        "archived", "totals", "time_zone_set", "is_edited", "seq", "sender_id",
        "destinations", "activities",
    }
)  # fmt: skip
MOVED_WITH = {"destination": "trip_id", "activity": "destination_id", "message": "trip_id"}


class ChangeIn(Body):
    entity_type: EntityType
    entity_id: UUID = Field(description="Chosen by the client for a create (offline creation)")
    action: Literal["create", "update", "delete"]
    client_timestamp: AwareDatetime | None = Field(
        default=None,
        description="When the change was made (seed rule: without base_version, another "
        "user's change of the same field after it is a conflict)",
    )
    data: dict[str, Any] = Field(default_factory=dict)
    mutation_id: MutationId | None = Field(
        default=None,
        description="The client's name for this change, unique per client_id: a retry never "
        "applies it twice and gets its first outcome",
    )
    base_version: int | None = Field(
        default=None,
        ge=0,
        le=2**31 - 1,
        description="The entity's version the client edited from (as pulled): only another "
        "user's change of the same field since then is a conflict",
    )


class PushBody(Body):
    changes: list[ChangeIn]
    client_id: ClientId


class PullBody(Body):
    """The seed sends these on `GET /sync/pull/` as a JSON body; they may also be given as
    query parameters, or POSTed."""

    last_sync_timestamp: AwareDatetime | None = None
    entity_types: list[EntityType] | None = None
    cursor: Annotated[str, StringConstraints(max_length=64_000)] | None = None
    limit: int | None = Field(default=None, ge=1)
    client_id: ClientId | None = None


class ResolveBody(Body):
    conflict_id: UUID
    resolution_strategy: Strategy
    resolved_data: dict[str, Any] | None = Field(
        default=None, description="merge and manual: the entity's fields as the user settled them"
    )
    notes: Annotated[str, StringConstraints(max_length=2000)] | None = None


class DestinationUpdate(Body):
    """Only the fields sent change."""

    name: Title | None = None
    description: Text | None = None
    location: LocationBody | None = None
    arrival_date: date | None = None
    departure_date: date | None = None
    time_zone: Annotated[TimeZone | None, AfterValidator(_known_zone)] = None

    @model_validator(mode="after")
    def _no_nulls(self) -> DestinationUpdate:
        for name in self.model_fields_set:
            if getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class MessageCreate(Body):
    trip_id: UUID
    content: Content
    message_type: ClientMessageType = "text"
    reply_to: UUID | None = None


class MessageEdit(Body):
    content: Content


class Position(BaseModel):
    order: int | None = Field(default=None, ge=0, le=100_000)


class InvalidChangeError(ValueError):
    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("The changes are not valid")
        self.errors = errors


def parse_changes(changes: list[ChangeIn]) -> list[SyncChange]:
    """Each change with its data validated and typed; all errors at once (nothing is applied
    if any change is malformed)."""
    parsed: list[SyncChange] = []
    errors: list[dict[str, Any]] = []
    for index, change in enumerate(changes):
        try:
            parsed.append(parse_change(change))
        except ValidationError as error:
            errors += [
                {
                    "field": ".".join(str(p) for p in ("changes", index, "data", *e["loc"])),
                    "message": e["msg"],
                    "type": e["type"],
                }
                for e in error.errors()
            ]
        except InvalidChangeError as error:
            errors += [{**e, "field": f"changes.{index}.data"} for e in error.errors]
    if errors:
        raise InvalidChangeError(errors)
    return parsed


def parse_change(change: ChangeIn) -> SyncChange:
    data = {k: v for k, v in change.data.items() if k not in READ_ONLY}
    if change.action != "create":
        data.pop(MOVED_WITH.get(change.entity_type, ""), None)
    position = Position.model_validate({"order": data.pop("order", None)}).order
    fields = _fields(change.entity_type, change.action, data)
    if position is not None:
        fields["position"] = position
    if change.action == "update" and not fields:
        raise InvalidChangeError(
            [{"message": "Name at least one field to change", "type": "value_error"}]
        )
    return SyncChange(
        entity_type=change.entity_type,
        entity_id=change.entity_id,
        action=change.action,
        fields=fields,
        data=change.data,
        client_timestamp=change.client_timestamp,
        mutation_id=change.mutation_id,
        base_version=change.base_version,
        fingerprint=fingerprint(change),
    )


def fingerprint(change: ChangeIn) -> str:
    what = change.model_dump(mode="json", exclude={"mutation_id", "client_timestamp"})
    return hashlib.sha256(orjson.dumps(what, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _fields(entity_type: str, action: str, data: dict[str, Any]) -> dict[str, Any]:
    if action == "delete":
        return {}
    if entity_type == "trip":
        if action == "create":
            trip = CreateTripBody.model_validate(data)
            return trip.model_dump()
        return UpdateTripBody.model_validate(data).model_dump(exclude_unset=True)
    if entity_type == "destination":
        if action == "create":
            destination = CreateDestinationBody.model_validate(data)
            return {
                **destination.model_dump(exclude={"location"}),
                "location": destination.location_dict(),
            }
        changes = DestinationUpdate.model_validate(data)
        found = changes.model_dump(exclude_unset=True)
        if changes.location is not None:
            found["location"] = changes.location.model_dump()
        return found
    if entity_type == "activity":
        if action == "create":
            activity = CreateActivityBody.model_validate(data)
            return {
                **activity.model_dump(
                    include={
                        "destination_id",
                        "title",
                        "description",
                        "activity_type",
                        "cost",
                        "currency",
                    }
                ),
                "start": activity.starts(),
                "end": activity.ends(),
            }
        if not data:
            return {}
        return UpdateActivityBody.model_validate(data).changes()
    if action == "create":
        return MessageCreate.model_validate(data).model_dump()
    return MessageEdit.model_validate(data).model_dump()
