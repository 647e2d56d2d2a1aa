"""What every command route returns: the entity id and the trip's new version, as an ETag."""

from __future__ import annotations

import logging

from fastapi import Request
from fastapi.responses import JSONResponse

from api.envelope import ok
from write_side.context import CommandContext
from write_side.trips.commands import CommandResult

log = logging.getLogger("itinera.commands")


def command_response(
    request: Request,
    result: CommandResult,
    *,
    action: str,
    entity: str,
    context: CommandContext,
    status_code: int = 200,
) -> JSONResponse:
    log.info(
        "action=%s entity=%s id=%s actor=%s correlation_id=%s trip_id=%s version=%d",
        action,
        entity,
        result.id,
        context.actor_id,
        context.correlation_id,
        result.trip_id,
        result.version,
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
