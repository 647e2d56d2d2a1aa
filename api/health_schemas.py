"""What the health endpoints answer, for the OpenAPI document only (never validated: the
handlers build their bodies themselves, from infra.observability)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field
from pydantic.json_schema import SkipJsonSchema


class LiveBody(BaseModel):
    status: Literal["ok"]


class CheckBody(BaseModel):
    """One dependency's probe: public, it names no host, address or error text."""

    status: Literal["ok", "down"]
    seconds: float = Field(description="How long the probe took")
    # Absent, never null, when the dependency answered.
    reason: Literal["timeout", "unreachable", "error"] | SkipJsonSchema[None] = Field(
        default=None, description="Why it is down (only when down)"
    )


class ReadinessBody(BaseModel):
    """The same shape with 200 (all ok) and 503 (one is down: `unavailable`)."""

    status: Literal["ok", "unavailable"]
    checks: dict[str, CheckBody] = Field(description="By dependency: database, redis, kafka")


class ProjectionHealthBody(BaseModel):
    name: str
    status: Literal["ok", "lagging", "parked", "rebuilding", "stalled"]
    version: int = Field(description="The version the code declares")
    built_version: int | None = Field(description="The version the live tables hold")
    lag_events: int
    lag_seconds: float
    parked: int = Field(description="Aggregates parked")
    dead_letters: int


class ProjectionsHealthBody(BaseModel):
    """The same shape with 200 and 503 (one is `stalled`: behind, making no progress)."""

    status: Literal["ok", "degraded", "stalled"]
    projections: list[ProjectionHealthBody]
