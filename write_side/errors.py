"""Domain errors. The API maps each one to one HTTP status and one stable error code."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID


class DomainError(Exception):
    """Base of every error the write side raises on purpose."""


class EventStoreUnavailableError(DomainError):
    """The event store could not record the command now; nothing was recorded."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"The event store is unavailable, try again: {reason}")


class DependencyUnavailableError(DomainError):
    """A service the request needs (Redis, PostgreSQL) did not answer in time. Nothing was
    decided on a guess: the request is refused, and a retry later may pass."""

    def __init__(self, dependency: str, retry_after: float = 1.0) -> None:
        super().__init__(f"{dependency} is unavailable, try again shortly")
        self.dependency = dependency
        self.retry_after = retry_after


class CommandKeyReusedError(DomainError):
    """The client's key already names another command (another route or body)."""

    def __init__(self, key: str) -> None:
        super().__init__(f"The key {key!r} was used for a different request")


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


class UserNotFoundError(NotFoundError):
    def __init__(self, user_id: UUID) -> None:
        super().__init__(f"User {user_id} not found")
        self.user_id = user_id


class EmailTakenError(DomainError):
    def __init__(self) -> None:
        super().__init__("An account with this email already exists")


class UsernameTakenError(DomainError):
    def __init__(self) -> None:
        super().__init__("This username is taken")


class InvalidCredentialsError(DomainError):
    """Wrong login or password, or a deactivated account: deliberately indistinguishable."""

    def __init__(self) -> None:
        super().__init__("Invalid login or password")


class AuthenticationError(DomainError):
    """A token is missing, malformed, forged, expired, revoked or of an inactive user. Every
    case reads the same to the caller, so a failure tells an attacker nothing."""

    def __init__(self, reason: str) -> None:
        super().__init__("Authentication required")
        self.reason = reason  # for logs only


class RateLimitedError(DomainError):
    def __init__(self, retry_after: float) -> None:
        super().__init__("Too many requests; retry later")
        self.retry_after = retry_after


class ForbiddenError(DomainError):
    """The actor may see the trip but not do this to it (their role does not allow it)."""

    def __init__(self, action: str) -> None:
        super().__init__(f"Your role on this trip does not allow: {action}")


class InvalidStatusTransitionError(InvariantError):
    def __init__(self, current: str, requested: str) -> None:
        super().__init__(f"A {current} trip cannot become {requested}")
        self.current = current
        self.requested = requested


class LastOwnerError(InvariantError):
    def __init__(self) -> None:
        super().__init__("A trip keeps at least one owner: add another owner first")


class AlreadyMemberError(DomainError):
    def __init__(self, user_id: UUID) -> None:
        super().__init__(f"User {user_id} is already a member of this trip")


class EntityExistsError(DomainError):
    """A create with a client-chosen id that another entity already has."""

    def __init__(self, entity_id: UUID) -> None:
        super().__init__(f"The id {entity_id} is taken by another entity")
        self.entity_id = entity_id


class UnsupportedChangeError(DomainError):
    """A sync change the domain has no command for (deleting a chat message)."""


class EntityDeletedError(DomainError):
    """An edit of an entity that is gone (removed, or its trip archived)."""

    def __init__(self, entity_id: UUID) -> None:
        super().__init__(f"{entity_id} was deleted: the next pull lists it under deleted")
        self.entity_id = entity_id


class VersionAheadOfTripError(DomainError):
    def __init__(self, base_version: int, current: int) -> None:
        super().__init__(f"base_version {base_version} is ahead of the trip (at {current})")


class BaseVersionTooOldError(DomainError):
    def __init__(self, base_version: int, current: int) -> None:
        super().__init__(
            f"base_version {base_version} is too far behind the trip (at {current}): "
            "pull, and make the change again from what you pulled"
        )


class ConflictNotFoundError(NotFoundError):
    def __init__(self, conflict_id: UUID) -> None:
        super().__init__(f"Conflict {conflict_id} not found")


class MemberNotFoundError(NotFoundError):
    def __init__(self, user_id: UUID) -> None:
        super().__init__(f"User {user_id} is not a member of this trip")


class ActivityNotFoundError(NotFoundError):
    def __init__(self, activity_id: UUID) -> None:
        super().__init__(f"Activity {activity_id} not found")
        self.activity_id = activity_id


class InvalidTimeZoneError(InvariantError):
    def __init__(self, name: str) -> None:
        super().__init__(f"{name!r} is not an IANA time zone (such as 'Europe/Lisbon')")


class TripClosedError(InvariantError):
    def __init__(self, status: str) -> None:
        super().__init__(
            f"The trip is {status}: its destinations, activities and dates can no longer change"
        )
        self.status = status


class InvalidCurrencyError(InvariantError):
    def __init__(self, code: str | None) -> None:
        super().__init__(f"{code!r} is not an ISO 4217 currency with minor units (such as EUR)")


class InvalidAmountError(InvariantError):
    def __init__(self, currency: str, exponent: int) -> None:
        super().__init__(f"{currency} amounts have at most {exponent} decimal places")
        self.currency = currency
        self.exponent = exponent


class NonexistentLocalTimeError(InvariantError):
    """A wall-clock time skipped by a daylight-saving change (02:30 when clocks jump to 03:00)."""

    def __init__(self, local: datetime, time_zone: str) -> None:
        super().__init__(f"{local.isoformat()} does not exist in {time_zone} (clocks skip it)")


class AmbiguousLocalTimeError(InvariantError):
    """A wall-clock time that happens twice (the hour repeated when clocks go back)."""

    def __init__(self, local: datetime, time_zone: str) -> None:
        super().__init__(
            f"{local.isoformat()} happens twice in {time_zone}: say which with fold 0 (the "
            "first, before clocks go back) or 1 (the second)"
        )


class TimeOutOfRangeError(InvariantError):
    def __init__(self, local: datetime) -> None:
        super().__init__(f"{local.isoformat()} is out of range (years {MIN_YEAR} to {MAX_YEAR})")


MIN_YEAR, MAX_YEAR = 1900, 2200


class FieldConflictError(VersionMismatchError):
    """Fields this change names were changed by someone else since the version it saw."""

    def __init__(self, expected: int, current: int, fields: list[str]) -> None:
        super().__init__(expected, current)
        self.fields = fields


class MessageNotFoundError(NotFoundError):
    def __init__(self, message_id: UUID) -> None:
        super().__init__(f"Message {message_id} not found")
        self.message_id = message_id


class MessageContentError(InvariantError):
    """A message's content is empty or too long."""


class ReplyOutsideRoomError(InvariantError):
    def __init__(self, message_id: UUID) -> None:
        super().__init__(f"Message {message_id} to reply to is not in this room")


class NotMessageSenderError(ForbiddenError):
    def __init__(self, message_id: UUID) -> None:
        DomainError.__init__(self, f"Only the sender of message {message_id} may edit it")


class SystemMessageEditError(InvariantError):
    def __init__(self, message_id: UUID) -> None:
        super().__init__(f"Message {message_id} was written by Itinera and cannot be edited")


class NotificationNotFoundError(NotFoundError):
    def __init__(self, notification_id: UUID) -> None:
        super().__init__(f"Notification {notification_id} not found")
        self.notification_id = notification_id
