"""The credentials projection: for each user whose password changed or who was deactivated,
the instant before which their tokens are revoked. Pure; no I/O.

Logout and rotation revoke tokens directly; a password change or a deactivation also does,
right after its event commits, but that second write can fail. This read model makes the
revocation follow from the event itself: it is projected at least once, so it cannot be lost.
"""

from __future__ import annotations

from projections.engine.projection import Projection
from read_side.documents import CredentialsDocument
from streams.contracts import EventEnvelope
from streams.notification_contracts import INBOX_CONTRACTS
from streams.topics import USER_EVENTS
from streams.user_contracts import (
    ACCOUNT_CONTRACTS,
    UserAdminGranted,
    UserDeactivated,
    UserPasswordChanged,
    UserPasswordReset,
    UserProfileUpdated,
    UserRegistered,
)

CREDENTIALS: Projection[CredentialsDocument] = Projection(
    name="credentials", version=1, topics=(USER_EVENTS,)
)
CREDENTIALS.ignores(UserRegistered, UserProfileUpdated, UserAdminGranted)  # tokens stay valid
CREDENTIALS.ignores(*INBOX_CONTRACTS)  # notifications
# Links asked for, mailed, an address verified or changed: sessions stay valid.
CREDENTIALS.ignores(*(c for c in ACCOUNT_CONTRACTS if c is not UserPasswordReset))


def _tokens_end(_: CredentialsDocument | None, event: EventEnvelope) -> CredentialsDocument:
    return CredentialsDocument(
        id=str(event.aggregate_id),
        version=event.aggregate_version,
        revoked_before=event.occurred_at.timestamp(),
    )


CREDENTIALS.applies(UserPasswordChanged)(_tokens_end)
CREDENTIALS.applies(UserDeactivated)(_tokens_end)
CREDENTIALS.applies(UserPasswordReset)(_tokens_end)
