"""Domain errors. The API maps each one to one HTTP status and one stable error code."""

from __future__ import annotations

from uuid import UUID


class DomainError(Exception):
    """Base of every error the write side raises on purpose."""


class NotFoundError(DomainError):
    """The addressed entity does not exist (or does not exist for this actor)."""


class TripNotFoundError(NotFoundError):
    def __init__(self, trip_id: UUID) -> None:
        super().__init__(f"Trip {trip_id} not found")
        self.trip_id = trip_id


class DestinationNotFoundError(NotFoundError):
    def __init__(self, destination_id: UUID) -> None:
        super().__init__(f"Destination {destination_id} not found")
        self.destination_id = destination_id


class InvariantError(DomainError):
    """A command would break a rule of the domain."""


class EndBeforeStartError(InvariantError):
    def __init__(self, what: str) -> None:
        super().__init__(f"{what} ends before it starts")


class DatesOutsideTripError(InvariantError):
    def __init__(self) -> None:
        super().__init__("Destination dates must lie within the trip's dates")


class TimesOutsideDestinationError(InvariantError):
    def __init__(self) -> None:
        super().__init__("Activity times must lie within its destination's dates")


class VersionMismatchError(DomainError):
    """The caller's expected version (If-Match) is not the aggregate's current version."""

    def __init__(self, expected: int, current: int) -> None:
        super().__init__(f"Expected version {expected}, but the current version is {current}")
        self.expected = expected
        self.current = current


class ConcurrencyConflictError(DomainError):
    """Other writers kept changing the aggregate while this command retried."""

    def __init__(self, aggregate_id: UUID) -> None:
        super().__init__(f"Too many concurrent changes to {aggregate_id}; retry the command")
        self.aggregate_id = aggregate_id
