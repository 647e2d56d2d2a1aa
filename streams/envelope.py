"""The envelope every published message is, and the rule of reading: a new optional field
may join a contract's version, so readers ignore fields they do not know (validating with
`READING` as the context), while what we produce is checked strictly (`extra="forbid"`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, model_validator

# The validation context of the read path: unknown fields (from a newer producer) are dropped.
READING: dict[str, bool] = {"reading": True}


class Contract(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _unknown_fields_dropped_when_reading(cls, data: Any, info: ValidationInfo) -> Any:
        if info.context is READING and type(data) is dict:
            known = cls.model_fields
            if any(name not in known for name in data):
                return {name: value for name, value in data.items() if name in known}
        return data


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
