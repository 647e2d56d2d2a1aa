"""What every command route returns: the entity id and the trip's new version, as an ETag."""

from __future__ import annotations

import logging
from uuid import UUID

from fastapi import Request
from fastapi.responses import JSONResponse

from api.envelope import ok
from infra.wiring import Container
from write_side.context import CommandContext
from write_side.trips.commands import CommandResult

log = logging.getLogger("itinera.commands")


def log_command(
    action: str,
    entity: str,
    entity_id: UUID,
    *,
    actor: UUID,
    correlation_id: UUID,
    trip_id: UUID | None = None,
    version: int | None = None,
    replayed: bool = False,
) -> None:
    """One line per command that succeeded, its facts as fields of their own, under the same
    names wherever a command is logged; never what the command carried."""
    fields: dict[str, object] = {
        "actor": str(actor),
        "action": action,
        "entity": entity,
        "entity_id": str(entity_id),
        "correlation_id": str(correlation_id),
    }
    if trip_id is not None:
        fields.update(trip_id=str(trip_id), version=version, replayed=replayed)
    log.info("%s %s %s", action, entity, entity_id, extra=fields)


def command_response(
    request: Request,
    result: CommandResult,
    *,
    action: str,
    entity: str,
    context: CommandContext,
    status_code: int = 200,
) -> JSONResponse:
    if not result.replayed:
        container: Container = request.app.state.container
        container.write_pacing.wrote(result.trip_id, result.version)
    log_command(
        action,
        entity,
        result.id,
        actor=context.actor_id,
        correlation_id=context.correlation_id,
        trip_id=result.trip_id,
        version=result.version,
        replayed=result.replayed,
    )
    return ok(
        request,
        {"id": result.id, "trip_id": result.trip_id, "version": result.version},
        status_code=status_code,
        headers={
            "ETag": f'"{result.version}"',
            **({"Idempotent-Replayed": "true"} if result.replayed else {}),
        },
    )
