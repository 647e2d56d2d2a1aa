from __future__ import annotations

from uuid import UUID


class ReadSideError(Exception):
    pass


class TripViewNotFoundError(ReadSideError):
    def __init__(self, trip_id: UUID) -> None:
        super().__init__(f"Trip {trip_id} not found")
        self.trip_id = trip_id


class InvalidCursorError(ReadSideError):
    pass


class UserProfileNotFoundError(ReadSideError):
    def __init__(self, user_id: UUID) -> None:
        super().__init__(f"User {user_id} not found")
        self.user_id = user_id


class DestinationViewNotFoundError(ReadSideError):
    def __init__(self, destination_id: UUID) -> None:
        super().__init__(f"Destination {destination_id} not found")


class ActivityViewNotFoundError(ReadSideError):
    def __init__(self, activity_id: UUID) -> None:
        super().__init__(f"Activity {activity_id} not found")


class VersionAheadError(ReadSideError):
    """A reader asked to wait for a version the trip has not reached in the event store."""

    def __init__(self, trip_id: UUID, wanted: int) -> None:
        super().__init__(f"Trip {trip_id} has not reached version {wanted}")
        self.trip_id = trip_id
        self.wanted = wanted


class SyncResetRequiredError(ReadSideError):
    """A sync cursor that can no longer be served (expired, or from a feed built again): the
    client drops its replica and pulls from scratch."""


class MembersOnlyError(ReadSideError):
    """The caller may read the trip (a public one) but is not one of its members."""

    def __init__(self, what: str) -> None:
        super().__init__(f"Only the trip's members may read its {what}")


class OperatorsOnlyError(ReadSideError):
    def __init__(self) -> None:
        super().__init__("Only operators may read the overview (`itinera users grant-admin EMAIL`)")


class DateRangeError(ReadSideError):
    """`from` after `to`, or a range longer than the overview serves at once."""
