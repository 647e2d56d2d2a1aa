"""The user directory projection: each user's public profile. Pure; no I/O."""

from __future__ import annotations

from projections.engine.projection import MissingStateError, Projection
from read_side.documents import UserDocument
from streams.contracts import EventEnvelope
from streams.notification_contracts import INBOX_CONTRACTS
from streams.topics import USER_EVENTS
from streams.user_contracts import (
    ACCOUNT_CONTRACTS,
    UserAdminGranted,
    UserDeactivated,
    UserPasswordChanged,
    UserProfileUpdated,
    UserRegistered,
)


def _working_copy(profile: UserDocument) -> UserDocument:
    return profile.copy()


USER_DIRECTORY: Projection[UserDocument] = Projection(
    name="user_directory", version=1, topics=(USER_EVENTS,), begin=_working_copy
)
USER_DIRECTORY.ignores(UserPasswordChanged, UserAdminGranted)  # nothing public changes
USER_DIRECTORY.ignores(*INBOX_CONTRACTS)  # notifications
USER_DIRECTORY.ignores(*ACCOUNT_CONTRACTS)  # passwords and addresses are not public


def _existing(profile: UserDocument | None, event: EventEnvelope) -> UserDocument:
    if profile is None:
        raise MissingStateError(event)
    profile["version"] = event.aggregate_version
    return profile


@USER_DIRECTORY.applies(UserRegistered)
def _registered(profile: UserDocument | None, event: UserRegistered) -> UserDocument:
    p = event.payload
    return UserDocument(
        id=str(event.aggregate_id),
        version=event.aggregate_version,
        username=p.username,
        first_name=p.first_name,
        last_name=p.last_name,
        bio="",
        avatar_url="",
        is_active=True,
    )


@USER_DIRECTORY.applies(UserProfileUpdated)
def _profile_updated(profile: UserDocument | None, event: UserProfileUpdated) -> UserDocument:
    profile = _existing(profile, event)
    p = event.payload
    profile["first_name"] = p.first_name
    profile["last_name"] = p.last_name
    profile["bio"] = p.bio
    profile["avatar_url"] = p.avatar_url
    return profile


@USER_DIRECTORY.applies(UserDeactivated)
def _deactivated(profile: UserDocument | None, event: UserDeactivated) -> UserDocument:
    profile = _existing(profile, event)
    profile["is_active"] = False
    return profile
