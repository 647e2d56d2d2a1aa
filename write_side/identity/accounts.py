"""The accounts application service: registration, login, sessions, profile, deactivation,
password reset and email verification (their mails are sent by `AccountMail`, reacting to
the events recorded here)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID, uuid4

from eventsourcing.persistence import IntegrityError

from write_side.context import CommandContext, acting_as
from write_side.errors import (
    AuthenticationError,
    ConcurrencyConflictError,
    EmailTakenError,
    InvalidCredentialsError,
    UsernameTakenError,
    UserNotFoundError,
)
from write_side.event_store import EventStore
from write_side.identity.account_tokens import user_of
from write_side.identity.errors import TokenInvalidError
from write_side.identity.passwords import hash_password, verify_password
from write_side.identity.tokens import Claims, TokenPair, TokenService
from write_side.identity.user import (
    EmailIndex,
    User,
    UsernameIndex,
    normalize_email,
    normalize_username,
)


@dataclass(frozen=True)
class Register:
    email: str
    username: str
    password: str
    first_name: str = ""
    last_name: str = ""


@dataclass(frozen=True)
class UpdateProfile:
    first_name: str
    last_name: str
    bio: str
    avatar_url: str


@dataclass(frozen=True)
class Session:
    user_id: UUID
    tokens: TokenPair


MAX_CONFLICT_RETRIES = 5  # saves of one account racing another writer of it


def _now() -> datetime:
    return datetime.now(UTC)


class Accounts:
    """`unverified_found_by_email`: whether an account whose address is not verified may be
    found by that address in search (by default it may not: an address someone typed in is
    not proof that its owner wants to be found by it)."""

    def __init__(
        self,
        events: EventStore,
        tokens: TokenService,
        *,
        unverified_found_by_email: bool = False,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self._events = events
        self._tokens = tokens
        self._unverified_found = unverified_found_by_email
        self._clock = clock

    @property
    def tokens(self) -> TokenService:
        return self._tokens

    def register(self, command: Register, correlation_id: UUID) -> UUID:
        user_id = uuid4()
        with acting_as(CommandContext(actor_id=user_id, correlation_id=correlation_id)):
            user = User(
                user_id=user_id,
                email=normalize_email(command.email),
                username=command.username.strip(),
                password_hash=hash_password(command.password),
                first_name=command.first_name,
                last_name=command.last_name,
            )
            email = self._claim(command.email, user_id)
            username = UsernameIndex(username=command.username, user_id=user_id)
        try:
            self._events.save(user, email, username)
        except IntegrityError:
            # One of the two index aggregates already exists: say which.
            if self._owner_of(command.email) is not None:
                raise EmailTakenError() from None
            raise UsernameTakenError() from None
        return user_id

    def login(self, login: str, password: str) -> Session:
        """`login` is an email or a username. Every failure is the same error."""
        user = self._find_by_login(login)
        if not verify_password(user.password_hash if user else None, password):
            raise InvalidCredentialsError()
        assert user is not None
        if not user.is_active:
            raise InvalidCredentialsError()
        return Session(user_id=user.id, tokens=self._tokens.issue(user.id))

    def login_subject(self, login: str) -> str:
        """Whom a login names, to count attempts against: the account's id, however it is
        named (email or username), or the normalized login when no account has it."""
        user = self._find_by_login(login)
        if user is not None:
            return str(user.id)
        return normalize_email(login) if "@" in login else normalize_username(login)

    def refresh(self, refresh_token: str) -> Session:
        claims, pair = self._tokens.refresh(refresh_token)
        if not self.get_user(claims.user_id).is_active:
            self._tokens.revoke_everything_of(claims.user_id)
            raise AuthenticationError("inactive user")
        return Session(user_id=claims.user_id, tokens=pair)

    def logout(self, access: Claims, refresh_token: str | None) -> None:
        refresh = None
        if refresh_token:
            refresh = self._tokens.refresh_claims(refresh_token)
            if refresh.user_id != access.user_id:
                raise AuthenticationError("refresh token of another user")
        self._tokens.revoke_session(access, refresh)

    def authenticate(self, access_token: str) -> Claims:
        return self._tokens.verify_access(access_token)

    def get_user(self, user_id: UUID) -> User:
        user = self._events.find(user_id, User)
        if user is None:
            raise UserNotFoundError(user_id)
        return user

    def update_profile(self, command: UpdateProfile, context: CommandContext) -> User:
        """The profile alone (the email kept)."""
        return self.update_me(command, None, context)

    def change_password(self, current: str, new: str, context: CommandContext) -> TokenPair:
        """Every existing session ends; the caller gets a new one."""
        password_hash = hash_password(new)

        def change(user: User) -> bool:
            if not verify_password(user.password_hash, current):
                raise InvalidCredentialsError()
            user.change_password(password_hash)
            return True

        self._change(context.actor_id, context, change)
        self._tokens.revoke_everything_of(context.actor_id)
        return self._tokens.issue(context.actor_id)

    def deactivate(self, context: CommandContext) -> None:
        def change(user: User) -> bool:
            user.deactivate()
            return True

        self._change(context.actor_id, context, change)
        self._tokens.revoke_everything_of(context.actor_id)

    def is_admin(self, user_id: UUID) -> bool:
        """Asked of the event store, not a read model: a grant is seen at once."""
        user = self._events.find(user_id, User)
        return user is not None and user.is_active and user.is_admin

    def request_password_reset(self, email: str, correlation_id: UUID) -> None:
        """Record the request when an active account holds this address; else nothing. The
        caller answers alike either way (no account enumeration)."""
        user = self._user_with_email(email)
        if user is None or not user.is_active:
            return
        context = CommandContext(actor_id=user.id, correlation_id=correlation_id)

        def change(user: User) -> bool:
            user.request_password_reset()
            return True

        self._change(user.id, context, change)

    def holder_of_reset_token(self, token: str) -> User:
        """The account a reset token may reset now (to check a new password against its
        names); a token error otherwise."""
        user = self._events.find(user_of(token), User)
        if user is None:
            raise TokenInvalidError()
        user.check_reset_token(token, self._clock())
        return user

    def reset_password(self, token: str, new_password: str, correlation_id: UUID) -> UUID:
        """Set a new password with a reset token, spend the token, end every session."""
        user = self.holder_of_reset_token(token)
        password_hash = hash_password(new_password)
        with acting_as(CommandContext(actor_id=user.id, correlation_id=correlation_id)):
            user.reset_password(token, password_hash, self._clock())
        self._save_or_conflict(user)
        self._tokens.revoke_everything_of(user.id)
        return user.id

    def verify_email(self, token: str, correlation_id: UUID) -> User:
        """Prove an address with the token mailed to it. A new address replaces the old one
        here, claimed in the same atomic write that releases the old one: if someone else
        claimed it meanwhile, EmailTakenError and nothing changes."""
        user = self._events.find(user_of(token), User)
        if user is None:
            raise TokenInvalidError()
        with acting_as(CommandContext(actor_id=user.id, correlation_id=correlation_id)):
            replaced = user.verify_email(token, self._clock())
            if replaced is None:
                self._save_or_conflict(user)
                return user
            claimed = self._claim(user.email, user.id)
            old = self._events.find(EmailIndex.create_id(replaced), EmailIndex)
            if old is not None and old.owner == user.id:
                old.release()
        try:
            self._events.save(user, claimed, *([old] if old is not None else []))
        except IntegrityError:
            if self._owner_of(user.email) not in (None, user.id):
                raise EmailTakenError() from None
            raise ConcurrencyConflictError(user.id) from None
        return user

    def update_me(self, command: UpdateProfile, email: str | None, context: CommandContext) -> User:
        """The profile, and, when `email` is another address, a request to change to it
        (mailed a verification link; the address changes once verified). An address another
        account holds is refused now (and again, atomically, at verification)."""
        wanted = None if email is None else normalize_email(email)
        if wanted is not None and self._owner_of(wanted) not in (None, context.actor_id):
            raise EmailTakenError()

        def change(user: User) -> bool:
            user.update_profile(
                first_name=command.first_name,
                last_name=command.last_name,
                bio=command.bio,
                avatar_url=command.avatar_url,
            )
            if wanted is not None:
                user.request_email_change(wanted)
            return True

        return self._change(context.actor_id, context, change)

    def resend_verification(self, context: CommandContext) -> bool:
        """A new verification link for the address awaiting it; False: none awaits."""
        asked = False

        def change(user: User) -> bool:
            nonlocal asked
            asked = user.request_email_verification()
            return asked

        self._change(context.actor_id, context, change)
        return asked

    def find_by_email(self, email: str) -> UUID | None:
        """The active account holding exactly this address, if it may be found by it."""
        user = self._user_with_email(email)
        if user is None or not user.is_active:
            return None
        if not user.email_verified and not self._unverified_found:
            return None
        return user.id

    def _owner_of(self, email: str) -> UUID | None:
        index = self._events.find(EmailIndex.create_id(email), EmailIndex)
        return None if index is None else index.owner

    def _user_with_email(self, email: str) -> User | None:
        owner = self._owner_of(email)
        return None if owner is None else self._events.find(owner, User)

    def _claim(self, email: str, user_id: UUID) -> EmailIndex:
        """The index that gives `email` to `user_id`: new, or a released one taken again
        (the store accepts one writer of either; call inside `acting_as`)."""
        released = self._events.find(EmailIndex.create_id(email), EmailIndex)
        if released is not None and released.released:
            released.reclaim(user_id)
            return released
        return EmailIndex(email=email, user_id=user_id)

    def _change(
        self, user_id: UUID, context: CommandContext, change: Callable[[User], bool]
    ) -> User:
        """Load the account, apply `change` as the caller (False: nothing to save) and save
        it. A concurrent writer of the account (the account mail process manager records a
        mailed token meanwhile) makes the save fail: the change runs again on the fresh
        state, its guards too, as a trip command does; ConcurrencyConflictError (409) if it
        keeps failing."""
        for _ in range(MAX_CONFLICT_RETRIES):
            user = self.get_user(user_id)
            with acting_as(context):
                if not change(user):
                    return user
            try:
                self._events.save(user)
            except IntegrityError:
                continue
            return user
        raise ConcurrencyConflictError(user_id)

    def _save_or_conflict(self, user: User) -> None:
        try:
            self._events.save(user)
        except IntegrityError:
            raise ConcurrencyConflictError(user.id) from None

    def _find_by_login(self, login: str) -> User | None:
        if "@" in login:
            return self._user_with_email(login)
        index = self._events.find(UsernameIndex.create_id(login), UsernameIndex)
        return None if index is None else self._events.find(index.user_id, User)
