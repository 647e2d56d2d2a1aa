"""Which user events call for a mail: a registration and an email change (a verification
link), a password reset asked for (a reset link). Pure.

Sending is an effect done by the projection's store adapter (infra) through the write
side's account mail process manager, which finds whether the event still calls for a mail,
issues its token and records the event as mailed, so a redelivered event mails nothing
twice. A rebuild replays history without mailing anything again. Ignoring an event here is
deciding that it mails no one.
"""

from __future__ import annotations

from typing import TypedDict

from projections.engine.projection import Projection
from streams import user_contracts as u
from streams.contracts import EventEnvelope
from streams.notification_contracts import INBOX_CONTRACTS
from streams.topics import USER_EVENTS


class MailItem(TypedDict):
    user_id: str
    version: int  # the event's: with the user, it names the event mailed for


class MailsDue(TypedDict):
    """What a batch of one user's events calls for; nothing is kept between batches."""

    new: list[MailItem]


def _fresh(_: MailsDue) -> MailsDue:
    return MailsDue(new=[])


ACCOUNT_MAIL: Projection[MailsDue] = Projection(
    name="account_mail", version=1, topics=(USER_EVENTS,), begin=_fresh
)
ACCOUNT_MAIL.ignores(*INBOX_CONTRACTS)
ACCOUNT_MAIL.ignores(
    u.UserProfileUpdated,
    u.UserPasswordChanged,
    u.UserDeactivated,
    u.UserAdminGranted,
    u.UserPasswordResetIssued,
    u.UserPasswordReset,
    u.UserEmailVerificationIssued,
    u.UserEmailVerified,
    u.UserEmailChanged,
)


def _mail(state: MailsDue | None, event: EventEnvelope) -> MailsDue:
    found = state if state is not None else MailsDue(new=[])
    found["new"].append(MailItem(user_id=str(event.aggregate_id), version=event.aggregate_version))
    return found


for _asking in (
    u.UserRegistered,
    u.UserPasswordResetRequested,
    u.UserEmailChangeRequested,
    u.UserEmailVerificationRequested,
):
    ACCOUNT_MAIL.applies(_asking)(_mail)
