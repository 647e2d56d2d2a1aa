"""Contracts of the `system-notifications` topic: what an operator's tooling wants to hear
without scraping logs. Keyed by what they are about (a projection's name, `signing-keys`,
`relay`), so each subject's notices stay in order.

They are signals, not data: published after the fact, at most once (a failure to publish is
logged and does not hold up the work it reports).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import Field, TypeAdapter

from streams.envelope import Contract


class SystemNotice(Contract):
    event_id: UUID
    event_type: str
    schema_version: int
    occurred_at: datetime
    subject: str  # the partition key
    host: str  # the machine and process that saw it: "host:pid"

    def partition_key(self) -> str:
        return self.subject


class ProjectionParkedPayload(Contract):
    projection: str
    aggregate_id: UUID
    applied_version: int = Field(ge=0)  # the last version applied before the failing event
    dead_letters: int = Field(ge=1)
    error: str  # the error's type and first line


class ProjectionRebuiltPayload(Contract):
    projection: str
    version: int = Field(ge=1)  # the projection's code version now in the live tables
    events: int = Field(ge=0)
    parked: int = Field(ge=0)  # aggregates left parked by events that failed again
    seconds: float = Field(ge=0)


class SigningKeyRotatedPayload(Contract):
    kid: str
    signs_from: datetime


class RelayTookOverPayload(Contract):
    position: int = Field(ge=0)  # where it resumes publishing the event store's log


class ProjectionParked(SystemNotice):
    event_type: Literal["ProjectionParked"] = "ProjectionParked"
    schema_version: Literal[1] = 1
    payload: ProjectionParkedPayload


class ProjectionRebuilt(SystemNotice):
    event_type: Literal["ProjectionRebuilt"] = "ProjectionRebuilt"
    schema_version: Literal[1] = 1
    payload: ProjectionRebuiltPayload


class SigningKeyRotated(SystemNotice):
    event_type: Literal["SigningKeyRotated"] = "SigningKeyRotated"
    schema_version: Literal[1] = 1
    payload: SigningKeyRotatedPayload


class RelayTookOver(SystemNotice):
    event_type: Literal["RelayTookOver"] = "RelayTookOver"
    schema_version: Literal[1] = 1
    payload: RelayTookOverPayload


SYSTEM_CONTRACTS: tuple[type[SystemNotice], ...] = (
    ProjectionParked,
    ProjectionRebuilt,
    SigningKeyRotated,
    RelayTookOver,
)

AnySystemNotice = Annotated[
    ProjectionParked | ProjectionRebuilt | SigningKeyRotated | RelayTookOver,
    Field(discriminator="event_type"),
]
_system_notice = TypeAdapter[AnySystemNotice](AnySystemNotice)


def parse_system_notice(raw: bytes | str) -> SystemNotice:
    notice: SystemNotice = _system_notice.validate_json(raw, extra="ignore")
    return notice
