"""The envelope every published message is, and the rule of reading: a new optional field
may join a contract's version, so readers ignore fields they do not know (they validate with
`extra="ignore"`, pydantic's own override, nested models included), while what we produce is
checked strictly (`extra="forbid"`)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field


class Contract(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class EventEnvelope(Contract):
    event_id: UUID
    event_type: str
    schema_version: int
    aggregate_id: UUID
    aggregate_version: int = Field(ge=1)
    occurred_at: datetime
    actor_id: UUID
    correlation_id: UUID

    def partition_key(self) -> UUID:
        """What the message is keyed by on its topic: its events stay in order there."""
        return self.aggregate_id
